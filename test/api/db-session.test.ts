/**
 * The per-request database borrow (src/store/db-session.ts via withRoleTransaction): a slow statement
 * is cancelled by PostgreSQL within the budget (connection kept), a silent one is given up on
 * client-side (connection destroyed), and a checked-out connection killed mid-request is an error
 * for that request only — never an unhandled 'error' event.
 */
import { withRoleTransaction } from '../../src/store/role-transaction';
import { DatabaseTimeout, withClient } from '../../src/store/db-session';
import { toErrorResponse } from '../../src/api/errors';
import { createApiPool } from '../../src/db/pool';
import { createTestDatabase, TestDatabase } from '../helpers/db';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

it("a slow statement ends as PostgreSQL's own cancel within the budget (503), and the connection is reused", async () => {
  const pool = createApiPool(db.apiUrl, 1000, 2);
  try {
    const t0 = Date.now();
    const err = await withRoleTransaction(pool, { role: 'authenticated' }, (c) => c.query('SELECT pg_sleep(3)'), { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect((err as { code?: string }).code).toBe('57014');
    expect(toErrorResponse(err as never).status).toBe(503);
    expect(pool.totalCount).toBe(1); // kept: the statement was cancelled, the connection is fine
    const ok = await withRoleTransaction(pool, { role: 'authenticated' }, (c) => c.query('SELECT current_user AS u'), { timeoutMs: 1000 });
    expect(ok.rows[0].u).toBe('authenticated');
  } finally {
    await pool.end();
  }
});

it('work that never finishes is given up at the deadline: 503, and the connection is destroyed', async () => {
  const pool = createApiPool(db.apiUrl, 1000, 2);
  try {
    const t0 = Date.now();
    const err = await withClient(pool, 500, () => new Promise(() => undefined)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseTimeout);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(490);
    expect(Date.now() - t0).toBeLessThan(900);
    expect(toErrorResponse(err as never)).toEqual({ status: 503, body: { error: expect.stringMatching(/did not answer within 500 ms/) } });
    await new Promise((r) => setTimeout(r, 50));
    expect(pool.totalCount).toBe(0);
  } finally {
    await pool.end();
  }
});

it('a checked-out connection terminated mid-request fails that request only; the next one reconnects', async () => {
  const pool = createApiPool(db.apiUrl, 2000, 2);
  const unhandled: unknown[] = [];
  const onUncaught = (e: unknown) => unhandled.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    const err = await withRoleTransaction(
      pool,
      { role: 'authenticated' },
      async (c) => {
        const { rows } = await c.query('SELECT pg_backend_pid() AS pid');
        await db.pool.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
        await new Promise((r) => setTimeout(r, 200)); // the 'error' event arrives while checked out
        return c.query('SELECT 1');
      },
      { timeoutMs: 2000 },
    ).catch((e: unknown) => e);
    expect(toErrorResponse(err as never).status).toBe(503);
    const ok = await withRoleTransaction(pool, { role: 'authenticated' }, (c) => c.query('SELECT 1 AS one'), { timeoutMs: 2000 });
    expect(ok.rows[0].one).toBe(1);
    expect(unhandled).toEqual([]);
  } finally {
    process.off('uncaughtException', onUncaught);
    await pool.end();
  }
});
