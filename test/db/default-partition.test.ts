/**
 * History brought in later (INSERT … SELECT from an export, the demo's backfill) lands in the
 * DEFAULT partition where no weekly partition exists for it yet, where retention's partition drop
 * never reaches it (issue 25). The maintenance run gives those rows their weeks, so retention then
 * drops the oldest ones whole; or the loader creates the weeks first
 * (integration_ensure_log_partitions_between) and nothing lands there at all.
 */
import { COLUMNS, generateSql, STAGING_TABLE } from '../../bench/data';
import { startScheduler } from '../../src/db/scheduler';
import { createTestDatabase, TestDatabase } from '../helpers/db';

jest.setTimeout(120_000);

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  const c = await db.pool.connect();
  try {
    for (const sql of generateSql(12_000, 120, 0.31)) await c.query(sql);
  } finally {
    c.release();
  }
});
afterAll(async () => {
  await db?.drop();
});

const count = async (sql: string, params: unknown[] = []) => Number((await db.pool.query(sql, params)).rows[0].n);

test('after 120 days of history, the maintenance run leaves no row in DEFAULT and retention drops the oldest weeks whole', async () => {
  await db.pool.query(`INSERT INTO integration_logs (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING_TABLE}`);
  const inDefault = await count(`SELECT count(*) AS n FROM integration_logs_default`);
  expect(inDefault).toBeGreaterThan(9000); // all but the last days: 001 made partitions from yesterday on
  const oldestWeek = (await db.pool.query(`SELECT integration_log_partition_name(integration_week_start(min(created_at))) AS p FROM integration_logs`)).rows[0].p as string;
  const kept = await count(`SELECT count(*) AS n FROM ${STAGING_TABLE} WHERE created_at >= date_bin('1 minute', now() - interval '90 days', 'epoch')`);

  const lines: string[] = [];
  const scheduler = await startScheduler(db.pool, { rawRetention: '90 days', rollupRetention: '400 days', log: (l) => lines.push(l) });
  await scheduler.stop();
  expect(scheduler.mode).toBe('in-process');
  expect(lines.filter((l) => /failed/.test(l))).toEqual([]);

  expect(await count(`SELECT count(*) AS n FROM integration_logs_default`)).toBe(0);
  expect(await count(`SELECT count(*) AS n FROM integration_logs`)).toBe(kept);
  // The oldest week's rows were given their partition, which retention then dropped whole.
  expect(await count(`SELECT count(*) AS n FROM pg_class WHERE relname = $1`, [oldestWeek])).toBe(0);
  expect(await count(`SELECT count(*) AS n FROM integration_log_partitions() WHERE hi <= now() - interval '97 days'`)).toBe(0);
  // Retention removes raw detail, not history: the rollups still count every call loaded.
  expect(await count(`SELECT sum(calls) AS n FROM integration_range_agg(now() - interval '130 days', now() + interval '1 day', NULL)`)).toBe(12_000);
});

test('a loader that creates the weeks first leaves nothing in DEFAULT', async () => {
  await db.pool.query(`UPDATE ${STAGING_TABLE} SET created_at = created_at - interval '3 years', updated_at = updated_at - interval '3 years'`);
  const { rows } = await db.pool.query(`SELECT min(created_at) AS lo, max(created_at) AS hi FROM ${STAGING_TABLE}`);
  const made = await count(`SELECT count(*) AS n FROM integration_ensure_log_partitions_between($1, $2)`, [rows[0].lo, rows[0].hi]);
  expect(made).toBeGreaterThanOrEqual(17);
  await db.pool.query(`INSERT INTO integration_logs (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING_TABLE}`);
  expect(await count(`SELECT count(*) AS n FROM integration_logs_default`)).toBe(0);
  expect(await count(`SELECT count(*) AS n FROM integration_logs WHERE created_at < now() - interval '2 years'`)).toBe(12_000);
});
