/**
 * Issue 25 on stock PostgreSQL: a database that already ran the seed's MIGRATION 004 (built
 * literally, bench/seed-schema.ts) and holds 40 days of calls is adopted by `migrate`: every row
 * kept as it was (checksummed; a NULL created_at given the documented value and counted), all of it
 * in weekly partitions, the rollups exact, the seed's views/policies/indexes/cleanup function ours
 * under the same names, RLS as the seed's, doctor all ✔, the writers' PostgREST requests keeping
 * their meaning, and a second migrate doing nothing.
 */
import { SEED_SCHEMA_SQL } from '../../bench/seed-schema';
import { runDoctor } from '../../src/cli/doctor';
import { SEED_ASIDE } from '../../src/db/adopt-seed';
import { migrate, MigrateResult } from '../../src/db/migrate';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { postgrest } from '../helpers/postgrest';
import { buildSeed004, checksum, expectedAfterAdoption, expectRollupsExact, Rows, rowsOf } from '../helpers/seed004';
import { expectSameRows } from '../helpers/time-zones';

jest.setTimeout(120_000);

let db: TestDatabase;
let before: Rows;
let result: MigrateResult;
const lines: string[] = [];
const doctorBefore: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
  await buildSeed004(db.pool, { rows: 20_000, days: 40, plainGrants: true });
  // Something of the user's own on the seed's table: a view over it and a trigger keeping updated_at.
  await db.pool.query(`CREATE VIEW my_failures AS SELECT * FROM integration_logs WHERE status = 'failed';
    CREATE FUNCTION my_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
    CREATE TRIGGER my_touch BEFORE UPDATE ON integration_logs FOR EACH ROW EXECUTE FUNCTION my_touch()`);
  before = await rowsOf(db.pool, 'integration_logs');
  await runDoctor(db.url, (l) => doctorBefore.push(l));
  result = await migrate(db.url, { log: (l) => lines.push(l), adoption: { batchRows: 3000 } });
});
afterAll(async () => {
  await db?.drop();
});

test('every row is kept as it was (checksummed); a NULL created_at becomes updated_at, or the swap time, and is counted', async () => {
  expect(result.adoption?.swapped).toBe(true);
  const after = await rowsOf(db.pool, 'integration_logs');
  const { rows } = await db.pool.query(`SELECT to_char(swapped_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS t FROM integration_monitor_adoption`);
  const expected = expectedAfterAdoption(before, rows[0].t);
  expect(after.size).toBe(before.size);
  expect(checksum(after)).toBe(checksum(expected));
  const nulls = [...before.values()].filter((r) => r.created_at === null);
  expect(nulls.length).toBeGreaterThan(0);
  expect(result.adoption?.finished).toMatchObject({
    sourceRows: before.size,
    copied: before.size,
    nullCreatedAt: nulls.length,
    nullCreatedAndUpdatedAt: nulls.filter((r) => r.updated_at === null).length,
  });
  expect(lines).toEqual(
    expect.arrayContaining([expect.stringMatching(new RegExp(`^adopt: done, ${before.size} of ${before.size} rows .*${nulls.length} rows had no created_at.*DROP TABLE ${SEED_ASIDE}`))]),
  );
  // The old table is kept, untouched.
  expect(checksum(await rowsOf(db.pool, SEED_ASIDE))).toBe(checksum(before));
});

