/**
 * createRecorder: the SDK an application uses to log every integration call.
 *
 * This module is the caller's path and the lifecycle. The caller's path does only cheap,
 * synchronous work — an id, two clock reads, a row object pushed on an array — and never awaits
 * the database; text the caller controls is redacted and capped (limits.ts), and a call that
 * carried credentials is scrubbed of them (taint.ts) before its row is queued. The recorder's own
 * failures never reach the caller (report.ts: `onError`, else process warnings). The background
 * half — writing, spooling, replaying, dead letters — is shipper.ts.
 */
import path from 'node:path';
import { Pool } from 'pg';
import { monotonicMs, sleep, wallAt, wallMs } from './clock';
import { type AttemptFrame, framesOn, leaveFrame, runInFrame } from './call-context';
import { DeadLetters } from './dead-letter';
import { isUuid, uuidv7 } from './ids';
import { cap, LIMITS } from './limits';
import { looksLikeSecret, payloadJson, redactMessage, RedactOptions, redactString, REDACTED } from './redact';
import { wrapHandler } from './handler';
import { LiveRecorder, register, unregister, Unsaved } from './lifecycle';
import { MemoryDeadLetters, MemorySpool } from './memory-spool';
import { RecorderError, Reporter } from './report';
import { judgeReturned, judgeThrown } from './sdk-results';
import { judgeError, nextDelay, resolvePolicy } from './retry';
import { Shipper } from './shipper';
import { Spool } from './spool';
import { detectShortLived, writableDir } from './runtime';
import { CredentialSet, Scrubber } from './taint';
import type { AttemptContext, LogRow, LogStatus, Outcome, Recorder, RecorderOptions, RecorderStats, TrackOptions, WrapHandlerOptions } from './types';
import { PgWriter } from './writer';

interface Call {
  /** '' until a version of the row is queued that later versions must merge with (push). */
  id: string;
  service: string;
  action: string;
  createdAt: number;
  startMono: number;
  entityType: string | null;
  entityId: string | null;
  request: string | null;
  /** Scrubs what this call carried (taint.ts) from everything recorded for it; usually absent. */
  scrub: Scrubber | undefined;
  attempt: number;
  /** HTTP requests beyond the first within attempts (an SDK retrying on its own; instrumentHttp counts them). */
  extra: number;
  /** A pending/retrying version of this row has been queued: later versions must merge. */
  interim: boolean;
  lastUpdated: number;
}

const OK: Outcome = { ok: true };

/**
 * instrumentHttp's way in (not part of the public Recorder interface): rows for requests it
 * observed. The request is already running — there is nothing to call, frame or retry — so this
 * is track()'s begin and finish without its promise, async function and AsyncLocalStorage context
 * per request. What requests of one kind share (service, action, their credentials' scrubber) is
 * settled once by kind(); start() then costs an id, two clock reads and the call's object.
 */
export const observeRequest = Symbol('observeRequest');
export interface RequestObserver<K = unknown, C = unknown> {
  /** Names cleaned and the credentials' scrubber for requests to one endpoint with the same credentials. */
  kind(service: string, action: string, secrets: readonly string[]): K;
  /** A row begins for one request of that kind. */
  start(kind: K): C;
  /** The row ends with the request's outcome. */
  end(call: C, outcome: Outcome): void;
}

/** What every call of one kind shares (RequestObserver.kind). */
interface CallKind {
  service: string;
  action: string;
  scrub: Scrubber | undefined;
}

export function createRecorder(options: RecorderOptions = {}): Recorder {
  return new RecorderImpl(options);
}

class RecorderImpl implements Recorder, LiveRecorder {
  readonly redaction: RedactOptions;
  private readonly pendingAfterMs: number;
  private readonly reporter: Reporter;
  private readonly pool: Pool;
  private readonly ownPool: boolean;
  private readonly shipper: Shipper;
  private readonly inflight = new Set<Call>();
  private readonly timer: NodeJS.Timeout;
  private closing: Promise<void> | null = null;
  private tracked = 0;
  readonly onError: ((e: Error) => void) | undefined;
  /** Rows that cannot reach the database wait in memory (no writable spool): see flush(). */
  private readonly memory: MemorySpool | null;
  /** How long flush()/close() keep retrying the database for rows that only memory holds. */
  private readonly saveBudgetMs: number;

