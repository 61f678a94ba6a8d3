// A database from before 019 holds idx_integration_logs_slowest, an index over every call with a
// duration. 019 replaces it in place by integration_slowest_day, filled from the raw rows: the
// index gone and its bytes returned, each day's 50 slowest kept exactly, the panel's reader exact,
// grants and policies as the other rollup tables', and the triggers exact from the first write after.
import fs from 'node:fs';
import path from 'node:path';
import { Pool } from 'pg';
import { migrate } from '../../src/db/migrate';
import { asRole, createTestDatabase, TestDatabase } from '../helpers/db';
import { migrationsWithout } from '../helpers/migrations-copy';
import { keptVsRaw } from '../helpers/slowest-days';

const T = `'${new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString()}'::timestamptz`;
const ROWS = (n: number, offset: number) => `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at)
  SELECT (ARRAY['amocrm','whapi','resend'])[1 + i % 3], CASE WHEN i % 13 = 0 THEN 'send' ELSE 'sync' END,
         CASE WHEN i % 7 = 0 THEN 'failed' ELSE 'success' END, CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 37) % 5000 END,
         ${T} - i * interval '3 minutes' + (i % 60) * interval '1 second'
  FROM generate_series(${offset}, ${offset + n - 1}) i`;

const indexBytes = async (pool: Pool) => Number((await pool.query(`SELECT sum(pg_indexes_size(relid)) AS b FROM pg_partition_tree('integration_logs') WHERE isleaf`)).rows[0].b);

let db: TestDatabase;
let dir = '';
beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
  // the schema as 018 left it: every numbered file but 019, today's repeatable files but 019's own
  // (16) and the policy of its table
  dir = migrationsWithout('019_slowest_days.sql');
  fs.rmSync(path.join(dir, 'repeatable', '16_slowest_calls.sql'));
  const policies = path.join(dir, 'repeatable', '10_policies.sql');
  const text = fs.readFileSync(policies, 'utf8');
  expect(text).toContain("'integration_slowest_day',");
  fs.writeFileSync(policies, text.replace("'integration_slowest_day',", ''));
});
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await db.drop();
});

test('019 replaces the slowest-calls index in place: bytes returned, each day kept exactly, reader exact, triggers exact after', async () => {
  await migrate(db.url, { dir });
  await db.pool.query(`SELECT count(*) FROM ensure_integration_log_partitions(1, 35)`);
  await db.pool.query(ROWS(14000, 0));
  expect((await db.pool.query(`SELECT to_regclass('idx_integration_logs_slowest') IS NOT NULL AS ok`)).rows[0].ok).toBe(true);
  const before = await indexBytes(db.pool);

  const r = await migrate(db.url);
  expect(r.applied).toEqual(['019_slowest_days.sql']);

  expect((await db.pool.query(`SELECT to_regclass('idx_integration_logs_slowest') IS NOT NULL AS ok`)).rows[0].ok).toBe(false);
  // the index's bytes returned (at this volume, ~80 calls a pair and day, the kept 50 are most of
  // them; at 1M calls the table is 12 MB where the index was 47: docs/scaling.md)
  const slowestBytes = Number((await db.pool.query(`SELECT pg_total_relation_size('integration_slowest_day') AS b`)).rows[0].b);
  expect(slowestBytes).toBeGreaterThan(0);
  expect(await indexBytes(db.pool)).toBeLessThan(before * 0.8);
  const k = await keptVsRaw(db.pool);
  expect(k).toEqual({ missing: 0, stale: 0, misfiled: 0, want: k.want, kept: k.want });
  expect(k.want).toBeGreaterThan(1000);

  // the same grants and policies as a rollup table's
  const acl = async (t: string) =>
    (
      await db.pool.query(
        `SELECT c.relrowsecurity, (SELECT array_agg(a::text ORDER BY a::text) FROM unnest(c.relacl) a) AS acl,
                (SELECT array_agg(p.policyname::text || ' ' || p.roles::text || ' ' || p.qual ORDER BY p.policyname) FROM pg_policies p WHERE p.tablename = c.relname) AS policies
         FROM pg_class c WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace`,
        [t],
      )
    ).rows[0];
  const rollup = await acl('integration_rollup_hour');
  const slowest = await acl('integration_slowest_day');
  expect(slowest.relrowsecurity).toBe(true);
  expect(slowest.acl.map((a: string) => a.replace(/\/.*/, ''))).toEqual(rollup.acl.map((a: string) => a.replace(/\/.*/, '')));
  expect(slowest.policies.map((p: string) => p.replace('integration_slowest_day', 'T'))).toEqual(rollup.policies.map((p: string) => p.replace('integration_rollup_hour', 'T')));

  const same = async () => {
    for (const [from, to] of [
      [`${T} - interval '20 days 17 minutes'`, `${T} - interval '2 days 3 hours'`],
      [`${T} - interval '26 hours'`, `${T} + interval '1 minute'`],
      [`${T} - interval '5 hours 5 minutes'`, `${T} - interval '1 hour'`],
    ]) {
      const got = await asRole(db.pool, 'authenticated', (c) => c.query(`SELECT id FROM integration_slowest_calls(${from}, ${to}, NULL, NULL)`));
      const want = await db.pool.query(
        `SELECT id FROM integration_logs WHERE duration_ms IS NOT NULL AND created_at >= ${from} AND created_at < ${to} ORDER BY duration_ms DESC, created_at DESC, id DESC LIMIT 50`,
      );
      expect(want.rows.length).toBeGreaterThan(40);
      expect(got.rows).toEqual(want.rows);
    }
  };
  await same();

  // the triggers go on from the filled table: inserts, an update and deletes
  await db.pool.query(ROWS(3000, 5000));
  await db.pool.query(`UPDATE integration_logs SET duration_ms = duration_ms + 500 WHERE created_at > ${T} - interval '2 days' AND service_name = 'whapi'`);
  await db.pool.query(`DELETE FROM integration_logs WHERE created_at > ${T} - interval '9 days' AND service_name = 'amocrm'`);
  const after = await keptVsRaw(db.pool);
  expect(after).toEqual({ missing: 0, stale: 0, misfiled: 0, want: after.want, kept: after.want });
  await same();
});
