/**
 * Running a request's statements as its caller: one transaction as the Postgres role its token
 * names, with the token's claims in `request.jwt.claims`, so grants and RLS decide what it reads.
 * The API runs every request through here; the CLI its service_role tasks.
 */
import type { JWTPayload } from 'jose';
import type { Pool, PoolClient } from 'pg';
import { withClient } from './db-session';

/** The only roles a token may switch to; anything else never reaches SQL. */
export const ROLES = ['anon', 'authenticated', 'service_role'] as const;
export type Role = (typeof ROLES)[number];

export interface Claims extends JWTPayload {
  role: Role;
}

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** A role outside ROLES reached the one place a role is spliced into SQL (the API answers 403). */
export class UnknownRole extends Error {
  constructor(role: unknown) {
    super(`unknown role ${JSON.stringify(role)?.slice(0, 60)}`);
    this.name = 'UnknownRole';
  }
}

export interface TransactionOptions {
  readOnly?: boolean;
  /** Budget of the whole transaction (connect + statements), after which the caller gets a 503; default 5 s. */
  timeoutMs?: number;
}

/**
 * Runs `fn` in one transaction as the caller: claims in `request.jwt.claims` (transaction-local)
 * and `SET LOCAL ROLE`. Commits on success, rolls back on error; a connection that fails to roll
 * back, errors, or outlives the budget is discarded rather than returned to the pool.
 */
export async function withRoleTransaction<T>(pool: Pool, claims: Claims, fn: (db: PoolClient) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
  // Re-checked here because this is the one place a value is spliced into SQL text.
  if (!isRole(claims.role)) throw new UnknownRole(claims.role);
  const budget = Math.max(1, Math.floor(opts.timeoutMs ?? 5000));
  return withClient(pool, budget, async (client, discard, remainingMs) => {
    // The server cancels a slow statement a little before the client-side deadline (what connecting
    // took is already spent), so a merely slow query ends as Postgres' own cancel and the
    // connection is kept; the deadline is for a server that does not answer at all.
    const statementTimeout = Math.max(1, Math.floor(remainingMs() * 0.8));
    // One round trip: the role is from the allow-list above and the timeout is an integer.
    await client.query(`BEGIN${opts.readOnly === false ? '' : ' READ ONLY'}; SET LOCAL ROLE ${claims.role}; SET LOCAL statement_timeout = ${statementTimeout}`);
    try {
      await client.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(discard);
      throw err;
    }
  });
}
