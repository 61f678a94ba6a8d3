/**
 * Borrowing a pooled connection for one request, with two guarantees the pool alone does not give:
 * a checked-out client has an 'error' listener (pg-pool only listens on idle ones, and an unheard
 * 'error' — the server restarting mid-query — would end the process), and the whole borrow (connect
 * plus every statement) ends within `timeoutMs`, even when the server stops answering altogether
 * (a frozen postmaster sends no error, and no statement_timeout fires). A connection given up on is
 * destroyed, never returned to the pool.
 */
import type { Pool, PoolClient } from 'pg';

/** The budget ran out before the database answered (the API answers 503 with this message). */
export class DatabaseTimeout extends Error {
  constructor(ms: number) {
    super(`the database did not answer within ${ms} ms; try again shortly`);
    this.name = 'DatabaseTimeout';
  }
}

/**
 * Every connection was in use by other requests for the whole budget: the database may be fine,
 * the API is busy. Not a sign of an outage (DatabaseState ignores it).
 */
export class PoolExhausted extends Error {
  constructor() {
    super('all database connections are busy; try again shortly');
    this.name = 'PoolExhausted';
  }
}

/** No idle connection and no room for another: a borrower now waits for someone's release. */
const poolFull = (pool: Pool): boolean => pool.idleCount === 0 && pool.totalCount >= (pool.options.max ?? 10);

/**
 * Runs `fn` with a pooled client. `discard(err)` marks the client unusable (it is closed, not
 * reused); `remainingMs()` is what is left of the budget. Rejects with DatabaseTimeout (503) when
 * the deadline passes first.
 */
export function withClient<T>(pool: Pool, timeoutMs: number, fn: (client: PoolClient, discard: (err: Error) => void, remainingMs: () => number) => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let client: PoolClient | undefined;
  let broken: Error | undefined;
  let released = false;
  let gaveUp = false;
  const onError = (err: Error) => {
    broken = err;
  };
  const release = (err?: Error) => {
    if (released || !client) return;
    released = true;
    client.removeListener('error', onError);
    // A lost connection may still emit once more while the pool closes it: keep it heard.
    if (err) client.on('error', () => undefined);
    client.release(err);
  };
  const work = (async () => {
    const c = await pool.connect().catch((err: Error) => {
      // pg-pool's own give-up on a queued borrow (a full pool), as opposed to a connect that failed.
      throw /timeout exceeded when trying to connect/.test(err.message) ? new PoolExhausted() : err;
    });
    client = c;
    c.on('error', onError);
    if (gaveUp) throw new DatabaseTimeout(timeoutMs);
    return fn(
      c,
      (err) => {
        broken ??= err;
      },
      () => deadline - Date.now(),
    );
  })();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      gaveUp = true;
      const err = client === undefined && poolFull(pool) ? new PoolExhausted() : new DatabaseTimeout(timeoutMs);
      release(err);
      reject(err);
    }, timeoutMs);
    work.then(
      (out) => {
        clearTimeout(timer);
        release(broken);
        resolve(out);
      },
      (err: Error) => {
        clearTimeout(timer);
        release(broken ?? (gaveUp ? err : undefined));
        reject(err);
      },
    );
  });
}
