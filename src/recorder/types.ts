/**
 * Public types of the recorder SDK. A `LogRow` mirrors one `integration_logs` row exactly (the
 * seed's columns); everything else describes how calls are tracked.
 */

export type LogStatus = 'success' | 'failed' | 'pending' | 'retrying';

/** One row as the writer sends it to Postgres. Payloads are already redacted JSON text. */
export interface LogRow {
  id: string;
  service_name: string;
  action: string;
  status: LogStatus;
  related_entity_type: string | null;
  related_entity_id: string | null;
  request_payload: string | null;
  response_payload: string | null;
  error_message: string | null;
  error_code: string | null;
  duration_ms: number | null;
  retry_count: number;
  /** Epoch milliseconds; with `id`, the row's primary key — never changes between versions. */
  created_at: number;
  /** Epoch milliseconds; strictly grows between versions of one row (pending → final). */
  updated_at: number;
}

export interface RetryPolicy {
  /** Total attempts including the first (default 3). 1 disables retries. */
  attempts?: number;
  /** Backoff base: attempt n waits random(0, min(maxDelayMs, baseDelayMs·2^(n-1))) — "full jitter". */
  baseDelayMs?: number;
  /** Cap of one backoff wait (default 10 s). */
  maxDelayMs?: number;
  /** A server asking to wait longer than this (Retry-After, Telegram retry_after) ends the retries (default 60 s). */
  maxRetryAfterMs?: number;
  /**
   * Whether repeating the operation is harmless. Failures that may have reached the server (5xx,
   * timeouts, resets) are retried only when true or when `idempotencyKey` is set. Refused
   * connections and 429 were not executed, so they are always retryable. instrumentFetch derives
   * it from the HTTP method (GET/HEAD/OPTIONS/PUT/DELETE) and the Idempotency-Key header.
   */
  idempotent?: boolean;
  idempotencyKey?: string;
}

/** How one attempt ended, as judged by the provider rules or a custom `inspect`. */
export interface Outcome {
  ok: boolean;
  /** Worth another attempt (429, 5xx, timeout, network). */
  retryable?: boolean;
  /** Whether the failed attempt certainly did not execute (429, connection refused). */
  notExecuted?: boolean;
  /** Server-requested wait before the next attempt. */
  retryAfterMs?: number;
  errorCode?: string | null;
  errorMessage?: string | null;
  /** Response payload to store when `captureResponse` is on (redacted before queueing). */
  response?: unknown;
}

export interface AttemptContext {
  /** 1-based attempt number. */
  attempt: number;
}

export interface TrackOptions<T = unknown> {
  entity?: { type: string; id: string };
  /** Request payload to store (redacted and truncated before it is queued). Off when absent. */
  request?: unknown;
  /** Store the value `fn` returned (or the inspected response) as response_payload. */
  captureResponse?: boolean;
  retry?: RetryPolicy;
  /** Judges a value `fn` returned (e.g. an HTTP response with an error status). Default: success. */
  inspect?: (value: T) => Outcome | Promise<Outcome>;
  /** Judges an error `fn` threw. Default: network/timeout/HTTP-status rules in retry.ts. */
  inspectError?: (error: unknown) => Outcome;
  /**
   * Credentials this call carries (tokens, keys, passwords). Each is scrubbed from everything
   * recorded for the call — action, error message and code, payloads — wherever it appears.
   * Credentials in `request` (secret-named fields, Authorization values, URLs) are added
   * automatically; instrumentFetch passes the ones in the URL, headers and body.
   */
  secrets?: readonly string[];
}