  constructor(o: RecorderOptions) {
    const flushIntervalMs = o.flushIntervalMs ?? 200;
    this.pendingAfterMs = o.pendingAfterMs ?? 5000;
    this.redaction = { maskPii: o.maskPii ?? false, maxPayloadBytes: Math.min(o.maxPayloadBytes ?? 16 * 1024, LIMITS.payloadBytes) };
    this.reporter = new Reporter(o.onError);
    this.onError = o.onError;
    const shortLived = o.shortLived ?? detectShortLived();
    let closeAfterWrite = false;
    if (o.pool) {
      this.pool = o.pool;
      this.ownPool = false;
    } else {
      if (!o.databaseUrl) throw new Error('createRecorder: pass databaseUrl or pool');
      // Short-lived: one connection, by default closed after each write (a frozen sandbox must hold none).
      const idle = o.idleTimeoutMs ?? (shortLived ? 0 : 10_000);
      closeAfterWrite = idle === 0;
      const size = shortLived ? { max: 1, allowExitOnIdle: true } : { max: 2 };
      this.pool = new Pool({
        connectionString: o.databaseUrl,
        ...size,
        idleTimeoutMillis: idle || 1000,
        connectionTimeoutMillis: 5000,
        keepAlive: true,
        application_name: 'integration-monitor recorder',
      });
      this.pool.on('error', () => undefined); // idle clients die when the server restarts; the next write reconnects
      this.ownPool = true;
    }
    // From the options only: the SDK reads none of the server's environment. Without a spoolDir,
    // a short-lived handler or a read-only/absent file system spools in memory (memory-spool.ts).
    const spoolDir = path.resolve(o.spoolDir ?? path.join('.data', 'recorder-spool'));
    const maxSpoolBytes = o.maxSpoolBytes ?? 256 * 1024 * 1024;
    const maxMemoryBytes = o.maxMemoryBytes ?? 32 * 1024 * 1024;
    const writeTimeoutMs = o.writeTimeoutMs ?? 10_000;
    this.memory = o.spoolDir === undefined && (shortLived || !writableDir(spoolDir)) ? new MemorySpool(Math.min(maxSpoolBytes, maxMemoryBytes)) : null;
    this.saveBudgetMs = writeTimeoutMs;
    const disk = this.memory ? null : new Spool(spoolDir, maxSpoolBytes);
    this.shipper = new Shipper(
      new PgWriter(this.pool, o.role === undefined ? 'service_role' : o.role, writeTimeoutMs, closeAfterWrite),
      this.memory ?? disk!,
      // One directory verdict (spool-trust.ts) for the segments and the dead letters.
      disk ? new DeadLetters(disk.guard, Math.max(1024 * 1024, Math.floor(maxSpoolBytes / 4))) : new MemoryDeadLetters(),
      this.reporter,
      o.maxBatchRows ?? 5000,
      maxMemoryBytes,
    );
    this.timer = setInterval(() => this.tick(), flushIntervalMs);
    this.timer.unref(); // the recorder alone must not keep a process alive; close() flushes
    register(this);
  }

  // ---------------------------------------------------------------- caller path

  track<T>(service: string, action: string, fn: (ctx: AttemptContext) => T | Promise<T>, options?: TrackOptions<Awaited<T>>): Promise<Awaited<T>> {
    let call: Call | undefined;
    try {
      call = this.begin(service, action, options);
    } catch (e) {
      this.reporter.internal(e);
    }
    if (options && (options.retry || options.inspect)) return this.trackSlow(service, call, fn, options);
    // Fast path: one attempt, judged by what it returned or threw (sdk-results.ts).
    const frame = newFrame();
    let value: T | Promise<T>;
    try {
      value = frame ? runInFrame(frame, fn, { attempt: 1 }) : fn({ attempt: 1 });
    } catch (err) {
      this.finish(call, undefined, this.judgeErr(call, service, options, err, frame), err);
      return Promise.reject(err);
    }
    if (isThenable(value)) {
      return Promise.resolve(value).then(
        (v) => {
          this.finish(call, v, this.judgeValue(call, service, v, frame), undefined, options?.captureResponse);
          return v as Awaited<T>;
        },
        (err: unknown) => {
          this.finish(call, undefined, this.judgeErr(call, service, options, err, frame), err);
          throw err;
        },
      );
    }
    this.finish(call, value, this.judgeValue(call, service, value, frame), undefined, options?.captureResponse);
    return Promise.resolve(value as Awaited<T>);
  }