test('before: doctor says the seed’s table is not adopted yet and what to run; after: the user’s own view and trigger are named', () => {
  expect(doctorBefore).toEqual(
    expect.arrayContaining([expect.stringMatching(/^✘ table integration_logs present .*the seed's MIGRATION 004 table, not adopted yet — run `integration-monitor migrate`/)]),
  );
  expect(lines).toEqual(expect.arrayContaining([`adopt: WARNING: trigger my_touch, view my_failures stay on ${SEED_ASIDE}; create them again on integration_logs`]));
});

test('all of it in weekly partitions: nothing in DEFAULT', async () => {
  const { rows } = await db.pool.query(
    `SELECT (SELECT relkind FROM pg_class WHERE oid = 'integration_logs'::regclass)::text AS kind,
            (SELECT count(*) FROM integration_logs_default)::int AS in_default,
            (SELECT count(*) FROM integration_log_partitions())::int AS weeks`,
  );
  expect(rows[0]).toMatchObject({ kind: 'p', in_default: 0 });
  expect(rows[0].weeks).toBeGreaterThanOrEqual(6);
});

test('rollups and histograms are exact', async () => {
  expect(await expectRollupsExact(db.pool)).toBeGreaterThan(500);
});

test('the seed’s views, policies, indexes and cleanup function are ours under the same names; its own are kept on the old table', async () => {
  const { rows: fns } = await db.pool.query(`SELECT pg_get_function_result(oid) AS r, pg_get_function_arguments(oid) AS a FROM pg_proc WHERE proname = 'cleanup_old_integration_logs'`);
  expect(fns).toEqual([{ r: 'bigint', a: "retention interval DEFAULT '90 days'::interval" }]);
  // What the seed's cron job would call still runs, now returning the rows removed.
  expect((await db.pool.query(`SELECT cleanup_old_integration_logs() AS n`)).rows[0].n).toBe('0');
  const { rows: views } = await db.pool.query(`SELECT c.relname, c.reloptions::text[] AS o FROM pg_class c WHERE c.relname IN ('integration_stats_hourly', 'integration_stats_daily') ORDER BY 1`);
  expect(views).toEqual([
    { relname: 'integration_stats_daily', o: ['security_invoker=true'] },
    { relname: 'integration_stats_hourly', o: ['security_invoker=true'] },
  ]);
  const { rows: pols } = await db.pool.query(`SELECT tablename, policyname FROM pg_policies WHERE tablename IN ('integration_logs', $1) ORDER BY 1, 2`, [SEED_ASIDE]);
  expect(pols.filter((p) => p.tablename === 'integration_logs').map((p) => p.policyname)).toEqual(expect.arrayContaining(['integration_logs_read_authenticated', 'integration_logs_service_role_all']));
  expect(pols.filter((p) => p.tablename === SEED_ASIDE).map((p) => p.policyname)).toEqual(['integration_logs_read_authenticated', 'integration_logs_service_role_all']);
  const { rows: idx } = await db.pool.query(`SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1`, [SEED_ASIDE]);
  expect(idx.map((r) => r.name)).toEqual([
    'idx_integration_logs_seed004_created_at',
    'idx_integration_logs_seed004_entity',
    'idx_integration_logs_seed004_failed',
    'idx_integration_logs_seed004_service_name',
    'idx_integration_logs_seed004_service_status',
    'idx_integration_logs_seed004_status',
    'integration_logs_seed004_pkey',
  ]);
  const { rows: ours } = await db.pool.query(`SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = 'integration_logs'::regclass`);
  expect(ours.map((r) => r.name)).toEqual(expect.arrayContaining(['integration_logs_pkey', 'idx_integration_logs_service_name', 'idx_integration_logs_failed']));
});

test('the views answer what the seed’s own view SQL answers on the same rows (UTC and UTC+5)', async () => {
  await db.pool.query(SEED_SCHEMA_SQL);
  await db.pool.query(`INSERT INTO seed.integration_logs SELECT * FROM public.integration_logs`);
  const c = await db.pool.connect();
  try {
    for (const zone of ['UTC', 'Asia/Almaty']) {
      await c.query('BEGIN');
      await c.query(`SELECT set_config('TimeZone', $1, true)`, [zone]);
      const hourly = 'service_name, action, status, hour AS bucket, count, avg_duration_ms, min_duration_ms, max_duration_ms';
      const daily = `service_name, action, status, day AS bucket, count, avg_duration_ms, min_duration_ms, max_duration_ms, failed_count, success_count`;
      const oursH = (await c.query(`SELECT ${hourly} FROM public.integration_stats_hourly`)).rows;
      const seedH = (await c.query(`SELECT ${hourly} FROM seed.integration_stats_hourly`)).rows;
      const oursD = (await c.query(`SELECT ${daily} FROM public.integration_stats_daily`)).rows;
      const seedD = (await c.query(`SELECT ${daily} FROM seed.integration_stats_daily`)).rows;
      await c.query('ROLLBACK');
      expect(seedH.length).toBeGreaterThan(20);
      expect(seedD.length).toBeGreaterThan(300);
      expectSameRows(oursH, seedH, `${zone} hourly`);
      expectSameRows(oursD, seedD, `${zone} daily`);
    }
  } finally {
    c.release();
  }
});

test('the writers’ PostgREST requests as service_role keep their meaning; upsert on id alone says what to use instead', async () => {
  const api = postgrest(db.pool, 'service_role');
  // insert without id/created_at, then update by id from pending to success, then select by id
  const [made] = await api.insert({ service_name: 'amocrm', action: 'sync_lead', status: 'pending', request_payload: { lead: 1 } });
  expect(made).toMatchObject({ status: 'pending', retry_count: 0 });
  const [done] = await api.updateById(made.id as string, { status: 'success', duration_ms: 321, response_payload: { ok: true } });
  expect(done).toMatchObject({ id: made.id, status: 'success', duration_ms: 321 });
  expect(await api.selectById(made.id as string)).toEqual([done]);
  // insert with id and created_at (a call logged late), then marked failed
  const id = '2d37c150-654b-43a8-83c1-c3887d987f26';
  await api.insert([{ id, service_name: 'resend', action: 'send_email', status: 'pending', created_at: '2025-12-30T14:49:59.257003Z' }]);
  expect(await api.updateById(id, { status: 'failed', error_message: 'upstream 502' })).toHaveLength(1);
  // an old row, copied in a batch, updated by id
  const old = [...before.values()].find((r) => r.status === 'success' && r.created_at !== null)!;
  expect(await api.updateById(old.id!, { retry_count: 7 })).toEqual([expect.objectContaining({ id: old.id, retry_count: 7 })]);
  // upsert on id: Postgres refuses the conflict target (the key is (id, created_at)); the documented replacement works
  await expect(api.upsert({ id, service_name: 'resend', action: 'send_email', status: 'success' }, ['id'])).rejects.toMatchObject({ code: '42P10' });
  const [row] = await api.selectById(id);
  const [merged] = await api.upsert({ id, created_at: row.created_at, service_name: 'resend', action: 'send_email', status: 'success' }, ['id', 'created_at']);
  expect(merged).toMatchObject({ id, status: 'success', error_message: 'upstream 502' });
  expect(await api.selectById(id)).toHaveLength(1);
  // the rollups followed every one of those writes
  await expectRollupsExact(db.pool);
});

test('RLS as the seed’s: authenticated reads everything unless a read claim is set, anon nothing, neither writes', async () => {
  const total = Number((await db.pool.query(`SELECT count(*) FROM integration_logs`)).rows[0].count);
  const countAs = async (role: string) => {
    const c = await db.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(`SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)`, [role, JSON.stringify({ role })]);
      return Number((await c.query(`SELECT count(*) FROM integration_logs`)).rows[0].count);
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  };
  expect(await countAs('authenticated')).toBe(total);
  expect(await countAs('service_role')).toBe(total);
  await expect(countAs('anon')).rejects.toMatchObject({ code: '42501' }); // the seed's anon saw no rows; ours cannot even ask
  await expect(postgrest(db.pool, 'authenticated').insert({ service_name: 'x', action: 'y', status: 'success' })).rejects.toMatchObject({ code: '42501' });
  await db.pool.query(`UPDATE integration_monitor_settings SET read_claim = 'app_metadata.role=admin'`);
  try {
    expect(await countAs('authenticated')).toBe(0);
  } finally {
    await db.pool.query(`UPDATE integration_monitor_settings SET read_claim = NULL`);
  }
});

test('doctor (as the API’s role): all ✔, the adoption and the old table to drop reported', async () => {
  const out: string[] = [];
  const code = await runDoctor(db.apiUrl, (l) => out.push(l));
  expect(out.filter((l) => l.startsWith('✘'))).toEqual([]);
  expect(out).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^✔ adoption of MIGRATION 004 .*${before.size} rows.*DROP TABLE ${SEED_ASIDE}`))]));
  expect(code).toBe(0);
});

test('a second migrate changes nothing', async () => {
  const snapshot = checksum(await rowsOf(db.pool, 'integration_logs'));
  const again: string[] = [];
  const second = await migrate(db.url, { log: (l) => again.push(l) });
  expect(second).toEqual({ applied: [], skipped: expect.any(Array), reapplied: [] });
  expect(again).toEqual([]);
  expect(checksum(await rowsOf(db.pool, 'integration_logs'))).toBe(snapshot);
});
