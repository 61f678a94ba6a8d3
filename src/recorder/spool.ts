/**
 * Append-only spool on local disk for rows the database could not take (down, or memory full).
 *
 * Segments are named `seg-<startMs>-<seq>-<origin>.<owner>.copy`; each holds framed batches of
 * COPY lines (spool-frame.ts), so damage loses only the damaged batch. Writes are synchronous
 * `write(2)` calls: once `append` returns the bytes are in the kernel, so a SIGKILL of this
 * process cannot lose them (a power cut can; we trade fsync per batch for speed).
 *
 * Ownership (spool-owner.ts): a segment is replayed by its owner, or adopted — renamed to the
 * adopter's identity, atomically, so two recorders can never both take it — once its owner no
 * longer runs. Replay deletes a segment only after its rows are committed; a crash during replay
 * repeats rows, which is harmless since replay is idempotent on the row id.
 *
 * Bound: `maxBytes` of segments held by this recorder (its own and adopted). Policy when full:
 * keep what is already on disk (the oldest rows, replayed first) and refuse new batches — the
 * caller counts them as dropped and reports it.
 *
 * Segments named `spool-<pid>-<startMs>-<instance>-<seq>.copy` (unframed lines) come from earlier
 * versions; they are adopted when that PID is not running or is this very process (which never
 * writes such names).
 *
 * Trust (spool-trust.ts): a directory that is not this user's, or that others can write to, is
 * refused as a whole. A segment is adopted only if it is this user's regular file, not writable by
 * others, and fits: at most MAX_ADOPT_BYTES and within what `maxBytes` leaves. One that never can
 * is left where it is (not deleted: it is not known to be ours to delete) and reported once, by
 * name; one that fits later, once replay frees room, waits.
 */
import fs from 'node:fs';
import path from 'node:path';
import { encodeFrames, FrameItem, readFrames, SCAN_BYTES, splitLines } from './spool-frame';
import { ownerAlive, removeOwnerFiles, SpoolOwner } from './spool-owner';
import { distrust, OPEN_NEW, openPrivate, openPrivateForRead, PrivateDir, readAt, UnsafeSpoolError } from './spool-trust';

const SEGMENT_BYTES = 8 * 1024 * 1024;
/** A batch is cut into frames of at most ~1 Mi characters (≤ 4 MiB): a segment stays ≤ ~12 MiB. */
const FRAME_CHARS = 1024 * 1024;
/** Largest frame read; earlier versions wrote a batch as one frame (bounded by maxMemoryBytes, 32 MiB by default). */
const MAX_FRAME_BYTES = 40 * 1024 * 1024;
/**
 * Largest segment adopted. Ours rotate past 8 MiB plus one frame (≤ 4 MiB); earlier versions
 * wrote a batch as one frame (bounded by maxMemoryBytes, 32 MiB by default). Segments are read a
 * frame at a time; this bounds what one recorder takes on (and an unframed legacy segment, read whole).
 */
export const MAX_ADOPT_BYTES = 64 * 1024 * 1024;
const SEG_RE = /^seg-(\d+)-(\d+)-([0-9a-z]+)\.([0-9a-f]{16})\.copy$/;
const LEGACY_RE = /^spool-(\d+)-(\d+)-(\d+)-(\d+)\.copy$/;
const ADOPT_EVERY_MS = 10_000;

export class SpoolFullError extends Error {}

interface Segment {
  file: string;
  startMs: number;
  seq: number;
  legacy: boolean;
}

export class Spool {
  readonly owner: SpoolOwner;
  /** The directory's trust verdict, shared with the dead letters. */
  readonly guard: PrivateDir;
  private fd: number | null = null;
  private current: Segment | null = null;
  private currentBytes = 0;
  private seq = 0;
  /** Sealed segments waiting for replay (own and adopted), oldest first. */
  private sealed: Segment[] = [];
  private readonly sizes = new Map<string, number>();
  private totalBytes = 0;
  private lastAdopt = -Infinity;
  private adopting: Promise<number> | null = null;
  /** Files not adopted (unsafe or too large): each is reported once. */
  private readonly skipped = new Set<string>();
  private notices: string[] = [];

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {
    this.owner = new SpoolOwner(dir);
    this.guard = new PrivateDir(dir);
  }

