/**
 * The bench compares like with like: on the same generated rows, each dashboard query of
 * bench/queries.ts answers the same in the seed's design (schema `seed`) and in ours, and the
 * database-side timer (bench/db-time.ts) times what it is given without answering rows.
 */
import type { PoolClient, QueryResult } from 'pg';
import { COLUMNS, generateSql, STAGING_TABLE } from '../../bench/data';
import { dbTimer } from '../../bench/db-time';
import { dashboardQueries, zoneQueries, type DashboardQuery } from '../../bench/queries';
import { SEED_SCHEMA_SQL } from '../../bench/seed-schema';
import type { HealthNumbers, LogPageResult } from '../../src/store/queries';
import type { TimeseriesSeries } from '../../src/contract';
import { asRole, createTestDatabase, TestDatabase } from '../helpers/db';

const DAYS = 40;
let db: TestDatabase;
let entity: { type: string; id: string };

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(SEED_SCHEMA_SQL);
  await db.pool.query('GRANT USAGE ON SCHEMA seed TO authenticated; GRANT SELECT ON ALL TABLES IN SCHEMA seed TO authenticated');
  await db.pool.query(`SELECT count(*) FROM ensure_integration_log_partitions(7, ${DAYS + 2})`);
  const c = await db.pool.connect();
  try {
    for (const sql of generateSql(6000, DAYS, 0.17)) await c.query(sql);
  } finally {
    c.release();
  }
  await db.pool.query(`INSERT INTO seed.integration_logs (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING_TABLE}`);
  await db.pool.query(`INSERT INTO integration_logs (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING_TABLE}`); // through the rollup triggers
  const { rows } = await db.pool.query(
    `SELECT related_entity_type AS type, related_entity_id::text AS id FROM ${STAGING_TABLE}
     WHERE related_entity_id IS NOT NULL GROUP BY 1, 2 ORDER BY count(*) DESC, 2 LIMIT 1`,
  );
  entity = rows[0];
});
afterAll(async () => {
  await db.drop();
});

/** Both forms in one transaction as `authenticated` (one now()), days and hours in UTC. */
async function both(name: RegExp): Promise<{ seed: unknown; ours: unknown }> {
  const q = dashboardQueries(entity).find((x) => name.test(x.name)) as DashboardQuery;
  expect(q).toBeDefined();
  return asRole(db.pool, 'authenticated', async (c: PoolClient) => {
    await c.query(`SET LOCAL TimeZone = 'UTC'`);
    return { seed: await q.seed(c), ours: await q.ours(c) };
  });
}

const rowsOf = (r: unknown) => (r as QueryResult).rows;
const key = (...xs: unknown[]) => xs.map((x) => (x instanceof Date ? x.toISOString() : String(x))).join('|');
const within = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.abs(b) + 1e-9;

test.each([
  [/^hourly view/, 'hour', ['count', 'min_duration_ms', 'max_duration_ms']],
  [/^daily view/, 'day', ['count', 'min_duration_ms', 'max_duration_ms', 'failed_count', 'success_count']],
])('%s: the same groups, counts, min/max and averages', async (name, bucket, cols) => {
  const { seed, ours } = await both(name as RegExp);
  const index = (rows: Record<string, unknown>[]) => new Map(rows.map((r) => [key(r.service_name, r.action, r.status, r[bucket as string]), r]));
  const s = index(rowsOf(seed));
  const o = index(rowsOf(ours));
  expect(s.size).toBeGreaterThan(20);
  expect([...o.keys()].sort()).toEqual([...s.keys()].sort());
  for (const [k, r] of s) {
    const mine = o.get(k)!;
    for (const col of cols as string[]) expect([k, col, String(mine[col])]).toEqual([k, col, String(r[col])]);
    const sameAvg = r.avg_duration_ms === null ? mine.avg_duration_ms === null : within(Number(mine.avg_duration_ms), Number(r.avg_duration_ms), 1e-12);
    expect([k, sameAvg]).toEqual([k, true]);
  }
});

test('health: calls, successes, failures, failure rate and average per service', async () => {
  const { seed, ours } = await both(/^health/);
  const mine = new Map((ours as HealthNumbers[]).filter((h) => h.total_requests > 0).map((h) => [h.service_name, h]));
  const theirs = rowsOf(seed);
  expect(theirs.length).toBeGreaterThan(0);
  expect([...mine.keys()].sort()).toEqual(theirs.map((r) => r.service_name).sort());
  for (const r of theirs) {
    const h = mine.get(r.service_name)!;
    expect([h.total_requests, h.success_count, h.failed_count, h.failure_rate_percent]).toEqual([
      Number(r.total_requests),
      Number(r.success_count),
      Number(r.failed_count),
      Number(r.failure_rate_percent),
    ]);
    expect(within(h.avg_duration_ms!, Number(r.avg_duration_ms), 1e-9)).toBe(true);
  }
});

test('failure-rate series: the same rate in every hour with calls', async () => {
  const { seed, ours } = await both(/^failure-rate series/);
  const points = new Map((ours as TimeseriesSeries[])[0].points.map(([t, v]) => [t, v]));
  const hours = rowsOf(seed).slice(1); // the first hour is cut by now() - 7 days, a few ms apart in the two forms
  expect(hours.length).toBeGreaterThan(24);
  for (const r of hours) expect([r.t.toISOString(), points.get(r.t.getTime())]).toEqual([r.t.toISOString(), Number(r.v)]);
});

