/**
 * The background half of the recorder: takes batches off the queue and writes them by COPY;
 * when the database is down (or a write times out) spills them to the spool and probes with
 * backoff; replays the spool (its own and adopted segments) once the database is back; isolates
 * rows the database refuses for their content by halving and dead-letters them.
 */
import { sleep, wallMs } from './clock';
import { lineOf, Queued, RowQueue } from './queue';
import type { Reporter } from './report';
import type { DeadLetterStore, SpoolStore } from './memory-spool';
import { Segment, SpoolFullError } from './spool';
import { isRowLine, splitLines } from './spool-frame';
import { UnsafeSpoolError } from './spool-trust';
import type { RecorderStats } from './types';
import { classifyWriteError, sqlstate, WRITE_TIMEOUT_CODE } from './write-errors';

/** The counters the shipper keeps; their meaning is documented once, on RecorderStats. */
export type ShipperCounters = Pick<RecorderStats, 'written' | 'spooled' | 'replayed' | 'deadLettered' | 'dropped' | 'droppedSpoolFull' | 'lostCorrupt' | 'spoolSkipped'>;

/**
 * Where batches go: PgWriter (COPY into integration_logs) in the recorder, a fake in the unit
 * tests. `fresh` rows are new; `merge` rows go by the idempotent path. A failure is judged by its
 * SQLSTATE (write-errors.ts): row, retry or down.
 */
export interface RowWriter {
  write(fresh: string, merge: string): Promise<void>;
}

const RETRY_CONFLICT_TIMES = 3;

export class Shipper {
  readonly queue: RowQueue;
  readonly counters: ShipperCounters = { written: 0, spooled: 0, replayed: 0, deadLettered: 0, dropped: 0, droppedSpoolFull: 0, lostCorrupt: 0, spoolSkipped: 0 };
  /** After close(): rows go straight to the spool. */
  closed = false;
  up = true;
  private nextProbeAt = 0;
  private probeDelayMs = 100;
  private draining: Promise<void> | null = null;
  private kickScheduled = false;
  /**
   * Per segment, how many of its frames (and damaged regions) an earlier, interrupted replay has
   * judged: their damage is counted and dead-lettered only once.
   */
  private readonly seen = new Map<string, number>();
  private refusalReported = false;

  constructor(
    private readonly writer: RowWriter,
    readonly spool: SpoolStore,
    private readonly deadLetters: DeadLetterStore,
    private readonly reporter: Reporter,
    private readonly maxBatchRows: number,
    private readonly maxMemoryBytes: number,
  ) {
    this.queue = new RowQueue(maxBatchRows);
  }

  /** Called on the caller's path: O(1) unless memory is full (then one synchronous spool write). */
  enqueue(q: Queued): void {
    if (this.closed) {
      // After close() nothing is left to write it: straight to the spool for the next run, in a
      // segment closed at once — it has no live owner, so another recorder may adopt it any time.
      this.spillRows([q]);
      this.spool.seal();
      return;
    }
    this.queue.push(q);
    if (this.queue.bytes > this.maxMemoryBytes) this.spillQueue();
    else if (this.queue.rows >= this.maxBatchRows && !this.kickScheduled) {
      this.kickScheduled = true;
      setImmediate(() => {
        this.kickScheduled = false;
        this.kick();
      });
    }
  }

  kick(): void {
    if (this.draining) return;
    this.draining = this.drain()
      .catch((e: unknown) => this.reporter.internal(e))
      .finally(() => {
        this.draining = null;
      });
  }

  /** A drain (a write, a replay) is running. */
  get busy(): boolean {
    return this.draining !== null;
  }

  /** Waits for the running drain, if any. */
  async settled(): Promise<void> {
    if (this.draining) await this.draining;
  }

