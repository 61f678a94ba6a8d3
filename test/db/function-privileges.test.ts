/**
 * Nothing internal callable (issue 24, item 12): the functions `anon` and `authenticated` may
 * execute are exactly AUTHENTICATED_FUNCTIONS (each with its reason), none for anon; internal ones
 * answer 42501; the callable ones whose work grows with their arguments do none for a caller
 * without the read claim and refuse ranges too long for their width; the day zone list tells such
 * a caller nothing. And the privileges survive a later file re-creating a function.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { migrate } from '../../src/db/migrate';
import { asRole, createTestDatabase, TestDatabase } from '../helpers/db';
import { AUTHENTICATED_FUNCTIONS } from '../helpers/function-allowlist';
import { migrationsCopy } from '../helpers/migrations-copy';

let db: TestDatabase;
const CLAIM = 'app_metadata.role=admin';

/** Every function in the schema `role` may execute. */
const EXECUTABLE_BY = `SELECT p.oid::regprocedure::text AS sig FROM pg_proc p
  WHERE p.pronamespace = current_schema()::regnamespace AND has_function_privilege($1, p.oid, 'EXECUTE') ORDER BY 1`;

const executable = async (c: { query: Client['query'] }, role: string) => (await c.query<{ sig: string }>(EXECUTABLE_BY, [role])).rows.map((r) => r.sig);

/** In a transaction as `role` with PostgREST-style claims. */
async function as<T>(role: string, claims: object, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: db.apiUrl });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(`SELECT set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ role, ...claims })]);
    await c.query(`SET LOCAL ROLE ${role}`);
    return await fn(c);
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
    await c.end();
  }
}
const customer = { app_metadata: { role: 'customer' } };
const admin = { app_metadata: { role: 'admin' } };

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at) VALUES ('amocrm', 'sync_lead', 'success', 120, now() - interval '2 days')`);
  await db.pool.query(`SELECT integration_add_day_zone('Asia/Kolkata')`);
  await db.pool.query(`UPDATE integration_monitor_settings SET read_claim = $1`, [CLAIM]);
});
afterAll(() => db.drop());

test('authenticated may execute exactly the allowlist, anon nothing', async () => {
  expect(await executable(db.pool, 'authenticated')).toEqual(Object.keys(AUTHENTICATED_FUNCTIONS).sort());
  expect(await executable(db.pool, 'anon')).toEqual([]);
});

test('internal functions answer 42501 to authenticated, even with the claim', async () => {
  for (const sql of [
    `SELECT integration_read_claim()`,
    `SELECT integration_day_start(now())`,
    `SELECT * FROM integration_log_partitions()`,
    `SELECT * FROM integration_day_zones()`,
    `SELECT integration_keep_day_zone('Asia/Tokyo')`,
    `SELECT integration_fill_zone_hours('Asia/Kolkata', now())`,
  ]) {
    await expect(as('authenticated', admin, (c) => c.query(sql))).rejects.toMatchObject({ code: '42501' });
  }
});

