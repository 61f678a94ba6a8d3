/**
 * A short-lived cache of aggregate responses, keyed by the caller's exact token and URL. A
 * dashboard of many panels refreshing together (and several people watching it) asks the same
 * questions over and over; within `ttlMs` they share one database round, and identical requests
 * arriving while it runs wait for it instead of starting their own (single flight). Past the TTL,
 * for up to `maxStaleMs` more, the last answer is still served while one refresh runs in the
 * background (stale-while-revalidate), so a slow query never makes a queue of waiting requests.
 * An answer is thus at most ttl + maxStale + one query old.
 *
 * Keying by the token keeps RLS in charge: an answer is only ever reused for the very token whose
 * role and claims Postgres produced it for. Failures are never cached.
 */
interface Entry {
  value: Promise<unknown>;
  /** Until then the answer is fresh (Infinity while the first computation runs). */
  freshUntil: number;
  /** Until then a stale answer may be served while refreshing. */
  staleUntil: number;
  refreshing: boolean;
}

export class ResponseCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly ttlMs: number,
    readonly maxStaleMs = ttlMs * 5,
    private readonly maxEntries = 1000,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  async get<T>(key: string, compute: () => Promise<T>): Promise<T> {
    if (!this.enabled) return compute();
    const now = Date.now();
    const entry = this.entries.get(key);
    if (entry && entry.freshUntil > now) return entry.value as Promise<T>;
    if (entry && entry.staleUntil > now) {
      if (!entry.refreshing) {
        entry.refreshing = true;
        const next = compute();
        next.then(
          () => {
            if (this.entries.get(key) === entry) this.settle(key, next);
          },
          () => {
            entry.refreshing = false; // keep serving the last good answer until it is too old
          },
        );
      }
      return entry.value as Promise<T>;
    }
    return this.start(key, compute);
  }

  private start<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const value = compute();
    const entry: Entry = { value, freshUntil: Infinity, staleUntil: Infinity, refreshing: false };
    this.entries.delete(key);
    this.entries.set(key, entry);
    value.then(
      () => {
        if (this.entries.get(key) === entry) this.settle(key, value);
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    // Oldest first (Map keeps insertion order): drop what exceeds the bound.
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }

  /** The TTL counts from when an answer exists, not from when it was asked for. */
  private settle(key: string, value: Promise<unknown>): void {
    const at = Date.now();
    this.entries.delete(key);
    this.entries.set(key, { value, freshUntil: at + this.ttlMs, staleUntil: at + this.ttlMs + this.maxStaleMs, refreshing: false });
  }

  clear(): void {
    this.entries.clear();
  }
}

/** MONITOR_API_CACHE_MS (default 1000; 0 turns the cache off). */
export function cacheTtlFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MONITOR_API_CACHE_MS;
  if (raw === undefined || raw === '') return 1000;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0 || ms > 3_600_000) throw new Error(`MONITOR_API_CACHE_MS must be an integer 0-3600000, got ${JSON.stringify(raw)}`);
  return ms;
}