  /** Why the directory is refused (then nothing is spooled), or null. */
  get refusal(): string | null {
    return this.guard.refusal;
  }

  /** Whether rows can be spooled: creates the directory (0700) if missing, refuses an unsafe one. */
  usable(): boolean {
    return this.guard.usable(true);
  }

  /** Files skipped since the last call, one message each naming the file and why. */
  takeNotices(): string[] {
    const out = this.notices;
    this.notices = [];
    return out;
  }

  /** Bytes of segments this recorder holds. */
  get bytes(): number {
    return this.totalBytes;
  }

  /**
   * Appends one batch of encoded COPY lines as a frame. Throws SpoolFullError past `maxBytes`, or
   * the disk's error; the caller counts and reports either.
   */
  append(lines: string, rows: number): void {
    if (rows === 0) return;
    if (!this.usable()) throw new UnsafeSpoolError(this.refusal ?? 'spool directory refused');
    const frames = encodeFrames(lines, rows, FRAME_CHARS);
    const size = frames.reduce((n, f) => n + f.length, 0);
    if (this.totalBytes + size > this.maxBytes) throw new SpoolFullError(`spool full (${this.totalBytes} of ${this.maxBytes} bytes)`);
    for (const frame of frames) {
      if (this.fd === null || this.currentBytes > SEGMENT_BYTES || !fs.existsSync(this.current!.file)) this.rotate();
      let off = 0;
      while (off < frame.length) off += fs.writeSync(this.fd!, frame, off);
      this.currentBytes += frame.length;
      this.totalBytes += frame.length;
    }
  }

  /** True when something is waiting for replay (including the open segment). */
  hasData(): boolean {
    return this.sealed.length > 0 || this.currentBytes > 0;
  }

