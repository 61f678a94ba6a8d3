/**
 * createRecorder: the SDK an application uses to log every integration call.
 *
 * The caller's path does only cheap, synchronous work — an id, two clock reads, a row object
 * pushed on an array — and never awaits the database; the recorder's own failures never reach the
 * caller (they go to `onError`). A background loop writes queued rows in batches by COPY, spills
 * to the spool when the database is down or memory is full, and replays the spool when it is back.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Pool } from 'pg';
import { monotonicMs, sleep, wallMs } from './clock';
import { encodeRow, rowBytes } from './copy-format';
import { isUuid, uuidv7 } from './ids';
import { payloadJson, redactMessage, RedactOptions, redactString } from './redact';
import { judgeError, nextDelay, resolvePolicy } from './retry';
import { Spool } from './spool';
import type { AttemptContext, LogRow, LogStatus, Outcome, Recorder, RecorderOptions, RecorderStats, TrackOptions } from './types';
import { classifyWriteError, PgWriter } from './writer';

interface Call {
  id: string;
  service: string;
  action: string;
  createdAt: number;
  startMono: number;
  entityType: string | null;
  entityId: string | null;
  request: string | null;
  attempt: number;
  /** A pending/retrying version of this row has been queued: later versions must merge. */
  interim: boolean;
  lastUpdated: number;
}

interface Queued {
  row: LogRow;
  /** Goes through the idempotent merge path (not the first and only version of the row). */
  merge: boolean;
}

const OK: Outcome = { ok: true };

export function createRecorder(options: RecorderOptions = {}): Recorder {
  return new RecorderImpl(options);
}

/**
 * Safety net for scripts that end without calling close(): when the event loop runs dry, Node
 * emits 'beforeExit'; closing then schedules the final writes, which keeps the process alive until
 * they are done. One listener for all recorders of the process.
 */
const live = new Set<RecorderImpl>();
let exitHookInstalled = false;
function closeAllBeforeExit(): void {
  for (const r of live) void r.close();
}

class RecorderImpl implements Recorder {
  readonly redaction: RedactOptions;
  private readonly flushIntervalMs: number;
  private readonly maxBatchRows: number;
  private readonly maxMemoryBytes: number;
  private readonly pendingAfterMs: number;
  private readonly onError: (e: Error) => void;
  private readonly pool: Pool;
  private readonly ownPool: boolean;
  private readonly writer: PgWriter;
  private readonly spool: Spool;

  /** FIFO of batches: each chunk holds up to maxBatchRows rows, so taking a batch costs O(1). */
  private chunks: Queued[][] = [];
  private chunkBytes: number[] = [];
  private queuedRows = 0;
  private queuedBytes = 0;
  private readonly inflight = new Set<Call>();
  private readonly timer: NodeJS.Timeout;
  private draining: Promise<void> | null = null;
  private kickScheduled = false;
  private closed = false;
  private closing: Promise<void> | null = null;

  private up = true;
  private nextProbeAt = 0;
  private probeDelayMs = 100;

  private readonly counters = { tracked: 0, written: 0, spooled: 0, replayed: 0, dropped: 0 };

