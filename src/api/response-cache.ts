/**
 * A short-lived cache of aggregate responses, keyed by the caller's exact token and URL. A
 * dashboard of many panels refreshing together (and several people watching it) asks the same
 * questions over and over; within `ttlMs` they share one database round, and identical requests
 * arriving while it runs wait for it instead of starting their own (single flight).
 *
 * Keying by the token keeps RLS in charge: an answer is only ever reused for the very token whose
 * role and claims Postgres produced it for. Failures are never cached.
 */
export class ResponseCache {
  private readonly entries = new Map<string, { expires: number; value: Promise<unknown> }>();

  constructor(
    readonly ttlMs: number,
    private readonly maxEntries = 1000,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  async get<T>(key: string, compute: () => Promise<T>): Promise<T> {
    if (!this.enabled) return compute();
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > now) return hit.value as Promise<T>;
    if (hit) this.entries.delete(key);
    const value = compute();
    this.entries.set(key, { expires: now + this.ttlMs, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    // Oldest first (Map keeps insertion order): drop what exceeds the bound.
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return value;
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