  /** Closes the open segment so that everything spooled so far can be replayed. */
  seal(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      const seg = this.current!;
      if (this.currentBytes > 0) {
        this.sealed.push(seg);
        this.sizes.set(seg.file, this.currentBytes);
      } else fs.rmSync(seg.file, { force: true });
    }
    this.fd = null;
    this.current = null;
    this.currentBytes = 0;
  }

  /** Oldest sealed segment, or undefined. */
  next(): Segment | undefined {
    return this.sealed[0];
  }

  /**
   * The batches of a segment and the damaged regions, a frame at a time, never past the size it
   * had when sealed or adopted.
   */
  async *frames(seg: Segment): AsyncGenerator<FrameItem> {
    const { handle, size } = await openPrivateForRead(seg.file);
    try {
      const bound = Math.min(size, this.sizes.get(seg.file) ?? MAX_ADOPT_BYTES);
      if (seg.legacy) {
        // Earlier versions wrote bare lines: one batch (lines are checked one by one before COPY).
        yield { batch: splitLines((await readAt(handle, 0, bound)).toString('utf8')).join('') };
        return;
      }
      // Reads go through one scratch buffer (a frame over 1 MiB gets its own): each is used before the next.
      const scratch = Buffer.allocUnsafe(SCAN_BYTES);
      yield* readFrames({ size: bound, read: (pos, len) => readAt(handle, pos, len, scratch) }, MAX_FRAME_BYTES);
    } finally {
      await handle.close();
    }
  }

  /** Drops a segment whose rows are committed (or dead-lettered). */
  done(seg: Segment): void {
    fs.rmSync(seg.file, { force: true });
    this.sealed = this.sealed.filter((s) => s !== seg);
    this.totalBytes -= this.sizes.get(seg.file) ?? 0;
    this.sizes.delete(seg.file);
  }

  /**
   * Adopts segments whose owner no longer runs (at most every 10 s unless `force`). Returns how
   * many were adopted.
   */
  adopt(force = false): Promise<number> {
    const now = Date.now();
    if (this.adopting) return this.adopting;
    if (!force && now - this.lastAdopt < ADOPT_EVERY_MS) return Promise.resolve(0);
    this.lastAdopt = now;
    this.adopting = this.adoptNow().finally(() => {
      this.adopting = null;
    });
    return this.adopting;
  }

  close(): void {
    this.seal();
    this.owner.stop();
  }

  private rotate(): void {
    this.seal();
    this.owner.start();
    const startMs = Date.now();
    const seq = this.seq++;
    const file = path.join(this.dir, `seg-${startMs}-${String(seq).padStart(6, '0')}-${this.owner.id}.${this.owner.id}.copy`);
    this.fd = openPrivate(file, OPEN_NEW);
    this.current = { file, startMs, seq, legacy: false };
    this.currentBytes = 0;
  }

  /**
   * The size of a segment that may be adopted, or -1 when it never may: not this user's regular
   * file, writable by others, or larger than this spool can ever hold (noted once, by name).
   */
  private admissible(file: string): number {
    const st = fs.lstatSync(file);
    const why = distrust(st, 'file');
    const limit = Math.min(this.maxBytes, MAX_ADOPT_BYTES);
    if (why === null && st.size <= limit) return st.size;
    if (!this.skipped.has(file)) {
      if (this.skipped.size < 10_000) this.skipped.add(file);
      this.notices.push(
        why === null
          ? `spool segment ${file} not adopted: ${st.size} bytes, more than the ${limit} a segment may have here (maxSpoolBytes ${this.maxBytes}); left in place`
          : `spool segment ${file} not adopted: ${st.isSymbolicLink() ? 'a symbolic link' : why}; left in place`,
      );
    }
    return -1;
  }

  private async adoptNow(): Promise<number> {
    let names: string[];
    try {
      if (!this.guard.usable(false)) return 0;
      names = fs.readdirSync(this.dir);
    } catch {
      return 0;
    }
    const verdicts = new Map<string, Promise<boolean>>();
    const dead = (id: string) => {
      let v = verdicts.get(id);
      if (!v) verdicts.set(id, (v = ownerAlive(this.dir, id).then((alive) => !alive)));
      return v;
    };
    let adopted = 0;
    for (const name of names) {
      let startMs: number;
      let seq: number;
      let origin: string;
      let legacy = false;
      const m = SEG_RE.exec(name);
      if (m) {
        if (m[4] === this.owner.id || !(await dead(m[4]))) continue;
        [startMs, seq, origin, legacy] = [Number(m[1]), Number(m[2]), m[3], m[3] === 'legacy'];
      } else {
        const l = LEGACY_RE.exec(name);
        if (!l) continue;
        const pid = Number(l[1]);
        if (pid !== process.pid && pidAlive(pid)) continue;
        [startMs, seq, origin, legacy] = [Number(l[2]), Number(l[3]) * 1_000_000 + Number(l[4]), 'legacy', true];
      }
      const from = path.join(this.dir, name);
      let size: number;
      try {
        size = this.admissible(from);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      if (size < 0 || this.totalBytes + size > this.maxBytes) continue; // refused, or waits for room
      this.owner.start(); // claim our identity before segments carry it
      const file = path.join(this.dir, `seg-${startMs}-${String(seq).padStart(6, '0')}-${origin}.${this.owner.id}.copy`);
      try {
        fs.renameSync(from, file); // atomic: only one adopter wins
        this.sizes.set(file, size);
        this.totalBytes += size;
        this.sealed.push({ file, startMs, seq, legacy });
        adopted++;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    for (const [id, v] of verdicts) if (await v) removeOwnerFiles(this.dir, id);
    if (adopted > 0) this.sealed.sort((a, b) => a.startMs - b.startMs || a.seq - b.seq);
    return adopted;
  }
}

export type { Segment };

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
