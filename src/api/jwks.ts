/**
 * Public keys from a JWKS URL (MONITOR_JWKS_URL; on Supabase
 * https://<project>.supabase.co/auth/v1/.well-known/jwks.json) for ES256/RS256 tokens.
 *
 * Keys are cached and refreshed after `maxAgeMs` (rotation); a token whose `kid` is not in the cache
 * triggers one refetch, at most once per `unknownKidRefetchMs` whatever the callers send (random
 * kids cannot turn the API into a JWKS flooder). Every fetch has a timeout; after a failed fetch the
 * next `failureRetryMs` answer from the cache (or "unavailable") without fetching again. When no
 * keys can be had, verification fails with JwksUnavailableError (the API's 503), never a hang.
 * Key selection (kty/crv must fit the token's alg, use/key_ops/alg of the JWK honoured) is jose's
 * createLocalJWKSet.
 */
import { createLocalJWKSet, errors as joseErrors, JWTVerifyGetKey } from 'jose';

export class JwksUnavailableError extends Error {}

export interface JwksOptions {
  /** Whole fetch, body included (default 5 s). */
  timeoutMs?: number;
  /** Refetch keys this old (default 10 min). */
  maxAgeMs?: number;
  /** At most one refetch for an unknown kid per this interval (default 30 s). */
  unknownKidRefetchMs?: number;
  /** After a failed fetch, do not try again for this long (default 5 s). */
  failureRetryMs?: number;
  /** Called on each failed fetch and on recovery; never given a token. */
  log?: (event: { msg: string; url: string; error?: string }) => void;
}

/** The algorithms accepted from a JWKS: what Supabase's asymmetric signing keys use. */
export const JWKS_ALGORITHMS = ['ES256', 'RS256'];

export function createJwksKeySet(url: string, opts: JwksOptions = {}): JWTVerifyGetKey {
  const parsed = new URL(url); // throws on a malformed URL at startup, not on the first request
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error(`MONITOR_JWKS_URL must be an http(s) URL, got ${parsed.protocol}`);
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const maxAgeMs = opts.maxAgeMs ?? 10 * 60_000;
  const unknownKidRefetchMs = opts.unknownKidRefetchMs ?? 30_000;
  const failureRetryMs = opts.failureRetryMs ?? 5_000;
  const log = opts.log ?? (() => undefined);

  let keys: ReturnType<typeof createLocalJWKSet> | undefined;
  let fetchedAt = 0;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let failing = false;
  let pending: Promise<void> | undefined;

  /** One fetch at a time: concurrent callers share it. */
  const load = (): Promise<void> =>
    (pending ??= (async () => {
      attemptedAt = Date.now();
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        keys = createLocalJWKSet((await res.json()) as Parameters<typeof createLocalJWKSet>[0]);
        fetchedAt = Date.now();
        if (failing) log({ msg: 'JWKS reachable again', url });
        failing = false;
      } catch (err) {
        failing = true;
        const error = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message;
        log({ msg: 'JWKS fetch failed', url, error });
        throw new JwksUnavailableError(`signing keys could not be fetched (${error})`);
      } finally {
        pending = undefined;
      }
    })());

  /** Keys to verify with: cached, refreshed when old; stale keys serve while the JWKS is down. */
  async function current(): Promise<NonNullable<typeof keys>> {
    const now = Date.now();
    if (keys && now - fetchedAt < maxAgeMs) return keys;
    if (failing && now - attemptedAt < failureRetryMs) {
      if (keys) return keys;
      throw new JwksUnavailableError('signing keys could not be fetched (retrying shortly)');
    }
    try {
      await load();
    } catch (err) {
      if (!keys) throw err;
    }
    return keys!;
  }

  return async (header, token) => {
    const set = await current();
    try {
      return await set(header, token);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || Date.now() - attemptedAt < unknownKidRefetchMs) throw err;
    }
    // An unknown kid may be a key published since the last fetch (rotation): look once more.
    await load();
    return keys!(header, token);
  };
}
