/**
 * Who is calling. Tokens are Supabase-compatible HS256 JWTs whose `role` claim names a Postgres
 * role; each request then runs in one transaction as that role with the claims in
 * `request.jwt.claims` (src/store/role-transaction.ts), so Postgres grants and RLS — not code
 * here — decide what the caller may read.
 */
import { errors as joseErrors, jwtVerify, JWTPayload } from 'jose';
import { type Claims, isRole } from '../store/role-transaction';
import { HttpError } from './errors';
import { JwksUnavailableError } from './jwks';
import { TokenKeys, tokenKeys } from './token-keys';

const unauthorized = (message: string) => new HttpError(401, message);

export type Verifier = (authorization: string | undefined) => Promise<Claims>;

/** Registered claims this API reads, and the JSON type each must have when present. */
const STRING_CLAIMS = ['role', 'sub', 'iss', 'jti'] as const;

/**
 * A signature proves who wrote a token, not that its claims have the types code expects: an
 * object `role` (`{"toString": 1}`) made String() throw, a 500 with a stack. Claims we read are
 * checked here, once, so nothing after relies on luck; claims we do not read may hold anything.
 */
function checkClaimTypes(payload: JWTPayload): void {
  for (const name of STRING_CLAIMS) {
    if (payload[name] !== undefined && typeof payload[name] !== 'string') throw unauthorized(`invalid token: the ${name} claim must be a string`);
  }
  const aud = payload.aud as unknown;
  if (aud !== undefined && typeof aud !== 'string' && !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))) {
    throw unauthorized('invalid token: the aud claim must be a string or a list of strings');
  }
}

/** What a token must satisfy beyond its signature (see TokenRules in ../config). */
export interface VerifyOptions {
  /** Longest accepted lifetime in seconds (exp − iat, and exp − now); default one year. */
  maxTtlSeconds?: number;
  issuer?: string;
  audience?: string;
}

/** Clocks disagree a little; an iat/nbf further in the future than this is refused. */
const CLOCK_SKEW_SECONDS = 60;
const YEAR_SECONDS = 31_557_600;

/**
 * Checks `Authorization: Bearer <jwt>`; 401 for anything not a valid, current token, 403 for a role
 * we do not know, 503 when the JWKS its key would come from cannot be fetched. `keys`: an HS256
 * secret, or tokenKeys() for a JWKS (and a secret). A token must carry `exp`, may not live longer
 * than `maxTtlSeconds`, may not be issued (iat) or become valid (nbf) more than CLOCK_SKEW_SECONDS
 * from now, and must name the configured issuer and audience when those are set.
 */
export function createVerifier(keys: string | TokenKeys, opts: VerifyOptions = {}): Verifier {
  const { key, algorithms } = typeof keys === 'string' ? tokenKeys({ secret: keys }) : keys;
  const maxTtl = opts.maxTtlSeconds ?? YEAR_SECONDS;
  return async (authorization) => {
    if (!authorization) throw unauthorized('missing Authorization: Bearer <token>');
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization.trim());
    if (!match) throw unauthorized('Authorization must be "Bearer <JWT>"');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(match[1], key, {
        algorithms,
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_SKEW_SECONDS,
        ...(opts.issuer ? { issuer: opts.issuer } : {}),
        ...(opts.audience ? { audience: opts.audience } : {}),
      }));
    } catch (err) {
      if (err instanceof JwksUnavailableError) throw new HttpError(503, 'token signing keys are unavailable; try again shortly');
      if (err instanceof joseErrors.JWTExpired) throw unauthorized('token expired');
      if (err instanceof joseErrors.JWTClaimValidationFailed) {
        const claim = err.claim;
        if (claim === 'exp') throw unauthorized('token has no exp (expiry); every token must expire');
        if (claim === 'nbf') throw unauthorized('token not valid yet (nbf is in the future)');
        if (claim === 'iss') throw unauthorized('token issuer not accepted');
        if (claim === 'aud') throw unauthorized('token audience not accepted');
      }
      throw unauthorized('invalid token');
    }
    checkClaimTypes(payload);
    const now = Math.floor(Date.now() / 1000);
    const exp = payload.exp as number;
    // The skew allowance is for tokens from a clock a little ahead (iat, nbf), never past expiry.
    if (exp <= now) throw unauthorized('token expired');
    if (typeof payload.iat === 'number' && payload.iat > now + CLOCK_SKEW_SECONDS) throw unauthorized('token issued in the future (iat)');
    if (exp - now > maxTtl || (typeof payload.iat === 'number' && exp - payload.iat > maxTtl)) {
      throw unauthorized(`token lifetime exceeds the allowed ${maxTtl} s (MONITOR_JWT_MAX_TTL)`);
    }
    // Supabase/PostgREST treat a token without a role as the anonymous role.
    const role = (payload.role as string | undefined) ?? 'anon';
    if (!isRole(role)) throw new HttpError(403, `unknown role ${JSON.stringify(role).slice(0, 60)}`);
    return { ...payload, role };
  };
}
