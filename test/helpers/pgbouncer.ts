/**
 * A real PgBouncer (Debian's package, what .ci/run installs) in front of a test database, for the
 * pooler tests: config and userlist in a temp dir, a free port on 127.0.0.1, SCRAM for clients
 * (with the users' plain passwords in the userlist, so PgBouncer can log in to the server's SCRAM
 * too). PgBouncer refuses to run as root: as root it runs as the `postgres` OS user, as
 * pg-cluster.ts runs PostgreSQL. Every wait is bounded; stop() kills what does not exit.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../src/db/free-port';
import { serverOsUser } from '../../src/db/pg-binaries';
import { debianPackageSuite } from './pg-cluster';

export const PGBOUNCER = '/usr/sbin/pgbouncer';
export const pgbouncerAvailable = (): boolean => fs.existsSync(PGBOUNCER);

/** `describe` for a suite that needs PgBouncer: skipped locally without it, a failure under CI. */
export function pgbouncerSuite(what: string): typeof describe {
  return debianPackageSuite(pgbouncerAvailable(), what, PGBOUNCER, 'pgbouncer');
}

export interface PgBouncerOptions {
  /** A database URL with user and password (createTestDatabase's `url`): the database pooled, and an admin user. */
  upstream: string;
  poolMode: 'session' | 'transaction';
  /** More logins clients may use (the userlist), e.g. the API's least-privileged one. */
  users?: { user: string; password: string }[];
  /** More pgbouncer.ini [pgbouncer] lines, overriding the defaults below. */
  settings?: Record<string, string | number>;
}

export interface PgBouncer {
  port: number;
  /** The pooled database through PgBouncer, as the upstream's user or another of `users`. */
  url(user?: { user: string; password: string }): string;
  /** PgBouncer's output so far (for a failing test's message). */
  log(): string;
  /** Backend pids of PgBouncer's server connections (admin console `SHOW SERVERS`). */
  serverPids(): Promise<number[]>;
  /** Ends the process: SIGTERM is PgBouncer's immediate shutdown, SIGKILL a crash. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the same config. */
  start(): Promise<void>;
  /** stop() and remove the config dir. */
  close(): Promise<void>;
}

const BOUND_MS = 10_000;

export async function startPgBouncer(o: PgBouncerOptions): Promise<PgBouncer> {
  const up = new URL(o.upstream);
  const database = decodeURIComponent(up.pathname.slice(1));
  const owner = { user: decodeURIComponent(up.username), password: decodeURIComponent(up.password) };
  const ids = serverOsUser();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-pgbouncer-'));
  const port = await freePort();
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  fs.writeFileSync(path.join(dir, 'userlist.txt'), [owner, ...(o.users ?? [])].map((u) => `${quote(u.user)} ${quote(u.password)}\n`).join(''), { mode: 0o600 });
  const settings: Record<string, string | number> = {
    listen_addr: '127.0.0.1',
    listen_port: port,
    unix_socket_dir: '',
    auth_type: 'scram-sha-256',
    auth_file: path.join(dir, 'userlist.txt'),
    admin_users: owner.user,
    pool_mode: o.poolMode,
    // Fewer server connections than clients: they must share them.
    default_pool_size: 2,
    max_client_conn: 1000,
    // A client queued for a server connection fails after this instead of PgBouncer's 120 s.
    query_wait_timeout: 15,
    logfile: '',
    pidfile: '',
    ...o.settings,
  };
  const ini = ['[databases]', `${database} = host=${up.hostname} port=${up.port} dbname=${database}`, '[pgbouncer]', ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`), ''].join('\n');
  fs.writeFileSync(path.join(dir, 'pgbouncer.ini'), ini);
  if (ids) for (const f of ['', 'userlist.txt', 'pgbouncer.ini']) fs.chownSync(path.join(dir, f), ids.uid, ids.gid);

  let out = '';
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    const p = spawn(PGBOUNCER, [path.join(dir, 'pgbouncer.ini')], { ...(ids ?? {}), cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = p;
    p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<never>((_, reject) => p.once('exit', (code, sig) => reject(new Error(`pgbouncer exited (${code ?? sig}) while starting:\n${out}`))));
    exited.catch(() => undefined);
    const deadline = Date.now() + BOUND_MS;
    while (!(await Promise.race([listening(port), exited]))) {
      if (Date.now() > deadline) {
        p.kill('SIGKILL');
        throw new Error(`pgbouncer did not listen on ${port} within ${BOUND_MS} ms:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const p = child;
    child = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    const t = setTimeout(() => p.kill('SIGKILL'), BOUND_MS);
    await gone;
    clearTimeout(t);
  };

  const url = (u = owner) => `postgres://${encodeURIComponent(u.user)}:${encodeURIComponent(u.password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;

  await start();
  return {
    port,
    url,
    log: () => out,
    async serverPids() {
      const admin = new Client({
        connectionString: `postgres://${encodeURIComponent(owner.user)}:${encodeURIComponent(owner.password)}@127.0.0.1:${port}/pgbouncer`,
        connectionTimeoutMillis: BOUND_MS,
      });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ remote_pid: string }>('SHOW SERVERS');
        return rows.map((r) => Number(r.remote_pid));
      } finally {
        await admin.end();
      }
    },
    stop,
    start,
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether something accepts TCP connections on 127.0.0.1:port (at most 1 s to tell). */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
