/**
 * Retry decisions: which failures deserve another attempt and how long to wait. Exponential backoff
 * with full jitter (wait = random(0, min(max, base·2^(n-1)))) spreads retries of many callers
 * instead of synchronising them; a server's own Retry-After wins over the backoff.
 */
import type { Outcome, RetryPolicy } from './types';

export interface ResolvedPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
  idempotent: boolean;
}

export function resolvePolicy(p: RetryPolicy | undefined): ResolvedPolicy {
  return {
    attempts: Math.max(1, Math.floor(p?.attempts ?? (p ? 3 : 1))),
    baseDelayMs: Math.max(0, p?.baseDelayMs ?? 200),
    maxDelayMs: Math.max(0, p?.maxDelayMs ?? 10_000),
    maxRetryAfterMs: Math.max(0, p?.maxRetryAfterMs ?? 60_000),
    idempotent: Boolean(p?.idempotent || p?.idempotencyKey),
  };
}

/** Full-jitter backoff before attempt `attempt + 1`. */
function backoffMs(policy: ResolvedPolicy, attempt: number, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * The wait before the next attempt, or null to stop: out of attempts, not retryable, possibly
 * executed and not idempotent, or the server asks for a wait longer than we are willing to give.
 */
export function nextDelay(policy: ResolvedPolicy, attempt: number, outcome: Outcome, random = Math.random): number | null {
  if (attempt >= policy.attempts) return null;
  if (!outcome.retryable) return null;
  if (!outcome.notExecuted && !policy.idempotent) return null;
  if (outcome.retryAfterMs !== undefined) {
    if (outcome.retryAfterMs > policy.maxRetryAfterMs) return null;
    return Math.max(outcome.retryAfterMs, backoffMs(policy, attempt, random));
  }
  return backoffMs(policy, attempt, random);
}

const NOT_EXECUTED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const MAYBE_EXECUTED_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED']);

function errCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const c = (e as { code?: unknown }).code;
  return typeof c === 'string' || typeof c === 'number' ? String(c) : undefined;
}

/** HTTP status carried by common client errors (axios-like, got-like, custom). */
function errStatus(e: object): number | undefined {
  const o = e as { status?: unknown; statusCode?: unknown; response?: { status?: unknown } };
  for (const v of [o.status, o.statusCode, o.response?.status]) if (typeof v === 'number' && v >= 100 && v < 600) return v;
  return undefined;
}

/**
 * Default judgement of a thrown error. fetch wraps network errors as TypeError('fetch failed') with
 * the system error in `cause`, and a timeout signal as DOMException 'TimeoutError'.
 */
export function judgeError(error: unknown): Outcome {
  if (typeof error !== 'object' || error === null) return { ok: false, retryable: false, errorCode: null, errorMessage: String(error) };
  const e = error as Error & { cause?: unknown };
  const name = e.name;
  if (name === 'TimeoutError') return { ok: false, retryable: true, errorCode: 'TIMEOUT', errorMessage: e.message || 'timed out' };
  if (name === 'AbortError') return { ok: false, retryable: false, errorCode: 'ABORTED', errorMessage: e.message || 'aborted' };
  let cause: unknown = e;
  let code = errCode(e);
  let message = e.message;
  // Walk the cause chain (fetch → undici → system error) for the most specific code.
  for (let i = 0; i < 4 && typeof cause === 'object' && cause !== null && (cause as { cause?: unknown }).cause; i++) {
    cause = (cause as { cause?: unknown }).cause;
    const c = errCode(cause);
    if (c) code = c;
    const m = (cause as { message?: unknown }).message;
    if (typeof m === 'string' && m && !message.includes(m)) message = `${message}: ${m}`;
    if (cause instanceof Error && cause.name === 'TimeoutError') return { ok: false, retryable: true, errorCode: 'TIMEOUT', errorMessage: message };
  }
  if (code && NOT_EXECUTED_CODES.has(code)) return { ok: false, retryable: true, notExecuted: true, errorCode: code, errorMessage: message };
  if (code && MAYBE_EXECUTED_CODES.has(code)) return { ok: false, retryable: true, errorCode: code, errorMessage: message };
  const status = errStatus(e);
  if (status !== undefined) {
    return { ok: false, retryable: status === 429 || status >= 500, notExecuted: status === 429, errorCode: code ?? String(status), errorMessage: message };
  }
  return { ok: false, retryable: false, errorCode: code ?? null, errorMessage: message || name };
}
