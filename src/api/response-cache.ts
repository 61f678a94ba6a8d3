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
  /** Bytes this entry holds once settled (key included); 0 while computing. */
  bytes: number;
}

export interface CacheLimits {
  /** Most entries kept (default 1000). */
  maxEntries?: number;
  /** Most bytes of settled answers kept (default unbounded); least recently used go first. */
  maxBytes?: number;
  /** Bytes an answer takes (default 0: only the entry cap applies). */
  sizeOf?: (value: unknown) => number;
}

/**
 * Bounded two ways: entries and bytes. The Map is kept in least-recently-used order (a hit moves
 * its entry to the end), so eviction drops from the front. An answer bigger than the whole byte
 * budget is served but not kept. Computations in flight hold no counted bytes: how many there can
 * be is bounded by concurrent requests, not by how many distinct URLs an attacker sends.
 */
export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly sizeOf: (value: unknown) => number;

  constructor(
    readonly ttlMs: number,
    readonly maxStaleMs = ttlMs * 5,
    limits: number | CacheLimits = {},
  ) {
    const l = typeof limits === 'number' ? { maxEntries: limits } : limits;
    this.maxEntries = l.maxEntries ?? 1000;
    this.maxBytes = l.maxBytes ?? Infinity;
    this.sizeOf = l.sizeOf ?? (() => 0);
  }

  get enabled(): boolean {
    return this.ttlMs > 0 && this.maxBytes > 0;
  }

  /** Bytes of settled answers held now. */
  get bytes(): number {
    return this.totalBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  async get<T>(key: string, compute: () => Promise<T>): Promise<T> {
    if (!this.enabled) return compute();
    const now = Date.now();
    const entry = this.entries.get(key);
    if (entry) this.touch(key, entry);
    if (entry && entry.freshUntil > now) return entry.value as Promise<T>;
    if (entry && entry.staleUntil > now) {
      if (!entry.refreshing) {
        entry.refreshing = true;
        const next = compute();
        next.then(
          (v) => {
            if (this.entries.get(key) === entry) this.settle(key, next, v);
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

  private touch(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.totalBytes -= entry.bytes;
    this.entries.delete(key);
  }

  private start<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const value = compute();
    const entry: Entry = { value, freshUntil: Infinity, staleUntil: Infinity, refreshing: false, bytes: 0 };
    this.remove(key);
    this.entries.set(key, entry);
    value.then(
      (v) => {
        if (this.entries.get(key) === entry) this.settle(key, value, v);
      },
      () => {
        if (this.entries.get(key) === entry) this.remove(key);
      },
    );
    this.evict();
    return value;
  }

  /** The TTL counts from when an answer exists, not from when it was asked for. */
  private settle(key: string, value: Promise<unknown>, resolved: unknown): void {
    const at = Date.now();
    const bytes = this.sizeOf(resolved) + key.length * 2;
    this.remove(key);
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { value, freshUntil: at + this.ttlMs, staleUntil: at + this.ttlMs + this.maxStaleMs, refreshing: false, bytes });
    this.totalBytes += bytes;
    this.evict();
  }

  /** Least recently used first, until both bounds hold. */
  private evict(): void {
    for (const key of this.entries.keys()) {
      const overEntries = this.entries.size > this.maxEntries;
      if (!overEntries && this.totalBytes <= this.maxBytes) return;
      // Over bytes only: a computation in flight holds none, so dropping it would free nothing.
      if (overEntries || this.entries.get(key)!.bytes > 0) this.remove(key);
    }
  }

  clear(): void {
    this.entries.clear();
    this.totalBytes = 0;
  }
}