export interface RecorderOptions {
  /** Postgres URL; the recorder makes its own small pool. Either this or `pool`. */
  databaseUrl?: string;
  /** An existing pool to borrow connections from (the recorder never ends it). */
  pool?: import('pg').Pool;
  /** Longest time a tracked row waits in memory before it is written (default 200 ms). */
  flushIntervalMs?: number;
  /** Rows per COPY (default 5,000); a full batch is flushed at once. */
  maxBatchRows?: number;
  /** Bound of the in-memory queue (default 32 MiB); past it rows spill to the spool file. */
  maxMemoryBytes?: number;
  /** Where rows go while the database is down or memory is full (default `.data/recorder-spool`). */
  spoolDir?: string;
  /** A call still running after this long is written as `pending` (default 5,000 ms). */
  pendingAfterMs?: number;
  /** Payloads longer than this (UTF-8 bytes of JSON) are truncated with a marker (default 16 KiB). */
  maxPayloadBytes?: number;
  /** Also mask e-mail addresses and phone numbers in payloads and messages (default off). */
  maskPii?: boolean;
  /** Role the writer switches to with SET LOCAL ROLE (default `service_role`; null: don't switch). */
  role?: string | null;
  /** Longest a write (connect + COPY + commit) may take before the connection is dropped and the batch spooled (default 10,000 ms). */
  writeTimeoutMs?: number;
  /** Bound of the spool on disk (default 256 MiB); when full, new rows are dropped (counted, reported) and spooled ones kept. */
  maxSpoolBytes?: number;
  /**
   * Called with the recorder's own problems (database down, write timeout, dead letters, spool
   * full or damaged); never thrown to callers. Without it they become process warnings, at most
   * one per kind per minute. Each is a `RecorderError` with a `kind`.
   */
  onError?: (error: Error) => void;
  /**
   * A handler that is frozen or killed right after it answers (Lambda, Vercel, Supabase Edge
   * Functions, Deno): one connection, closed after each write, so a frozen instance holds none;
   * without `spoolDir`, rows the database does not take wait in memory, and `flush()` keeps trying
   * for up to `writeTimeoutMs`. Default: detected (Deno, `EdgeRuntime`, or one of
   * AWS_LAMBDA_FUNCTION_NAME, VERCEL, NETLIFY, FUNCTION_TARGET, FUNCTIONS_WORKER_RUNTIME,
   * DENO_DEPLOYMENT_ID set). See docs/recorder.md, "Runtimes".
   */
  shortLived?: boolean;
  /**
   * How long the recorder's own connection may stay idle before it is closed. Default: 0 when
   * short-lived — closed after each write, before the write resolves — else 10,000 ms. A
   * short-lived instance that is never frozen (a Supabase worker serving bursts) may keep it a
   * little (e.g. 2,000) to save a connect per invocation; a frozen instance keeps it while frozen.
   */
  idleTimeoutMs?: number;
}

export interface WrapHandlerOptions {
  /**
   * The platform's "keep this instance alive until the promise settles" (Supabase's
   * `EdgeRuntime.waitUntil`, `waitUntil` from `@vercel/functions`, a Worker's `ctx.waitUntil`):
   * the answer is not held back by the flush. Without it the wrapper flushes before answering.
   */
  waitUntil?: (promise: Promise<unknown>) => void;
}

export interface RecorderStats {
  tracked: number;
  /** Rows committed from memory. */
  written: number;
  /** Rows written to the spool. */
  spooled: number;
  /** Rows committed from the spool (this recorder's and adopted segments). */
  replayed: number;
  /** Rows the database refused for their content, kept in `<spoolDir>/dead-letter.jsonl`. */
  deadLettered: number;
  /** Rows lost for good (spool full, spool unwritable, damaged spool data). */
  dropped: number;
  /** Of `dropped`: refused because the spool was at `maxSpoolBytes`. */
  droppedSpoolFull: number;
  /** Of `dropped`: in damaged spool batches. */
  lostCorrupt: number;
  /**
   * Files in the spool directory not adopted because they are unsafe (not this user's regular
   * file, writable by others, a symlink) or larger than a segment may be; each is left in place
   * and reported once (`kind: 'spool-unsafe'`), naming it.
   */
  spoolSkipped: number;
  queuedRows: number;
  queuedBytes: number;
  /** Bytes of spool segments this recorder holds. */
  spoolBytes: number;
  databaseUp: boolean;
}

export interface Recorder {
  track<T>(service: string, action: string, fn: (ctx: AttemptContext) => T | Promise<T>, options?: TrackOptions<Awaited<T>>): Promise<Awaited<T>>;
  /**
   * Writes everything queued (and replays the spool if the database is up). Never rejects. With
   * no disk spool (short-lived, read-only file system) it keeps trying for up to `writeTimeoutMs`
   * while rows only memory holds are left. In a short-lived handler, await it before answering.
   */
  flush(): Promise<void>;
  /**
   * The handler, flushing after every invocation before its promise settles (or through
   * `options.waitUntil`); its value or error passes through unchanged.
   */
  wrapHandler<A extends unknown[], R>(handler: (...args: A) => R | Promise<R>, options?: WrapHandlerOptions): (...args: A) => Promise<Awaited<R>>;
  /** Stops timers, writes or spools everything, releases the pool. Idempotent. */
  close(): Promise<void>;
  stats(): RecorderStats;
  /** Redaction settings in force (used by instrumentFetch for payload capture). */
  readonly redaction: import('./redact').RedactOptions;
}