  /** One more attempt now, even during backoff. */
  probeNow(): void {
    this.nextProbeAt = 0;
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (!this.up && wallMs() < this.nextProbeAt) {
        // Still in backoff: keep memory small and rows safe on disk.
        this.spillQueue();
        return;
      }
      try {
        await this.spool.adopt();
      } catch (e) {
        this.reporter.report('spool-io', `cannot adopt spool segments in ${this.spool.dir}: ${(e as Error).message}`);
      }
      this.spoolNotices();
      if (this.spool.hasData()) {
        if (!(await this.replay())) {
          this.spillQueue();
          return;
        }
      }
      if (this.queue.rows === 0) return;
      const batch = this.queue.take();
      if (!(await this.writeBatch(batch))) {
        if (!this.closed && !this.spoolUsable()) this.queue.putBack(batch);
        else this.spillRows(batch);
        this.spillQueue();
        return;
      }
    }
  }

  /** Writes one batch; false means "database unavailable" (the caller spools the batch). */
  private async writeBatch(batch: Queued[]): Promise<boolean> {
    let fresh = '';
    let merge = '';
    for (const q of batch) {
      if (q.merge) merge += lineOf(q);
      else fresh += lineOf(q);
    }
    try {
      await this.writer.write(fresh, merge);
      this.markUp();
      this.counters.written += batch.length;
      return true;
    } catch (err) {
      if (classifyWriteError(err) === 'down') {
        this.markDown(err as Error);
        return false;
      }
      // A conflict or a row error: the idempotent path, narrowing down to the offending rows.
      return this.writeLines(batch.map(lineOf), 'write');
    }
  }

  /**
   * Writes COPY lines by the idempotent path; on a row error splits the set in halves until the
   * refused rows are isolated and dead-lettered. False: the database is down.
   */
  private async writeLines(lines: string[], source: 'write' | 'replay', conflicts = 0): Promise<boolean> {
    try {
      await this.writer.write('', lines.join(''));
      this.markUp();
      if (source === 'write') this.counters.written += lines.length;
      else this.counters.replayed += lines.length;
      return true;
    } catch (err) {
      const kind = classifyWriteError(err);
      if (kind === 'down') {
        this.markDown(err as Error);
        return false;
      }
      if (kind === 'retry' && conflicts < RETRY_CONFLICT_TIMES) {
        // Two writers met on the same rows (deadlock, serialization): the same rows again.
        await sleep(10 * (conflicts + 1));
        return this.writeLines(lines, source, conflicts + 1);
      }
      if (lines.length === 1) {
        this.deadLetter(lines[0], source, sqlstate(err) ?? null, (err as Error).message);
        return true;
      }
      const mid = lines.length >> 1;
      return (await this.writeLines(lines.slice(0, mid), source)) && (await this.writeLines(lines.slice(mid), source));
    }
  }

  /** Replays spooled segments oldest first. False: the database is (still) down. */
  private async replay(): Promise<boolean> {
    this.spool.seal();
    for (let seg = this.spool.next(); seg; seg = this.spool.next()) {
      const judged = this.seen.get(seg.file) ?? 0;
      let index = 0;
      // Read a frame at a time and written in batches as they fill: memory stays one frame and
      // one batch whatever the segment's size.
      let lost = 0;
      let lostBatches = 0;
      let valid: string[] = [];
      try {
        for await (const item of this.spool.frames(seg)) {
          const first = index++ >= judged;
          if (first) this.seen.set(seg.file, index);
          if (!('batch' in item)) {
            if (first) {
              lostBatches++;
              lost += item.lostRows;
            }
            continue;
          }
          for (const line of splitLines(item.batch)) {
            if (isRowLine(line)) valid.push(line);
            else if (!first) continue;
            else if (!line.endsWith('\n')) {
              lost++;
            } // torn by a kill mid-write
            else if (line.trim() !== '') this.deadLetter(line, 'replay', null, 'spooled line is not a row (damaged spool data)');
          }
          while (valid.length >= this.maxBatchRows) {
            if (!(await this.writeLines(valid.slice(0, this.maxBatchRows), 'replay'))) return this.countLost(seg, lost, lostBatches);
            valid = valid.slice(this.maxBatchRows);
          }
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.reporter.report('spool-io', `cannot read spool segment ${seg.file}: ${(e as Error).message}`);
        this.finish(seg);
        continue;
      }
      if (valid.length > 0 && !(await this.writeLines(valid, 'replay'))) return this.countLost(seg, lost, lostBatches);
      this.countLost(seg, lost, lostBatches);
      this.finish(seg);
    }
    return true;
  }

  /** Counts and reports rows lost to damage in a segment (found in this pass); false, for `return`. */
  private countLost(seg: Segment, lost: number, lostBatches: number): false {
    if (lost > 0) {
      this.counters.lostCorrupt += lost;
      this.counters.dropped += lost;
      this.reporter.report('spool-corrupt', `damaged spool segment ${seg.file}: ${lostBatches} batch(es) unreadable, ${lost} row(s) lost; the rest is replayed`);
    }
    return false;
  }

  private finish(seg: Segment): void {
    this.seen.delete(seg.file);
    try {
      this.spool.done(seg);
    } catch (e) {
      this.reporter.report('spool-io', `cannot remove replayed spool segment ${seg.file}: ${(e as Error).message}`);
    }
  }

  private deadLetter(line: string, source: 'write' | 'replay', state: string | null, message: string): void {
    let stored = false;
    try {
      stored = this.deadLetters.add(line, source, state, message);
    } catch (e) {
      this.counters.dropped++;
      this.spoolNotices();
      this.reporter.report('spool-io', `cannot write dead letter to ${this.deadLetters.file}, row lost: ${(e as Error).message}`);
      return;
    }
    if (stored) {
      this.counters.deadLettered++;
      this.reporter.report('dead-letter', `the database refused a row${state ? ` (SQLSTATE ${state})` : ''}: ${message}; kept in ${this.deadLetters.file}`);
    } else {
      this.counters.dropped++;
      this.reporter.report('dead-letter', `the database refused a row${state ? ` (SQLSTATE ${state})` : ''}: ${message}; dead-letter file full, row lost`);
    }
  }

  /**
   * Reports, once each, a refused spool directory and the files adoption skipped (spool.ts).
   */
  private spoolNotices(): void {
    for (const n of this.spool.takeNotices()) {
      this.counters.spoolSkipped++;
      this.reporter.report('spool-unsafe', n);
    }
    if (this.spool.refusal !== null && !this.refusalReported) {
      this.refusalReported = true;
      this.reporter.report('spool-unsafe', this.spool.refusal);
    }
  }

  spillQueue(): void {
    if (this.queue.rows === 0) return;
    if (!this.closed && !this.spoolUsable()) {
      // No spool: rows wait in memory for the database, up to maxMemoryBytes; the newest past it are dropped.
      let n = 0;
      while (this.queue.bytes > this.maxMemoryBytes && this.queue.popNewest()) n++;
      if (n > 0) {
        this.counters.dropped += n;
        this.reporter.report('spool-unsafe', `memory full (maxMemoryBytes ${this.maxMemoryBytes}) and no usable spool: ${n} new row(s) dropped`);
      }
      return;
    }
    for (const rows of this.queue.takeAll()) this.spillRows(rows);
  }

  private spoolUsable(): boolean {
    let ok: boolean;
    try {
      ok = this.spool.usable();
    } catch {
      ok = true; // an I/O error: the append below meets it too, and reports it
    }
    this.spoolNotices();
    return ok;
  }

  private spillRows(rows: Queued[]): void {
    let lines = '';
    for (const q of rows) lines += lineOf(q);
    try {
      this.spool.append(lines, rows.length);
      this.counters.spooled += rows.length;
    } catch (e) {
      this.counters.dropped += rows.length;
      if (e instanceof UnsafeSpoolError) {
        this.spoolNotices();
        this.reporter.report('spool-unsafe', `${rows.length} row(s) lost: the database did not take them and the spool directory is refused`);
      } else if (e instanceof SpoolFullError) {
        this.counters.droppedSpoolFull += rows.length;
        this.reporter.report('spool-full', `${e.message}: ${rows.length} new row(s) dropped, older spooled rows kept`);
      } else {
        this.reporter.report('spool-io', `spool write failed, ${rows.length} row(s) lost: ${(e as Error).message}`);
      }
    }
  }

  private markDown(err: Error): void {
    if (this.up) {
      this.up = false;
      this.probeDelayMs = 100;
      const timeout = (err as { code?: unknown }).code === WRITE_TIMEOUT_CODE;
      this.reporter.report(timeout ? 'write-timeout' : 'database-down', `database unavailable, spooling to ${this.spool.dir}: ${err.message}`);
    } else {
      this.probeDelayMs = Math.min(this.probeDelayMs * 2, 5000);
    }
    // Jitter keeps many recorders from reconnecting in lockstep after an outage.
    this.nextProbeAt = wallMs() + this.probeDelayMs * (0.5 + Math.random() / 2);
  }

  private markUp(): void {
    this.up = true;
    this.probeDelayMs = 100;
  }
}
