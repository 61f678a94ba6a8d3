/**
 * Who owns a spool segment, decided by something a restarted process cannot inherit: each Spool
 * takes a random identity and, while it lives, listens on a Unix socket named after it
 * (`owner-<id>.sock`, beside a lock file `owner-<id>.json`). Another recorder asks "is this owner
 * alive?" by connecting: the kernel refuses the connection as soon as the owning process is gone,
 * whatever its PID was and whether the PID is now someone else's (a container's PID 1 after a
 * restart, a PID reused on the host). A recorder closed in the same process removes both files,
 * so a later recorder there adopts what it left. A frozen (SIGSTOP) owner still counts as alive:
 * its socket still accepts.
 *
 * Where a socket cannot be used (a path longer than the 107 bytes a socket name may have, a
 * filesystem that refuses sockets) the lock file's mtime is the heartbeat: refreshed every 10 s,
 * its owner counts as alive until it is 60 s old. The lock file says which of the two to trust.
 * A spool directory belongs to one host: sockets do not cross machines.
 *
 * Lock files are opened as every spool file is (spool-trust.ts: no symlink followed, this user's
 * regular file) and read up to 4 KiB; a lock that fails those checks proves nothing, so its owner
 * counts as alive and its segments are left alone.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { OPEN_REPLACE, openPrivate, readPrivate, UnsafeSpoolError } from './spool-trust';

const HEARTBEAT_MS = 10_000;
const STALE_MS = 60_000;
const PROBE_TIMEOUT_MS = 1_000;
const MAX_SOCKET_PATH = 107;
const MAX_LOCK_BYTES = 4096;

interface LockInfo {
  pid: number;
  host: string;
  started: string;
  /** True once the owner listens on its socket: probe the socket rather than the heartbeat. */
  socket: boolean;
}

const lockPath = (dir: string, id: string): string => path.join(dir, `owner-${id}.json`);
const socketPath = (dir: string, id: string): string => path.join(dir, `owner-${id}.sock`);

export class SpoolOwner {
  readonly id = crypto.randomBytes(8).toString('hex');
  private started = false;
  private stopped = false;
  private server: net.Server | null = null;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(private readonly dir: string) {}

  /** Claims the identity before the first segment is written or adopted. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.writeLock(false);
    const sock = socketPath(this.dir, this.id);
    if (sock.length <= MAX_SOCKET_PATH) {
      const server = net.createServer((s) => s.destroy());
      server.on('error', () => undefined); // no socket: the heartbeat stands in
      server.on('listening', () => {
        if (!this.stopped) this.writeLock(true);
      });
      // Bound synchronously: from here on a probe connects.
      server.listen(sock);
      server.unref();
      this.server = server;
    }
    this.heartbeat = setInterval(() => {
      const t = new Date();
      try {
        fs.utimesSync(lockPath(this.dir, this.id), t, t);
      } catch {
        /* the directory was removed; nothing to own */
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.server?.close();
    this.server = null;
    if (!this.started) return;
    fs.rmSync(socketPath(this.dir, this.id), { force: true });
    fs.rmSync(lockPath(this.dir, this.id), { force: true });
  }

  private writeLock(socket: boolean): void {
    const info: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), socket };
    const fd = openPrivate(lockPath(this.dir, this.id), OPEN_REPLACE);
    try {
      fs.writeSync(fd, JSON.stringify(info));
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** For people reading the lock; Deno without `--allow-sys` refuses it, which must not stop spooling. */
function hostname(): string {
  try {
    return os.hostname();
  } catch {
    return '';
  }
}

/** Whether the owner `id` of segments in `dir` still runs (see the module comment). */
export async function ownerAlive(dir: string, id: string): Promise<boolean> {
  let info: LockInfo;
  let mtimeMs: number;
  try {
    mtimeMs = fs.lstatSync(lockPath(dir, id)).mtimeMs;
    info = JSON.parse((await readPrivate(lockPath(dir, id), MAX_LOCK_BYTES)).toString('utf8')) as LockInfo;
  } catch (e) {
    if (e instanceof UnsafeSpoolError) return true;
    // No lock: its owner closed, or crashed before claiming (then it wrote no segment either).
    // A lock being written right now reads as unparsable: alive, to be safe.
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
  if (info.socket) {
    const answer = await probe(socketPath(dir, id));
    if (answer !== 'unknown') return answer === 'alive';
  }
  return Date.now() - mtimeMs < STALE_MS;
}

function probe(sock: string): Promise<'alive' | 'dead' | 'unknown'> {
  return new Promise((resolve) => {
    const c = net.connect(sock);
    const done = (r: 'alive' | 'dead' | 'unknown') => {
      clearTimeout(t);
      c.destroy();
      resolve(r);
    };
    // No answer within the timeout: a listener with a full backlog — alive.
    const t = setTimeout(() => done('alive'), PROBE_TIMEOUT_MS);
    c.on('connect', () => done('alive'));
    c.on('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' || e.code === 'ENOENT' ? 'dead' : 'unknown'));
  });
}

/** Removes what a dead owner left besides its segments. */
export function removeOwnerFiles(dir: string, id: string): void {
  fs.rmSync(socketPath(dir, id), { force: true });
  fs.rmSync(lockPath(dir, id), { force: true });
}