describe('argument-bound work', () => {
  const YEAR_OF_MINUTES = `SELECT count(*)::int AS n FROM integration_zone_buckets('2000-01-01', '2001-01-01', '1 minute', 'Asia/Kolkata')`;

  test('without the claim: no buckets and no work (the 527,040 minute labels are never made)', async () => {
    const { rows } = await as('authenticated', customer, (c) => c.query(YEAR_OF_MINUTES));
    expect(rows).toEqual([{ n: 0 }]);
    // every label is a generate_series over one of integration_zone_pieces' rows: no piece, no label
    // made (the year's labels take seconds when they are made)
    const pieces = await as('authenticated', customer, (c) => c.query(`SELECT count(*)::int AS n FROM integration_zone_pieces('2000-01-01', '2001-01-01', '1 minute', 'Asia/Kolkata')`));
    expect(pieces.rows).toEqual([{ n: 0 }]);
    const plan = await as('authenticated', customer, (c) => c.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${YEAR_OF_MINUTES}`));
    const made: number[] = [];
    const walk = (n: { 'Node Type': string; 'Function Name'?: string; 'Actual Rows': number; 'Actual Loops': number; Plans?: unknown[] }) => {
      if (n['Function Name'] === 'generate_series') made.push(n['Actual Rows'] * n['Actual Loops']);
      for (const k of n.Plans ?? []) walk(k as typeof n);
    };
    walk(plan.rows[0]['QUERY PLAN'][0].Plan);
    expect(made.length).toBeGreaterThan(0); // inlined: the series are in the plan, so their rows are counted
    expect(made.reduce((a, b) => a + b, 0)).toBe(0);
  });

  test('with the claim (and as service_role): too long a range for its width is a clear 22023', async () => {
    const refusal = { code: '22023', message: expect.stringMatching(/^range too long for its bucket width: 527040 minutes at a width under an hour \(at most 302400/) };
    await expect(as('authenticated', admin, (c) => c.query(YEAR_OF_MINUTES))).rejects.toMatchObject(refusal);
    await expect(asRole(db.pool, 'service_role', (c) => c.query(YEAR_OF_MINUTES))).rejects.toMatchObject(refusal);
    await expect(asRole(db.pool, 'service_role', (c) => c.query(`SELECT count(*) FROM integration_range_agg('2000-01-01', '2001-03-01', '1 hour', 'Asia/Kolkata')`))).rejects.toMatchObject({
      code: '22023',
      message: expect.stringMatching(/hours at a width under a day/),
    });
  });

  test('what the API and dashboards ask for still works: 400 days of hours, 2 days of minutes', async () => {
    const hours = await as('authenticated', admin, (c) => c.query(`SELECT count(*)::int AS n FROM integration_zone_buckets(now() - interval '400 days', now(), '1 hour', 'Asia/Kolkata')`));
    expect(hours.rows[0].n).toBeGreaterThanOrEqual(9600);
    const minutes = await as('authenticated', admin, (c) => c.query(`SELECT count(*)::int AS n FROM integration_range_agg(now() - interval '3 days', now(), '7 minutes', 'Asia/Kolkata')`));
    expect(minutes.rows[0].n).toBe(1);
  });
});

test('integration_day_zone tells a caller without the claim nothing; with it, the zone and its first day', async () => {
  const ask = `SELECT zone, complete_from IS NOT NULL AS complete FROM integration_day_zone('asia/kolkata')`;
  expect((await as('authenticated', customer, (c) => c.query(ask))).rows).toEqual([]);
  expect((await as('authenticated', admin, (c) => c.query(ask))).rows).toEqual([{ zone: 'Asia/Kolkata', complete: true }]);
  expect((await asRole(db.pool, 'service_role', (c) => c.query(ask))).rows).toEqual([{ zone: 'Asia/Kolkata', complete: true }]);
  await expect(as('authenticated', admin, (c) => c.query(`DELETE FROM integration_monitor_day_zones`))).rejects.toMatchObject({ code: '42501' });
});

test('a later file re-creating a function does not leave it callable: the privileges file runs again', async () => {
  const fresh = await createTestDatabase({ migrated: false });
  const dir = migrationsCopy(
    fs.readdirSync(path.join(__dirname, '../../migrations')).filter((f) => f.endsWith('.sql')),
    true,
  );
  try {
    await migrate(fresh.url, { dir });
    expect(await executable(fresh.pool, 'anon')).toEqual([]);
    // A sibling's change to the zone readers: 06 runs again and re-creates integration_day_zone
    // (DROP + CREATE: PUBLIC may execute it again), and a new internal function appears.
    fs.appendFileSync(path.join(dir, 'repeatable/06_zone_reads.sql'), `\nCREATE OR REPLACE FUNCTION integration_new_helper() RETURNS int LANGUAGE sql IMMUTABLE RETURN 1;\n`);
    const { reapplied } = await migrate(fresh.url, { dir });
    expect(reapplied).toEqual(['repeatable/06_zone_reads.sql', 'repeatable/20_function_privileges.sql']);
    expect(await executable(fresh.pool, 'anon')).toEqual([]);
    expect(await executable(fresh.pool, 'authenticated')).toEqual(Object.keys(AUTHENTICATED_FUNCTIONS).sort());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await fresh.drop();
  }
});