  /** As track(service, action, () => outcomePromise, { secrets, inspect: o => o }), with less work per request. */
  readonly [observeRequest]: RequestObserver<CallKind, Call | undefined> = {
    kind: (service, action, secrets) => this.kind(service, action, secrets.length > 0 ? taint(secrets, undefined) : undefined),
    start: (kind) => {
      try {
        const mono = monotonicMs();
        return this.open(kind, wallAt(mono), mono, null, null, null);
      } catch (e) {
        this.reporter.internal(e);
        return undefined;
      }
    },
    end: (call, outcome) => this.finish(call, undefined, outcome, undefined),
  };

  /** Retries and/or inspection of returned values (e.g. HTTP responses). */
  private async trackSlow<T>(service: string, call: Call | undefined, fn: (ctx: AttemptContext) => T | Promise<T>, options: TrackOptions<Awaited<T>>): Promise<Awaited<T>> {
    const policy = resolvePolicy(options.retry);
    for (let attempt = 1; ; attempt++) {
      if (call) call.attempt = attempt;
      const frame = newFrame();
      let value: Awaited<T>;
      try {
        value = await (frame ? runInFrame(frame, fn, { attempt }) : fn({ attempt }));
      } catch (err) {
        const outcome = this.judgeErr(call, service, options, err, frame);
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
        attemptEnded(call, frame);
        try {
          outcome = await options.inspect(value);
        } catch (e) {
          this.reporter.internal(e);
        }
      } else {
        outcome = this.judgeValue(call, service, value, frame);
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

  private judgeErr(call: Call | undefined, service: string, options: TrackOptions<never> | undefined, err: unknown, frame: AttemptFrame | undefined): Outcome {
    try {
      attemptEnded(call, frame);
      if (options?.inspectError) return options.inspectError(err);
      return judgeThrown(service, err, frame?.last) ?? judgeError(err);
    } catch (e) {
      this.reporter.internal(e);
      return { ok: false, errorMessage: String(err) };
    }
  }

  /** A returned value: failed when it is a known SDK's failure (sdk-results.ts). Never throws. */
  private judgeValue(call: Call | undefined, service: string, value: unknown, frame: AttemptFrame | undefined): Outcome {
    try {
      attemptEnded(call, frame);
      return judgeReturned(service, value, frame?.last) ?? OK;
    } catch (e) {
      this.reporter.internal(e);
      return OK;
    }
  }

  private begin(service: string, action: string, options: TrackOptions<never> | undefined): Call {
    const createdAt = wallMs();
    let entityType: string | null = null;
    let entityId: string | null = null;
    let request: string | null = null;
    let scrub: Scrubber | undefined;
    if (options) {
      if (options.secrets || options.request !== undefined) scrub = taint(options.secrets, options.request);
      if (options.entity) {
        entityType = this.cleanName(options.entity.type, 'entityType');
        // related_entity_id is uuid: anything else would make the whole COPY batch fail.
        entityId = isUuid(options.entity.id) ? options.entity.id : null;
      }
      if (options.request !== undefined) request = payloadJson(options.request, this.redaction, scrub);
    }
    return this.open(this.kind(service, action, scrub), createdAt, monotonicMs(), entityType, entityId, request);
  }

  private kind(service: string, action: string, scrub: Scrubber | undefined): CallKind {
    let cleanAction = this.cleanName(action, 'action');
    let cleanService = this.cleanName(service, 'service');
    // A name holding a credential of this call is no name; it must not reach the catalog.
    if (scrub && scrub(cleanAction) !== cleanAction) cleanAction = 'unknown';
    if (scrub && scrub(cleanService) !== cleanService) cleanService = 'unknown';
    return { service: cleanService, action: cleanAction, scrub };
  }

  private open(kind: CallKind, createdAt: number, startMono: number, entityType: string | null, entityId: string | null, request: string | null): Call {
    const call: Call = {
      id: '',
      service: kind.service,
      action: kind.action,
      createdAt,
      startMono,
      entityType,
      entityId,
      request,
      scrub: kind.scrub,
      attempt: 1,
      extra: 0,
      interim: false,
      lastUpdated: createdAt,
    };
    this.inflight.add(call);
    this.tracked++;
    return call;
  }

  /**
   * Service, action and entity type names repeat endlessly; redact each distinct one once (they
   * could carry a token if built from a URL) and cap it (limits.ts). The cache is bounded so that
   * names built from ids cannot grow it without limit.
   */
  private readonly names = { service: new Map<string, string>(), action: new Map<string, string>(), entityType: new Map<string, string>() };
  private cleanName(name: unknown, kind: 'service' | 'action' | 'entityType'): string {
    const raw = typeof name === 'string' ? name : String(name);
    const cache = this.names[kind];
    let clean = cache.get(raw);
    if (clean === undefined) {
      clean = cap(redactString(raw), LIMITS[kind]) || 'unknown';
      if (cache.size < 1000) cache.set(raw, clean);
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
      if (capture) response = payloadJson(outcome.response !== undefined ? outcome.response : value, this.redaction, call.scrub);
      this.push(call, status, outcome, response);
    } catch (e) {
      this.reporter.internal(e);
    }
  }

  /** A retry is about to wait: the row says `retrying` until the call ends. */
  private retrying(call: Call | undefined, outcome: Outcome): void {
    if (!call) return;
    try {
      this.push(call, 'retrying', outcome, null);
      call.interim = true;
    } catch (e) {
      this.reporter.internal(e);
    }
  }

  private push(call: Call, status: LogStatus, outcome: Outcome, response: string | null): void {
    const interimBefore = call.interim;
    const mono = monotonicMs();
    // updated_at must grow between versions even if the wall clock steps back.
    const now = Math.max(wallAt(mono), call.lastUpdated + (interimBefore ? 1 : 0));
    call.lastUpdated = now;
    const ended = status === 'success' || status === 'failed';
    const merge = interimBefore || !ended;
    // A row queued once, final, gets its id when it is encoded (queue.ts lineOf), off the
    // caller's path; versions that must merge share one id, drawn with the first of them.
    if (merge && call.id === '') call.id = uuidv7(call.createdAt);
    const row: LogRow = {
      id: call.id,
      service_name: call.service,
      action: call.action,
      status,
      related_entity_type: call.entityType,
      related_entity_id: call.entityId,
      request_payload: call.request,
      response_payload: response,
      error_message: outcome.ok ? null : redactMessage(outcome.errorMessage, this.redaction.maskPii, call.scrub),
      error_code: outcome.ok ? null : errorCode(outcome.errorCode, call.scrub),
      duration_ms: ended || status === 'retrying' || status === 'pending' ? Math.round(mono - call.startMono) : null,
      retry_count: (status === 'retrying' ? call.attempt : call.attempt - 1) + call.extra,
      created_at: call.createdAt,
      updated_at: now,
    };
    this.shipper.enqueue({ row, merge });
  }

  // ---------------------------------------------------------------- background

  private tick(): void {
    try {
      this.sweepPending();
    } catch (e) {
      this.reporter.internal(e);
    }
    this.shipper.kick();
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

  // ---------------------------------------------------------------- public control

  async flush(): Promise<void> {
    try {
      // Wait for a running drain, then drain again to cover rows queued meanwhile.
      for (let i = 0; i < 2; i++) {
        await this.shipper.settled();
        this.shipper.probeNow(); // an explicit flush tries the database even during backoff
        this.shipper.kick();
        await this.shipper.settled();
      }
      await this.saveFromMemory();
    } catch (e) {
      this.reporter.internal(e);
    }
  }

  /**
   * Without a disk spool, what the database did not take would die with the process: keep trying
   * (jittered backoff, e.g. past "too many clients") until it is written or the budget is spent.
   */
  private async saveFromMemory(): Promise<void> {
    if (!this.memory) return;
    const sh = this.shipper;
    const deadline = monotonicMs() + this.saveBudgetMs;
    for (let wait = 20; sh.queue.rows > 0 || this.memory.hasData(); wait = Math.min(wait * 2, 500)) {
      const left = deadline - monotonicMs();
      if (left <= 0) return;
      await sleep(Math.min(left, wait * (0.5 + Math.random())));
      sh.probeNow();
      sh.kick();
      await sh.settled();
    }
  }

  wrapHandler<A extends unknown[], R>(handler: (...args: A) => R | Promise<R>, options?: WrapHandlerOptions): (...args: A) => Promise<Awaited<R>> {
    return wrapHandler(() => this.flush(), handler, options);
  }

  unsaved(): Unsaved {
    const sh = this.shipper;
    return { rows: sh.queue.rows + (this.memory?.rows ?? 0), calls: this.inflight.size, writing: sh.busy };
  }

  problem(message: string): RecorderError {
    return new RecorderError('unflushed', message);
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    clearInterval(this.timer);
    unregister(this);
    // Calls still running get their `pending` row now; their final version, if it comes after
    // close, goes to the spool and is replayed by the next recorder on this spool dir.
    for (const call of this.inflight) {
      if (call.interim) continue;
      try {
        this.push(call, call.attempt > 1 ? 'retrying' : 'pending', OK, null);
        call.interim = true;
      } catch (e) {
        this.reporter.internal(e);
      }
    }
    const sh = this.shipper;
    // Drain until everything is written, or until the database refuses (then spool the rest).
    for (let round = 0; round < 20; round++) {
      await sh.settled();
      if (round > 0 && (!sh.up || (sh.queue.rows === 0 && !sh.spool.hasData()))) break;
      sh.probeNow(); // one more attempt even if in backoff
      sh.kick();
      await sh.settled();
    }
    await this.saveFromMemory();
    sh.closed = true;
    sh.spillQueue(); // whatever the database did not take
    sh.spool.close();
    if (this.ownPool) await this.pool.end().catch(() => undefined);
  }

  stats(): RecorderStats {
    const sh = this.shipper;
    return { tracked: this.tracked, ...sh.counters, queuedRows: sh.queue.rows, queuedBytes: sh.queue.bytes, spoolBytes: sh.spool.bytes, databaseUp: sh.up };
  }
}

const scrubbers = new Map<string, Scrubber>();
const identity: Scrubber = (t) => t;

/** The credentials a call carried: given explicitly, and found in its request payload. */
function taint(secrets: readonly string[] | undefined, request: unknown): Scrubber | undefined {
  // instrumentHttp/instrumentFetch pass the same few credentials on every call (a bot token, an
  // API key): their scrubber is built once. Bounded, and in memory only.
  if (request === undefined && secrets && secrets.length > 0) {
    const key = secrets.join('\0');
    let scrub = scrubbers.get(key);
    if (!scrub) {
      const set = new CredentialSet();
      for (const s of secrets) set.add(s);
      scrub = set.scrubber() ?? identity;
      if (scrubbers.size >= 256) scrubbers.clear();
      scrubbers.set(key, scrub);
    }
    return scrub === identity ? undefined : scrub;
  }
  const set = new CredentialSet();
  if (secrets) for (const s of secrets) set.add(s);
  if (request !== undefined) set.value(request);
  return set.scrubber();
}

/** error_code: redacted, scrubbed, capped; a code that looks like a credential is not kept. */
function errorCode(code: string | null | undefined, scrub: Scrubber | undefined): string | null {
  if (code === undefined || code === null) return null;
  const c = redactString(scrub ? scrub(String(code)) : String(code));
  if (looksLikeSecret(c)) return REDACTED;
  return cap(c, LIMITS.errorCode);
}

/** A frame for the next attempt when instrumentHttp is on (call-context.ts). */
function newFrame(): AttemptFrame | undefined {
  return framesOn() ? { requests: 0, last: undefined } : undefined;
}

/**
 * An attempt has ended (called once per attempt, before it is judged): it leaves its frame, and
 * if it made n > 1 HTTP requests (the SDK retried on its own) it made n − 1 retries.
 */
function attemptEnded(call: Call | undefined, frame: AttemptFrame | undefined): void {
  leaveFrame(frame);
  if (call && frame && frame.requests > 1) call.extra += frame.requests - 1;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}