  constructor(o: RecorderOptions) {
    this.flushIntervalMs = o.flushIntervalMs ?? 200;
    this.maxBatchRows = o.maxBatchRows ?? 5000;
    this.maxMemoryBytes = o.maxMemoryBytes ?? 32 * 1024 * 1024;
    this.pendingAfterMs = o.pendingAfterMs ?? 5000;
    this.redaction = { maskPii: o.maskPii ?? false, maxPayloadBytes: o.maxPayloadBytes ?? 16 * 1024 };
    const report = o.onError;
    this.onError = (e) => {
      try {
        report?.(e);
      } catch {
        /* a throwing error handler must not break the writer loop */
      }
    };
    if (o.pool) {
      this.pool = o.pool;
      this.ownPool = false;
    } else {
      if (!o.databaseUrl) throw new Error('createRecorder: pass databaseUrl or pool');
      this.pool = new Pool({ connectionString: o.databaseUrl, max: 2, connectionTimeoutMillis: 5000, keepAlive: true, application_name: 'integration-monitor recorder' });
      this.pool.on('error', () => undefined); // idle clients die when the server restarts; the next write reconnects
      this.ownPool = true;
    }
    this.writer = new PgWriter(this.pool, o.role === undefined ? 'service_role' : o.role);
    this.spool = new Spool(path.resolve(o.spoolDir ?? path.join(process.env.MONITOR_DATA_DIR || '.data', 'recorder-spool')));
    this.timer = setInterval(() => this.tick(), this.flushIntervalMs);
    this.timer.unref(); // the recorder alone must not keep a process alive; close() flushes
    live.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('beforeExit', closeAllBeforeExit);
    }
  }

  // ---------------------------------------------------------------- caller path

  track<T>(service: string, action: string, fn: (ctx: AttemptContext) => T | Promise<T>, options?: TrackOptions<Awaited<T>>): Promise<Awaited<T>> {
    let call: Call | undefined;
    try {
      call = this.begin(service, action, options);
    } catch (e) {
      this.onError(e as Error);
    }
    if (options && (options.retry || options.inspect)) return this.trackSlow(call, fn, options);
    // Fast path: one attempt, success unless it throws.
    let value: T | Promise<T>;
    try {
      value = fn({ attempt: 1 });
    } catch (err) {
      this.finish(call, undefined, this.judgeErr(options, err), err);
      return Promise.reject(err);
    }
    if (isThenable(value)) {
      return Promise.resolve(value).then(
        (v) => {
          this.finish(call, v, OK, undefined, options?.captureResponse);
          return v as Awaited<T>;
        },
        (err: unknown) => {
          this.finish(call, undefined, this.judgeErr(options, err), err);
          throw err;
        },
      );
    }
    this.finish(call, value, OK, undefined, options?.captureResponse);
    return Promise.resolve(value as Awaited<T>);
  }

  /** Retries and/or inspection of returned values (e.g. HTTP responses). */
  private async trackSlow<T>(call: Call | undefined, fn: (ctx: AttemptContext) => T | Promise<T>, options: TrackOptions<Awaited<T>>): Promise<Awaited<T>> {
    const policy = resolvePolicy(options.retry);
    for (let attempt = 1; ; attempt++) {
      if (call) call.attempt = attempt;
      let value: Awaited<T>;
      try {
        value = await fn({ attempt });
      } catch (err) {
        const outcome = this.judgeErr(options, err);
        const delay = nextDelay(policy, attempt, outcome);
        if (delay === null) {
          this.finish(call, undefined, outcome, err);
          throw err;
        }
        this.retrying(call, outcome);
        await sleep(delay);
        continue;
      }
      let outcome: Outcome = OK;
      if (options.inspect) {
        try {
          outcome = await options.inspect(value);
        } catch (e) {
          this.onError(e as Error);
        }
      }
      const delay = outcome.ok ? null : nextDelay(policy, attempt, outcome);
      if (delay === null) {
        this.finish(call, value, outcome, undefined, options.captureResponse);
        return value;
      }
      this.retrying(call, outcome);
      await sleep(delay);
    }
  }

  private judgeErr(options: TrackOptions<any> | undefined, err: unknown): Outcome {
    try {
      return options?.inspectError ? options.inspectError(err) : judgeError(err);
    } catch (e) {
      this.onError(e as Error);
      return { ok: false, errorMessage: String(err) };
    }
  }

  private begin(service: string, action: string, options: TrackOptions<any> | undefined): Call {
    const createdAt = wallMs();
    let entityType: string | null = null;
    let entityId: string | null = null;
    let request: string | null = null;
    if (options) {
      if (options.entity) {
        entityType = String(options.entity.type);
        // related_entity_id is uuid: anything else would make the whole COPY batch fail.
        entityId = isUuid(options.entity.id) ? options.entity.id : null;
      }
      if (options.request !== undefined) request = payloadJson(options.request, this.redaction);
    }
    const call: Call = {
      id: uuidv7(createdAt),
      service: this.cleanName(service),
      action: this.cleanName(action),
      createdAt,
      startMono: monotonicMs(),
      entityType,
      entityId,
      request,
      attempt: 1,
      interim: false,
      lastUpdated: createdAt,
    };
    this.inflight.add(call);
    this.counters.tracked++;
    return call;
  }

  /**
   * Service and action names repeat endlessly; redact each distinct one once (they could carry a
   * token if built from a URL) and cap them. The cache is bounded so that names built from ids
   * cannot grow it without limit.
   */
  private readonly names = new Map<string, string>();
  private cleanName(name: unknown): string {
    const raw = typeof name === 'string' ? name : String(name);
    let clean = this.names.get(raw);
    if (clean === undefined) {
      clean = redactString(raw).slice(0, 200) || 'unknown';
      if (this.names.size < 1000) this.names.set(raw, clean);
    }
    return clean;
  }

  /** Final version of the call's row. Never throws. */
  private finish(call: Call | undefined, value: unknown, outcome: Outcome, _err: unknown, capture?: boolean): void {
    if (!call) return;
    try {
      this.inflight.delete(call);
      const status: LogStatus = outcome.ok ? 'success' : 'failed';
      let response: string | null = null;
      if (capture) response = payloadJson(outcome.response !== undefined ? outcome.response : value, this.redaction);
      this.push(call, status, outcome, response);
    } catch (e) {
      this.onError(e as Error);
    }
  }

  /** A retry is about to wait: the row says `retrying` until the call ends. */
  private retrying(call: Call | undefined, outcome: Outcome): void {
    if (!call) return;
    try {
      this.push(call, 'retrying', outcome, null);
      call.interim = true;
    } catch (e) {
      this.onError(e as Error);
    }
  }

  private push(call: Call, status: LogStatus, outcome: Outcome, response: string | null): void {
    const interimBefore = call.interim;
    // updated_at must grow between versions even if the wall clock steps back.
    const now = Math.max(wallMs(), call.lastUpdated + (interimBefore ? 1 : 0));
    call.lastUpdated = now;
    const ended = status === 'success' || status === 'failed';
    const row: LogRow = {
      id: call.id,
      service_name: call.service,
      action: call.action,
      status,
      related_entity_type: call.entityType,
      related_entity_id: call.entityId,
      request_payload: call.request,
      response_payload: response,
      error_message: outcome.ok ? null : redactMessage(outcome.errorMessage, this.redaction.maskPii),
      error_code: outcome.ok || outcome.errorCode === undefined || outcome.errorCode === null ? null : redactString(String(outcome.errorCode)).slice(0, 200),
      duration_ms: ended || status === 'retrying' || status === 'pending' ? Math.round(monotonicMs() - call.startMono) : null,
      retry_count: status === 'retrying' ? call.attempt : call.attempt - 1,
      created_at: call.createdAt,
      updated_at: now,
    };
    this.enqueue({ row, merge: interimBefore || !ended });
  }

  private enqueue(q: Queued): void {
    if (this.closed) {
      // After close() nothing is left to write it: straight to the spool for the next run.
      this.spillRows([q]);
      return;
    }
    let last = this.chunks.length - 1;
    if (last < 0 || this.chunks[last].length >= this.maxBatchRows) {
      this.chunks.push([]);
      this.chunkBytes.push(0);
      last++;
    }
    const bytes = rowBytes(q.row);
    this.chunks[last].push(q);
    this.chunkBytes[last] += bytes;
    this.queuedRows++;
    this.queuedBytes += bytes;
    if (this.queuedBytes > this.maxMemoryBytes) this.spillQueue();
    else if (this.queuedRows >= this.maxBatchRows && !this.kickScheduled) {
      this.kickScheduled = true;
      setImmediate(() => {
        this.kickScheduled = false;
        this.kick();
      });
    }
  }

  // ---------------------------------------------------------------- background

  private tick(): void {
    try {
      this.sweepPending();
    } catch (e) {
      this.onError(e as Error);
    }
    this.kick();
  }

  /** Calls running longer than pendingAfterMs get a `pending` row now, so a crash leaves evidence. */
  private sweepPending(): void {
    const threshold = monotonicMs() - this.pendingAfterMs;
    for (const call of this.inflight) {
      if (call.startMono > threshold) break; // insertion order = start order
      if (call.interim) continue;
      this.push(call, call.attempt > 1 ? 'retrying' : 'pending', { ok: true }, null);
      call.interim = true;
    }
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = this.drain()
      .catch((e: Error) => this.onError(e))
      .finally(() => {
        this.draining = null;
      });
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (!this.up && wallMs() < this.nextProbeAt) {
        // Still in backoff: keep memory small and rows safe on disk.
        this.spillQueue();
        return;
      }
      if (this.spool.hasData()) {
        if (!(await this.replay())) {
          this.spillQueue();
          return;
        }
      }
      if (this.queuedRows === 0) return;
      const batch = this.take();
      if (!(await this.writeBatch(batch))) {
        this.spillRows(batch);
        this.spillQueue();
        return;
      }
    }
  }

  private take(): Queued[] {
    const batch = this.chunks.shift() ?? [];
    this.queuedBytes -= this.chunkBytes.shift() ?? 0;
    this.queuedRows -= batch.length;
    return batch;
  }

  /** Writes one batch; false means "database unavailable" (the caller spools the batch). */
  private async writeBatch(batch: Queued[]): Promise<boolean> {
    let fresh = '';
    let merge = '';
    for (const q of batch) {
      if (q.merge) merge += encodeRow(q.row);
      else fresh += encodeRow(q.row);
    }
    try {
      await this.writer.write(fresh, merge);
      this.markUp();
      this.counters.written += batch.length;
      return true;
    } catch (err) {
      const kind = classifyWriteError(err);
      if (kind === 'transient') {
        this.markDown(err as Error);
        return false;
      }
      // Duplicate or bad data: the idempotent path, narrowing down to the offending rows.
      return this.writeLines(fresh + merge, batch.length, 'write');
    }
  }

  /**
   * Writes COPY lines by the idempotent path; on a data error splits the set in halves until the
   * bad rows are isolated and dropped (reported, never retried forever). False: database down.
   */
  private async writeLines(lines: string, count: number, source: 'write' | 'replay'): Promise<boolean> {
    try {
      await this.writer.write('', lines);
      this.markUp();
      if (source === 'write') this.counters.written += count;
      else this.counters.replayed += count;
      return true;
    } catch (err) {
      if (classifyWriteError(err) === 'transient') {
        this.markDown(err as Error);
        return false;
      }
      const rows = splitLines(lines);
      if (rows.length <= 1) {
        this.counters.dropped += rows.length;
        this.onError(new Error(`integration-monitor recorder: dropped a row the database rejects: ${(err as Error).message}`));
        return true;
      }
      const mid = rows.length >> 1;
      const a = rows.slice(0, mid).join('');
      const b = rows.slice(mid).join('');
      return (await this.writeLines(a, mid, source)) && (await this.writeLines(b, rows.length - mid, source));
    }
  }

  /** Replays spooled segments oldest first. False: the database is (still) down. */
  private async replay(): Promise<boolean> {
    this.spool.seal();
    for (let file = this.spool.next(); file; file = this.spool.next()) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(e as Error);
        this.spool.done(file);
        continue;
      }
      // A process killed mid-append can leave a partial last line: replay only whole lines.
      const lines = splitLines(text).filter((l) => l.endsWith('\n'));
      for (let i = 0; i < lines.length; i += this.maxBatchRows) {
        const chunk = lines.slice(i, i + this.maxBatchRows);
        if (!(await this.writeLines(chunk.join(''), chunk.length, 'replay'))) return false;
      }
      this.spool.done(file);
    }
    return true;
  }

  private spillQueue(): void {
    if (this.queuedRows === 0) return;
    const chunks = this.chunks;
    this.chunks = [];
    this.chunkBytes = [];
    this.queuedRows = 0;
    this.queuedBytes = 0;
    for (const rows of chunks) this.spillRows(rows);
  }

  private spillRows(rows: Queued[]): void {
    let lines = '';
    for (const q of rows) lines += encodeRow(q.row);
    try {
      this.spool.append(lines);
      this.counters.spooled += rows.length;
    } catch (e) {
      this.counters.dropped += rows.length;
      this.onError(new Error(`integration-monitor recorder: spool write failed, ${rows.length} rows lost: ${(e as Error).message}`));
    }
  }

  private markDown(err: Error): void {
    if (this.up) {
      this.up = false;
      this.probeDelayMs = 100;
      this.onError(new Error(`integration-monitor recorder: database unavailable, spooling to ${this.spool.dir}: ${err.message}`));
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

  // ---------------------------------------------------------------- public control

  async flush(): Promise<void> {
    // Wait for a running drain, then drain again to cover rows queued meanwhile.
    for (let i = 0; i < 2; i++) {
      if (this.draining) await this.draining;
      this.nextProbeAt = 0; // an explicit flush tries the database even during backoff
      this.kick();
      await this.draining;
    }
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    clearInterval(this.timer);
    live.delete(this);
    // Calls still running get their `pending` row now; their final version, if it comes after
    // close, goes to the spool and is replayed by the next recorder on this spool dir.
    for (const call of this.inflight) {
      if (call.interim) continue;
      try {
        this.push(call, call.attempt > 1 ? 'retrying' : 'pending', OK, null);
        call.interim = true;
      } catch (e) {
        this.onError(e as Error);
      }
    }
    // Drain until everything is written, or until the database refuses (then spool the rest).
    for (let round = 0; round < 20; round++) {
      if (this.draining) await this.draining;
      if (round > 0 && (!this.up || (this.queuedRows === 0 && !this.spool.hasData()))) break;
      this.nextProbeAt = 0; // one more attempt even if in backoff
      this.kick();
      await this.draining;
    }
    this.closed = true;
    this.spillQueue(); // whatever the database did not take
    this.spool.close();
    if (this.ownPool) await this.pool.end().catch(() => undefined);
  }

  stats(): RecorderStats {
    return { ...this.counters, queuedRows: this.queuedRows, queuedBytes: this.queuedBytes, databaseUp: this.up };
  }
}

function splitLines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl === -1) {
      if (start < text.length) out.push(text.slice(start));
      return out;
    }
    out.push(text.slice(start, nl + 1));
    start = nl + 1;
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