test('percentiles per service over 30 days: within 5 % of percentile_cont', async () => {
  const { seed, ours } = await both(/^p50\/p95\/p99 per service/);
  const mine = new Map(rowsOf(ours).map((r) => [r.service_name, [r.p50, r.p95, r.p99]]));
  expect(mine.size).toBe(5);
  for (const r of rowsOf(seed)) {
    const exact = (r.percentile_cont as number[]).map(Number);
    mine.get(r.service_name)!.forEach((v: number, i: number) => expect([r.service_name, i, within(v, exact[i], 0.05)]).toEqual([r.service_name, i, true]));
  }
});

test('p95 series per service: within 5 % of percentile_cont for every service and day', async () => {
  const { seed, ours } = await both(/^p95 series per service/);
  const mine = new Map<string, number | null>();
  for (const s of ours as TimeseriesSeries[]) for (const [t, v] of s.points) mine.set(key(s.labels.service, new Date(t)), v);
  const firstDay = Math.min(...rowsOf(seed).map((r) => r.date_trunc.getTime()));
  const days = rowsOf(seed).filter((r) => r.date_trunc.getTime() !== firstDay); // cut by now() - 30 days
  expect(days.length).toBeGreaterThan(100);
  for (const r of days) {
    const k = key(r.service_name, r.date_trunc);
    expect([k, within(mine.get(k)!, Number(r.percentile_cont), 0.05)]).toEqual([k, true]);
  }
});

test.each([/^failures list/, /^entity drill-down/])('%s: the same calls, newest first', async (name) => {
  const { seed, ours } = await both(name);
  const theirs = rowsOf(seed).map((r) => key(r.service_name, r.action, r.status, r.created_at.toISOString().slice(0, 23)));
  // Ours keeps created_at's microseconds as text; the seed's rows come back as JS Dates (ms).
  const mine = (ours as LogPageResult).rows.map((r) => key(r.service_name, r.action, r.status, r.created_at.slice(0, 23)));
  expect(theirs.length).toBeGreaterThan(1);
  expect(mine).toEqual(theirs);
});

describe('zone rows (views and /stats in a zone other than UTC)', () => {
  const inZone = (zone: string, q: (c: PoolClient) => Promise<unknown>) =>
    asRole(db.pool, 'authenticated', async (c: PoolClient) => {
      await c.query(`SELECT set_config('TimeZone', $1, true)`, [zone]);
      return q(c);
    });
  const views = zoneQueries().filter((q) => q.seed);

  test.each(['Asia/Almaty', 'Asia/Kolkata'].flatMap((z) => views.map((q) => [z, q.name])))('%s, %s: the same rows as the seed’s view', async (zone, name) => {
    const q = views.find((x) => x.name === name)!;
    const seed = rowsOf(await inZone(zone, q.seed!));
    const ours = rowsOf(await inZone(zone, (c) => q.ours(c, zone)));
    const b = name.startsWith('hourly') ? 'hour' : 'day';
    const cols = (r: Record<string, unknown>) => key(r.service_name, r.action, r.status, r[b], r.count, r.min_duration_ms, r.max_duration_ms);
    expect(seed.length).toBeGreaterThan(20);
    expect(ours.map(cols).sort()).toEqual(seed.map(cols).sort());
  });

  test('the /stats query in Asia/Almaty: days from 19:00 UTC, the same calls in all as in UTC', async () => {
    const q = zoneQueries().find((x) => x.name.startsWith('/stats'))!;
    const almaty = (await inZone('UTC', (c) => q.ours(c, 'Asia/Almaty'))) as Array<{ bucket: string; count: number }>;
    const utc = (await inZone('UTC', (c) => q.ours(c, 'UTC'))) as Array<{ bucket: string; count: number }>;
    expect(new Set(almaty.map((r) => r.bucket.slice(11)))).toEqual(new Set(['19:00:00.000Z']));
    const total = (rows: Array<{ count: number }>) => rows.reduce((n, r) => n + r.count, 0);
    expect(total(almaty)).toBe(total(utc));
  });
});

describe('database-side timer', () => {
  test('runs each query under EXPLAIN ANALYZE, answers no rows and adds up planning + execution', async () => {
    const c = await db.pool.connect();
    try {
      const timer = dbTimer(c);
      const r = await timer.client.query(`SELECT pg_sleep(0.02), count(*) FROM ${STAGING_TABLE}`);
      expect(r.rows).toEqual([]);
      const t = timer.take();
      expect(t).toBeGreaterThanOrEqual(20);
      expect(t).toBeLessThan(5000);
      expect(timer.take()).toBe(0);
    } finally {
      c.release();
    }
  });

  test('times a named statement (as the API sends its lists) through EXECUTE, with its values', async () => {
    const c = await db.pool.connect();
    try {
      const timer = dbTimer(c);
      const q = {
        name: 'bench_timer_probe',
        text: `SELECT count(*) FROM integration_logs WHERE service_name = ANY ($1::text[]) AND created_at < $2::timestamptz AND action <> $3`,
        values: [['amocrm', 'x"y'], new Date(), "it's"],
      };
      for (let i = 0; i < 2; i++) {
        await timer.client.query(q as never);
        expect(timer.take()).toBeGreaterThan(0);
      }
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 'bench_timer_probe'`);
      expect(rows[0].n).toBe(1);
    } finally {
      c.release();
    }
  });
});
