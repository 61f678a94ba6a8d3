/**
 * Where rows wait when there is no disk to spool to: a read-only or absent file system (Lambda's
 * /var/task, Vercel, a Deno isolate without write permission) or a short-lived handler whose
 * disk dies with it anyway. Same contract as the disk spool (spool.ts), so the shipper's replay
 * logic is unchanged; the difference is that what waits here is lost with the process — which is
 * why the recorder's flush() keeps trying the database, within its budget, while anything waits
 * here (recorder.ts), and why the process-end warning counts it (lifecycle.ts).
 */
import type { DeadLetters } from './dead-letter';
import type { FrameItem } from './spool-frame';
import { Segment, Spool, SpoolFullError } from './spool';

/** What the shipper and the recorder use of a spool: the disk one (spool.ts) or this one. */
export type SpoolStore = Pick<Spool, 'dir' | 'bytes' | 'append' | 'hasData' | 'seal' | 'next' | 'frames' | 'done' | 'adopt' | 'close' | 'usable' | 'refusal' | 'takeNotices'>;

/** What the shipper uses of the dead-letter file. */
export type DeadLetterStore = Pick<DeadLetters, 'file' | 'add'>;

export const MEMORY_SPOOL_DIR = '(memory: no writable spoolDir)';

export class MemorySpool implements SpoolStore {
  readonly dir = MEMORY_SPOOL_DIR;
  private batches: { seg: Segment; lines: string; rows: number }[] = [];
  private total = 0;
  private seq = 0;
  /** Rows waiting here: lost if the process ends now. */
  rows = 0;

  constructor(private readonly maxBytes: number) {}

  get bytes(): number {
    return this.total;
  }

  append(lines: string, rows: number): void {
    if (rows === 0) return;
    const size = Buffer.byteLength(lines);
    if (this.total + size > this.maxBytes) throw new SpoolFullError(`in-memory spool full (${this.total} of ${this.maxBytes} bytes)`);
    const seq = this.seq++;
    this.batches.push({ seg: { file: `memory:${seq}`, startMs: Date.now(), seq, legacy: false }, lines, rows });
    this.total += size;
    this.rows += rows;
  }

  hasData(): boolean {
    return this.batches.length > 0;
  }

  seal(): void {
    /* every batch is its own sealed segment */
  }

  next(): Segment | undefined {
    return this.batches[0]?.seg;
  }

  async *frames(seg: Segment): AsyncGenerator<FrameItem> {
    const b = this.batches.find((x) => x.seg === seg);
    if (b) yield { batch: b.lines };
  }

  /** Memory is always there, and trusts no one else's files: there are none. */
  readonly refusal = null;

  usable(): boolean {
    return true;
  }

  takeNotices(): string[] {
    return [];
  }

  done(seg: Segment): void {
    const i = this.batches.findIndex((x) => x.seg === seg);
    if (i < 0) return;
    const [b] = this.batches.splice(i, 1);
    this.total -= Buffer.byteLength(b.lines);
    this.rows -= b.rows;
  }

  adopt(): Promise<number> {
    return Promise.resolve(0); // nothing of another process's to adopt
  }

  close(): void {
    /* nothing to release */
  }
}

/** Dead letters without a disk: kept (bounded) for the life of the process, reported like the file's. */
export class MemoryDeadLetters implements DeadLetterStore {
  readonly file = `${MEMORY_SPOOL_DIR} dead letters`;
  readonly entries: { source: string; sqlstate: string | null; error: string; line: string }[] = [];

  add(line: string, source: 'write' | 'replay', sqlstate: string | null, error: string): boolean {
    if (this.entries.length >= 1000) return false;
    this.entries.push({ source, sqlstate, error: error.slice(0, 1000), line: line.slice(0, 64 * 1024) });
    return true;
  }
}
