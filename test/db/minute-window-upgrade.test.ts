// A database from before 015 kept minute rollups as long as raw rows (90 days). 015 removes those
// older than the minute window and rewrites the table (space returned, not just freed); afterwards
// the rollups equal a fresh build's on the same rows, and reads over old ranges stay exact.
import fs from 'node:fs';
import { migrate } from '../../src/db/migrate';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { migrationsWithout } from '../helpers/migrations-copy';

// every 3 minutes over the last 30 days, three services, durations and statuses varying
const ROWS = `INSERT INTO integration_logs (service_name, action, status, duration_ms, retry_count, created_at)
  SELECT (ARRAY['amocrm','whapi','resend'])[1 + i % 3], (ARRAY['sync','send'])[1 + i % 2],
         CASE WHEN i % 7 = 0 THEN 'failed' ELSE 'success' END, 10 + (i * 37) % 2000, i % 3,
         date_trunc('minute', now()) - i * interval '3 minutes' + (i % 60) * interval '1 second'
  FROM generate_series(0, 30 * 24 * 20) i`;

/** The rollup tables' rows (every level and histogram), one text row each, in a fixed order. */
async function rollupRows(db: TestDatabase): Promise<string[]> {
  const out: string[] = [];
  for (const t of [
    'integration_rollup_minute',
    'integration_rollup_hour',
    'integration_rollup_day',
    'integration_latency_hist_hour',
    'integration_latency_hist_day',
    'integration_latency_hist_service_hour',
    'integration_latency_hist_service_day',
    'integration_rollup_service_hour',
    'integration_rollup_service_day',
  ]) {
    const { rows } = await db.pool.query(`SELECT '${t}' || (x.*)::text AS r FROM ${t} x ORDER BY 1`);
    out.push(...rows.map((r) => r.r as string));
  }
  return out;
}

let old: TestDatabase;
let fresh: TestDatabase;
let dir = '';
beforeAll(async () => {
  old = await createTestDatabase({ migrated: false });
  fresh = await createTestDatabase();
  // every numbered migration but 015 (main's state, 016 included: 015 arrives after it there)
  dir = migrationsWithout('015_minute_window.sql');
});
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await old.drop();
  await fresh.drop();
});

test('015 shrinks the minute level in place; the rollups then equal a fresh build and reads stay exact', async () => {
  await migrate(old.url, { dir });
  await old.pool.query(`SELECT count(*) FROM ensure_integration_log_partitions(1, 35)`);
  await old.pool.query(ROWS);
  // the minute rows the triggers before 015 kept for every raw row's minute
  await old.pool.query(`INSERT INTO integration_rollup_minute
    SELECT date_bin('1 minute'::interval, created_at, '1970-01-01 00:00:00+00'), service_name, action, status,
           count(*), count(duration_ms), coalesce(sum(duration_ms), 0), min(duration_ms), max(duration_ms),
           coalesce(sum(retry_count), 0), count(*) FILTER (WHERE retry_count > 0)
    FROM integration_logs WHERE created_at < integration_minute_kept_from() GROUP BY 1, 2, 3, 4`);
  const sizeBefore = Number((await old.pool.query(`SELECT pg_table_size('integration_rollup_minute') AS b`)).rows[0].b);
  const minutesBefore = Number((await old.pool.query(`SELECT count(*) AS n FROM integration_rollup_minute`)).rows[0].n);
  expect(minutesBefore).toBeGreaterThan(8000);

  const r = await migrate(old.url, {});
  expect(r.applied).toContain('015_minute_window.sql');

  const sizeAfter = Number((await old.pool.query(`SELECT pg_table_size('integration_rollup_minute') AS b`)).rows[0].b);
  const stale = (await old.pool.query(`SELECT count(*)::int AS n FROM integration_rollup_minute WHERE bucket < integration_minute_kept_from()`)).rows[0].n;
  expect(stale).toBe(0);
  expect(sizeAfter).toBeLessThan(sizeBefore / 2);

  await fresh.pool.query(`SELECT count(*) FROM ensure_integration_log_partitions(1, 35)`);
  await fresh.pool.query(ROWS);
  expect(await rollupRows(old)).toEqual(await rollupRows(fresh));

  // reads over ranges before, across and inside the window equal raw aggregation
  for (const [from, to, width] of [
    [`now() - interval '20 days 17 minutes'`, `now() - interval '19 days 3 hours'`, `'5 minutes'`],
    [`now() - interval '7 days 2 hours 7 minutes'`, `now() - interval '6 days 22 hours'`, `'1 hour'`],
    [`now() - interval '29 days 3 minutes'`, `now() - interval '1 day 1 minute'`, 'NULL'],
  ]) {
    const { rows } = await old.pool.query(
      `WITH ours AS (SELECT service_name, action, status, sum(calls)::bigint AS calls, min(duration_min) AS mn, max(duration_max) AS mx
                     FROM integration_range_agg(${from}, ${to}, ${width}::interval) GROUP BY 1, 2, 3),
            raw AS (SELECT service_name, action, status, count(*) AS calls, min(duration_ms) AS mn, max(duration_ms) AS mx
                    FROM integration_logs WHERE created_at >= ${from} AND created_at < ${to} GROUP BY 1, 2, 3)
       SELECT (SELECT count(*) FROM ((TABLE ours EXCEPT ALL TABLE raw) UNION ALL (TABLE raw EXCEPT ALL TABLE ours)) d)::int AS diff,
              (SELECT count(*) FROM raw)::int AS groups`,
    );
    expect({ from, diff: rows[0].diff }).toEqual({ from, diff: 0 });
    expect(rows[0].groups).toBeGreaterThan(0);
  }
});
