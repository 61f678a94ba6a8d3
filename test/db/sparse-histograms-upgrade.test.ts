// A database from before 017 kept its latency histograms one row per (bucket, key, bin). 017
// rebuilds the four tables as one row per (bucket, key) with the bins in arrays, in place: every
// count kept, the space returned, the same grants, RLS and policies, the readers' answers the same,
// and the triggers keep them exact from the first write after.
import fs from 'node:fs';
import { Pool } from 'pg';
import { migrate } from '../../src/db/migrate';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { migrationsWithout } from '../helpers/migrations-copy';
import { sparseHist } from '../helpers/sparse-hist';

// one instant for both databases' rows and ranges
const T = `'${new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString()}'::timestamptz`;
const ROWS = (n: number, offset: number) => `INSERT INTO integration_logs (service_name, action, status, duration_ms, retry_count, created_at)
  SELECT (ARRAY['amocrm','whapi','resend'])[1 + i % 3], CASE WHEN i % 13 = 0 THEN 'send' ELSE 'sync' END,
         CASE WHEN i % 7 = 0 THEN 'failed' ELSE 'success' END, CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 37) % 5000 END, i % 3,
         ${T} - i * interval '3 minutes' + (i % 60) * interval '1 second'
  FROM generate_series(${offset}, ${offset + n - 1}) i`;

/** The four tables, their key, and the width of their buckets. */
const TABLES: Array<[string, string, string]> = [
  ['integration_latency_hist_hour', 'bucket, service_name, action, status', '1 hour'],
  ['integration_latency_hist_day', 'bucket, service_name, action, status', '1 day'],
  ['integration_latency_hist_service_hour', 'bucket, service_name', '1 hour'],
  ['integration_latency_hist_service_day', 'bucket, service_name', '1 day'],
];
const binRows = (key: string, width: string) =>
  `SELECT date_bin('${width}'::interval, created_at, '1970-01-01 00:00:00+00') AS bucket, ${key.replace('bucket, ', '')},
          integration_latency_bin(duration_ms) AS bin, count(*) AS n
   FROM integration_logs WHERE duration_ms IS NOT NULL GROUP BY ${key}, bin`;

/** Rows that differ between each table and raw rows grouped as it keeps them, by table (0 when exact). */
async function differences(pool: Pool): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [t, key, width] of TABLES) {
    const raw = sparseHist(binRows(key, width), key);
    const { rows } = await pool.query(`SELECT (SELECT count(*) FROM (SELECT * FROM ${t} EXCEPT ALL (${raw})) x) + (SELECT count(*) FROM ((${raw}) EXCEPT ALL SELECT * FROM ${t}) y) AS n`);
    out[t] = Number(rows[0].n);
  }
  return out;
}
const EXACT = Object.fromEntries(TABLES.map(([t]) => [t, 0]));

/** Grants, RLS and policies of the four tables, as text. */
async function access(pool: Pool): Promise<unknown[]> {
  const names = TABLES.map(([t]) => t);
  const { rows: acl } = await pool.query(
    `SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, (SELECT array_agg(a::text ORDER BY a::text) FROM unnest(c.relacl) a) AS acl
     FROM pg_class c WHERE c.relname = ANY ($1) AND c.relnamespace = current_schema()::regnamespace ORDER BY 1`,
    [names],
  );
  const { rows: pol } = await pool.query(`SELECT tablename, policyname, cmd, permissive, roles::text[] AS roles, qual, with_check FROM pg_policies WHERE tablename = ANY ($1) ORDER BY 1, 2`, [names]);
  return [...acl, ...pol];
}

/** What the readers answer over a few ranges and widths (the percentile readers go through these). */
async function reads(pool: Pool): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const [from, to, width] of [
    [`${T} - interval '20 days 17 minutes'`, `${T} - interval '2 days 3 hours'`, `'1 day'`],
    [`${T} - interval '3 days 7 minutes'`, T, `'1 hour'`],
    [`${T} - interval '29 days'`, `${T} - interval '1 minute'`, 'NULL'],
  ]) {
    for (const fn of ['integration_hist_range', 'integration_hist_range_service']) {
      const { rows } = await pool.query(`SELECT f.* FROM ${fn}(${from}, ${to}, ${width}::interval) f ORDER BY f::text`);
      out.push(rows);
    }
    const { rows } = await pool.query(`SELECT * FROM integration_hist_percentile_series_service_zone(${from}, ${to}, '1 day', 0.95, 'UTC') ORDER BY 1, 2`);
    out.push(rows);
  }
  return out;
}

let db: TestDatabase;
let dir = '';
beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
  dir = migrationsWithout('017_sparse_histograms.sql');
});
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await db.drop();
});

test('017 rebuilds the histograms in place: every count, grants and policies kept, readers answer the same, triggers exact after', async () => {
  await migrate(db.url, { dir });
  await db.pool.query(`SELECT count(*) FROM ensure_integration_log_partitions(1, 35)`);
  // The raw rows, and the histograms as the triggers before 017 kept them: one row per bin (the
  // repeatable files in `dir` are today's, whose triggers write the new shape, so they are off here).
  const c = await db.pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SET LOCAL session_replication_role = replica');
    await c.query(ROWS(14000, 0));
    for (const [t, key, width] of TABLES) await c.query(`INSERT INTO ${t} ${binRows(key, width)}`);
    await c.query('COMMIT');
  } finally {
    c.release();
  }
  const before = await db.pool.query(`SELECT count(*)::int AS n, pg_total_relation_size('integration_latency_hist_hour') AS bytes FROM integration_latency_hist_hour`);
  const accessBefore = await access(db.pool);
  expect(accessBefore.length).toBeGreaterThan(4);

  const r = await migrate(db.url);
  expect(r.applied).toEqual(['017_sparse_histograms.sql']);

  // every count, bins ascending and no zero: the stored rows equal raw rows grouped into arrays
  expect(await differences(db.pool)).toEqual(EXACT);
  const after = await db.pool.query(`SELECT count(*)::int AS n, pg_total_relation_size('integration_latency_hist_hour') AS bytes FROM integration_latency_hist_hour`);
  expect(after.rows[0].n).toBeLessThan(before.rows[0].n / 2);
  expect(Number(after.rows[0].bytes)).toBeLessThan(Number(before.rows[0].bytes));
  expect(await access(db.pool)).toEqual(accessBefore);

  // the readers answer what the same rows give a fresh database (built through today's triggers)
  const fresh = await createTestDatabase();
  try {
    await fresh.pool.query(`SELECT count(*) FROM ensure_integration_log_partitions(1, 35)`);
    await fresh.pool.query(ROWS(14000, 0));
    const want = await reads(fresh.pool);
    expect(want.flat().length).toBeGreaterThan(100);
    expect(await reads(db.pool)).toEqual(want);
  } finally {
    await fresh.drop();
  }

  // the triggers go on from the rebuilt rows: inserts onto stored keys, an update and deletes
  await db.pool.query(ROWS(3000, 5000));
  await db.pool.query(`UPDATE integration_logs SET duration_ms = duration_ms + 500 WHERE created_at > ${T} - interval '2 days' AND service_name = 'whapi'`);
  await db.pool.query(`DELETE FROM integration_logs WHERE created_at > ${T} - interval '9 days' AND service_name = 'amocrm'`);
  expect(await differences(db.pool)).toEqual(EXACT);
});
