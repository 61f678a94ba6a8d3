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
export declare function resolvePolicy(p: RetryPolicy | undefined): ResolvedPolicy;
/** Full-jitter backoff before attempt `attempt + 1`. */
export declare function backoffMs(policy: ResolvedPolicy, attempt: number, random?: () => number): number;
/**
 * The wait before the next attempt, or null to stop: out of attempts, not retryable, possibly
 * executed and not idempotent, or the server asks for a wait longer than we are willing to give.
 */
export declare function nextDelay(policy: ResolvedPolicy, attempt: number, outcome: Outcome, random?: () => number): number | null;
/**
 * Default judgement of a thrown error. fetch wraps network errors as TypeError('fetch failed') with
 * the system error in `cause`, and a timeout signal as DOMException 'TimeoutError'.
 */
export declare function judgeError(error: unknown): Outcome;
