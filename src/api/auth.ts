/**
 * Who is calling, and running their request as them. Tokens are Supabase-compatible HS256 JWTs
 * whose `role` claim names a Postgres role; each request then runs in one transaction as that role
 * with the claims in `request.jwt.claims`, so Postgres grants and RLS — not code here — decide what
 * the caller may read.
 */
import { errors as joseErrors, jwtVerify, JWTPayload } from 'jose';
import type { Pool, PoolClient } from 'pg';
import { HttpError } from './errors';
import { JwksUnavailableError } from './jwks';
import { TokenKeys, tokenKeys } from './token-keys';

/** The only roles a token may switch to; anything else never reaches SQL. */
export const ROLES = ['anon', 'authenticated', 'service_role'] as const;
export type Role = (typeof ROLES)[number];

export interface Claims extends JWTPayload {
  role: Role;
}

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

const unauthorized = (message: string) => new HttpError(401, message);

export type Verifier = (authorization: string | undefined) => Promise<Claims>;

/**
 * Checks `Authorization: Bearer <jwt>`; 401 for anything not a valid, current token, 403 for a role
 * we do not know, 503 when the JWKS its key would come from cannot be fetched. `keys`: an HS256
 * secret, or tokenKeys() for a JWKS (and a secret).
 */
export function createVerifier(keys: string | TokenKeys): Verifier {
  const { key, algorithms } = typeof keys === 'string' ? tokenKeys({ secret: keys }) : keys;
  return async (authorization) => {
    if (!authorization) throw unauthorized('missing Authorization: Bearer <token>');
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization.trim());
    if (!match) throw unauthorized('Authorization must be "Bearer <JWT>"');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(match[1], key, { algorithms }));
    } catch (err) {
      if (err instanceof JwksUnavailableError) throw new HttpError(503, 'token signing keys are unavailable; try again shortly');
      if (err instanceof joseErrors.JWTExpired) throw unauthorized('token expired');
      throw unauthorized('invalid token');
    }
    // Supabase/PostgREST treat a token without a role as the anonymous role.
    const role = payload.role ?? 'anon';
    if (!isRole(role)) throw new HttpError(403, `unknown role ${JSON.stringify(String(role)).slice(0, 60)}`);
    return { ...payload, role };
  };
}

export interface TransactionOptions {
  readOnly?: boolean;
  /** Per-statement cap, so one pathological query cannot hold a pool connection for long. */
  statementTimeoutMs?: number;
}

/**
 * Runs `fn` in one transaction as the caller: claims in `request.jwt.claims` (transaction-local)
 * and `SET LOCAL ROLE`. Commits on success, rolls back on error; a connection that fails to roll
 * back is discarded rather than returned to the pool in an unknown state.
 */
export async function withRoleTransaction<T>(pool: Pool, claims: Claims, fn: (db: PoolClient) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
  // Re-checked here because this is the one place a value is spliced into SQL text.
  if (!isRole(claims.role)) throw new HttpError(403, 'unknown role');
  const timeout = Math.max(1, Math.floor(opts.statementTimeoutMs ?? 15_000));
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    // One round trip: the role is from the allow-list above and the timeout is an integer.
    await client.query(`BEGIN${opts.readOnly === false ? '' : ' READ ONLY'}; SET LOCAL ROLE ${claims.role}; SET LOCAL statement_timeout = ${timeout}`);
    await client.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => {
      broken = e;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}
