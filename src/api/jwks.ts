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
 *
 * A JWKS is a few keys of a few hundred bytes each; its size and key count are bounded (a 41 MB one
 * took the API from 98 to 365 MB and made every token check 56–171 ms): the body is read as a
 * stream and the fetch aborted past `maxBytes`, and more than `maxKeys` keys is refused. Either is
 * a failed fetch (logged, 503 until a good one). The URL may carry credentials (user:password@ is
 * sent as Basic authorization, since fetch refuses it in a URL) or an `?apikey=`: logs show it
 * with those masked.
 */
import { createLocalJWKSet, errors as joseErrors, JWTVerifyGetKey } from 'jose';
import { redactUrl, redactUrlSecrets } from '../log-redaction';

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
  /** Largest JWKS body accepted (default DEFAULT_JWKS_MAX_BYTES). */
  maxBytes?: number;
  /** Most keys a JWKS may publish (default DEFAULT_JWKS_MAX_KEYS). */
  maxKeys?: number;
  /** Called on each failed fetch and on recovery; never given a token. */
  log?: (event: { msg: string; url: string; error?: string }) => void;
}

/** The algorithms accepted from a JWKS: what Supabase's asymmetric signing keys use. */
export const JWKS_ALGORITHMS = ['ES256', 'RS256'];

/** ~100× a JWKS of a handful of RSA keys: room for rotation, none for a flood. */
export const DEFAULT_JWKS_MAX_BYTES = 256 * 1024;
export const DEFAULT_JWKS_MAX_KEYS = 50;

class JwksRefused extends Error {}

/** The body as text, reading no more than `maxBytes` (announced or streamed); aborts the fetch past it. */
async function boundedText(res: Response, maxBytes: number, abort: AbortController): Promise<string> {
  const announced = Number(res.headers.get('content-length') ?? NaN);
  if (announced > maxBytes) {
    abort.abort();
    throw new JwksRefused(`JWKS is ${announced} bytes, more than the ${maxBytes} accepted`);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      abort.abort();
      await reader.cancel().catch(() => undefined);
      throw new JwksRefused(`JWKS is more than the ${maxBytes} bytes accepted`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The URL fetch may take (no credentials in it) and the headers that carry them instead. */
function request(url: URL): { href: string; headers: Record<string, string> } {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (url.username || url.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  }
  const bare = new URL(url.href);
  bare.username = '';
  bare.password = '';
  return { href: bare.href, headers };
}

export function createJwksKeySet(url: string, opts: JwksOptions = {}): JWTVerifyGetKey {
  const parsed = new URL(url); // throws on a malformed URL at startup, not on the first request
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error(`MONITOR_JWKS_URL must be an http(s) URL, got ${parsed.protocol}`);
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const maxAgeMs = opts.maxAgeMs ?? 10 * 60_000;
  const unknownKidRefetchMs = opts.unknownKidRefetchMs ?? 30_000;
  const failureRetryMs = opts.failureRetryMs ?? 5_000;
  const maxBytes = opts.maxBytes ?? DEFAULT_JWKS_MAX_BYTES;
  const maxKeys = opts.maxKeys ?? DEFAULT_JWKS_MAX_KEYS;
  const log = opts.log ?? (() => undefined);
  const target = request(parsed);
  const shownUrl = redactUrl(url);

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
        const abort = new AbortController();
        const res = await fetch(target.href, { signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), abort.signal]), headers: target.headers });
        if (!res.ok) {
          abort.abort();
          throw new Error(`HTTP ${res.status}`);
        }
        const jwks = JSON.parse(await boundedText(res, maxBytes, abort)) as { keys?: unknown };
        if (Array.isArray(jwks?.keys) && jwks.keys.length > maxKeys) throw new JwksRefused(`JWKS has ${jwks.keys.length} keys, more than the ${maxKeys} accepted`);
        keys = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
        fetchedAt = Date.now();
        if (failing) log({ msg: 'JWKS reachable again', url: shownUrl });
        failing = false;
      } catch (err) {
        failing = true;
        const error = redactUrlSecrets((err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message, url);
        log({ msg: err instanceof JwksRefused ? 'JWKS refused' : 'JWKS fetch failed', url: shownUrl, error });
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
