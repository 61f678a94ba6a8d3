/**
 * How many database reads one caller may have at once. Without a bound one token could hold the
 * whole pool (25 concurrent 400-day hourly /stats took all 20 connections: every other caller
 * waited seconds or got 503). Each subject — the token's issuer and `sub`, or the token itself
 * when it names no subject — gets `perSubject` reads at a time; a few more wait their turn (FIFO)
 * for at most `waitMs`; anything beyond is a 429 with Retry-After, at once, before any SQL.
 */
import { HttpError } from './errors';

export class TooManyReads extends HttpError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(429, message, undefined, { 'retry-after': String(retryAfterSeconds) });
    this.name = 'TooManyReads';
  }
}

export interface ReadLimitOptions {
  /** Reads one subject may run at once. */
  perSubject: number;
  /** Reads of one subject that may wait for a turn; more are refused at once. */
  maxWaiting: number;
  /** Longest wait for a turn. */
  waitMs: number;
}

interface Slot {
  running: number;
  waiting: Array<() => void>;
}

export class ReadLimiter {
  private readonly slots = new Map<string, Slot>();

  constructor(private readonly opts: ReadLimitOptions) {
    if (!(opts.perSubject >= 1) || !(opts.maxWaiting >= 0) || !(opts.waitMs >= 0)) throw new Error('read limit: perSubject ≥ 1, maxWaiting ≥ 0 and waitMs ≥ 0');
  }

  /** Reads running now for `subject` (for tests and logs). */
  running(subject: string): number {
    return this.slots.get(subject)?.running ?? 0;
  }

  /** Runs `fn` when `subject` has a free turn; TooManyReads when none comes within waitMs. */
  async run<T>(subject: string, fn: () => Promise<T>): Promise<T> {
    await this.acquire(subject);
    try {
      return await fn();
    } finally {
      this.release(subject);
    }
  }

  private refuse(): TooManyReads {
    const retry = Math.max(1, Math.ceil(this.opts.waitMs / 1000));
    return new TooManyReads(`too many concurrent requests for this token (at most ${this.opts.perSubject} at once); retry after ${retry} s`, retry);
  }

  private acquire(subject: string): Promise<void> {
    let slot = this.slots.get(subject);
    if (!slot) this.slots.set(subject, (slot = { running: 0, waiting: [] }));
    if (slot.running < this.opts.perSubject) {
      slot.running++;
      return Promise.resolve();
    }
    if (slot.waiting.length >= this.opts.maxWaiting) return Promise.reject(this.refuse());
    const s = slot;
    return new Promise<void>((resolve, reject) => {
      const turn = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const i = s.waiting.indexOf(turn);
        if (i >= 0) s.waiting.splice(i, 1);
        reject(this.refuse());
      }, this.opts.waitMs);
      s.waiting.push(turn);
    });
  }

  private release(subject: string): void {
    const slot = this.slots.get(subject);
    if (!slot) return;
    // The turn passes straight to the next waiter (running stays the same).
    const next = slot.waiting.shift();
    if (next) return next();
    slot.running--;
    if (slot.running === 0) this.slots.delete(subject);
  }
}

/** Whose reads these are: issuer and subject when the token names one, else the token itself. */
export function readSubject(claims: { iss?: string; sub?: string }, authorization: string | undefined): string {
  return typeof claims.sub === 'string' ? `sub\n${claims.iss ?? ''}\n${claims.sub}` : `token\n${authorization ?? ''}`;
}
