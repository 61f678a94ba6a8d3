/**
 * Hours and days in the reader's time zone (migration 009): on the same rows, our views answer
 * exactly what the seed's literal views (bench/seed-schema.ts) answer under the session's
 * TimeZone — whole-hour, half-hour and 45-minute offsets, and DST days of 23 and 25 hours — and the
 * zone range functions behind /stats and /timeseries equal the same grouping over raw rows.
 */
import type { PoolClient } from 'pg';
import { COLUMNS, STAGING_TABLE } from '../../bench/data';
import { SEED_SCHEMA_SQL } from '../../bench/seed-schema';
import { asRole, createTestDatabase, TestDatabase } from '../helpers/db';
import { expectSameRows, RAW_BY, stageZoneRows, zoneWithDstInWindow } from '../helpers/time-zones';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(SEED_SCHEMA_SQL);
  await db.pool.query('GRANT USAGE ON SCHEMA seed TO authenticated; GRANT SELECT ON ALL TABLES IN SCHEMA seed TO authenticated');
  await db.pool.query(`SELECT count(*) FROM ensure_integration_log_partitions(7, 42)`);
  await stageZoneRows(db.pool);
  await db.pool.query(`INSERT INTO seed.integration_logs (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING_TABLE}`);
  await db.pool.query(`INSERT INTO integration_logs (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING_TABLE}`); // through the rollup triggers
}, 120_000);
afterAll(async () => {
  await db.drop();
});

const NAMED_ZONES = ['UTC', 'Europe/Moscow', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu', 'Asia/Almaty', 'Europe/London'];

/** Rows of `sql` in one transaction as `authenticated` with the session in `zone`. */
function inZone<T>(zone: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  return asRole(db.pool, 'authenticated', async (c) => {
    await c.query(`SELECT set_config('TimeZone', $1, true)`, [zone]);
    return fn(c);
  });
}

const HOURLY_COLS = 'service_name, action, status, hour AS bucket, count, avg_duration_ms, min_duration_ms, max_duration_ms';
const DAILY_COLS = `service_name, action, status, day AS bucket, count, avg_duration_ms, min_duration_ms, max_duration_ms, failed_count, success_count`;

describe('the views equal the seed’s literal views in the session’s time zone', () => {
  const zones = [...NAMED_ZONES, 'DST in both windows'];
  test.each(zones)('%s', async (name) => {
    const zone = name === 'DST in both windows' ? zoneWithDstInWindow(Date.now()) : name;
    const out = await inZone(zone, async (c) => ({
      oursHourly: (await c.query(`SELECT ${HOURLY_COLS} FROM integration_stats_hourly`)).rows,
      seedHourly: (await c.query(`SELECT ${HOURLY_COLS} FROM seed.integration_stats_hourly`)).rows,
      oursDaily: (await c.query(`SELECT ${DAILY_COLS} FROM integration_stats_daily`)).rows,
      seedDaily: (await c.query(`SELECT ${DAILY_COLS} FROM seed.integration_stats_daily`)).rows,
      // the seed's own bucket lengths: the DST zone must really have a 23- and a 25-hour day
      dayLengths: (await c.query(`SELECT DISTINCT extract(epoch FROM date_trunc('day', day + interval '26 hours') - day) / 3600 AS len FROM seed.integration_stats_daily`)).rows,
    }));
    expect(out.seedHourly.length).toBeGreaterThan(50);
    expect(out.seedDaily.length).toBeGreaterThan(300);
    expectSameRows(out.oursHourly, out.seedHourly, `${name} hourly`);
    expectSameRows(out.oursDaily, out.seedDaily, `${name} daily`);
    if (name === 'DST in both windows') {
      expect(out.dayLengths.map((r) => Number(r.len))).toEqual(expect.arrayContaining([23, 25]));
    }
  });

  test('days do start at the zone’s midnight (not UTC’s) and hours at its :30 / :45', async () => {
    const starts = async (zone: string, view: string, col: string) =>
      inZone(zone, async (c) => (await c.query(`SELECT DISTINCT to_char(${col} AT TIME ZONE 'UTC', 'HH24:MI') AS t FROM ${view}`)).rows.map((r) => r.t).sort());
    expect(await starts('Europe/Moscow', 'integration_stats_daily', 'day')).toEqual(['21:00']);
    expect(await starts('Asia/Kolkata', 'integration_stats_daily', 'day')).toEqual(['18:30']);
    expect(new Set((await starts('Asia/Kathmandu', 'integration_stats_hourly', 'hour')).map((t) => t.slice(3)))).toEqual(new Set(['15']));
  });
});

describe('integration_range_agg in a zone equals date_trunc over raw rows, across DST changes', () => {
  // Unaligned ends (seconds into a minute) so raw edges, minute and hour pieces all take part.
  const ranges: Array<[string, string]> = [
    ['2026-03-06 07:13:27.5+00', '2026-03-11 01:02:03+00'],
    ['2026-03-27 00:00:00+00', '2026-04-01 00:00:00+00'],
    ['2026-10-23 19:59:59.999+00', '2026-11-04 04:44:44+00'],
  ];
  const cases = NAMED_ZONES.flatMap((zone) => ranges.flatMap(([from, to]) => ['hour', 'day'].map((unit) => [zone, unit, from, to])));
  test.each(cases)('%s, per %s, [%s, %s)', async (zone, unit, from, to) => {
    const { ours, raw } = await inZone('UTC', async (c) => ({
      ours: (await c.query(`SELECT * FROM integration_range_agg($1, $2, $4::interval, $3)`, [from, to, zone, `1 ${unit}`])).rows,
      raw: (await c.query(RAW_BY(unit), [from, to, zone])).rows,
    }));
    expect(raw.length).toBeGreaterThan(20);
    expectSameRows(ours, raw, `${zone} ${unit}`);
  });

  test('New York has a 23-hour 8 March and a 25-hour 1 November, hour by hour', async () => {
    const hoursOf = (day: string) =>
      inZone('America/New_York', async (c) =>
        Number((await c.query(`SELECT count(*) AS n FROM integration_zone_buckets(($1::date)::timestamptz, ($1::date + 1)::timestamptz, '1 hour', 'America/New_York')`, [day])).rows[0].n),
      );
    expect(await hoursOf('2026-03-08')).toBe(23);
    expect(await hoursOf('2026-11-01')).toBe(25);
    expect(await hoursOf('2026-11-02')).toBe(24);
  });

  test('UTC-aligned range reads stay exact in a DST session (days are 24 hours, not one calendar day)', async () => {
    // 004's bounds added interval '1 day' to a timestamptz: 25 hours in New York on 1 November.
    const { ours, raw } = await inZone('America/New_York', async (c) => ({
      ours: (await c.query(`SELECT * FROM integration_range_agg('2026-10-31 12:00+00', '2026-11-04 00:00+00', '1 day')`)).rows,
      raw: (await c.query(RAW_BY('day'), ['2026-10-31 12:00+00', '2026-11-04 00:00+00', 'UTC'])).rows,
    }));
    // the UTC-aligned function labels the first bucket by its UTC day, as date_trunc in UTC does
    expectSameRows(ours, raw, 'UTC days in a New York session');
  });
});

describe('the other zone range functions equal raw grouping', () => {
  const from = '2026-10-30 03:03:03+00';
  const to = '2026-11-04 21:21:21+00';
  // 1 day, 1 hour, a 30-minute width (cut by Kathmandu's :45), 2-day runs of local days, and
  // widths whose buckets hold several rollup rows (6 hours, 7 days); UTC takes the readers' UTC
  // statement, whose day and hour rows are date_bin'd to the width.
  const widths = ['1 day', '1 hour', '30 minutes', '2 days', '6 hours', '7 days'];
  const zones = ['UTC', 'America/New_York', 'Asia/Kathmandu', 'Asia/Kolkata'];
  const cases = zones.flatMap((z) => widths.map((w) => [z, w]));

  test.each(cases)('%s, %s buckets', async (zone, width) => {
    const q = async (c: PoolClient, sql: string) => (await c.query(sql, [from, to, width, zone])).rows;
    const out = await inZone('UTC', async (c) => ({
      agg: await q(
        c,
        `SELECT bucket, service_name, action, status, calls, duration_n, duration_sum, duration_min, duration_max
         FROM integration_range_agg($1, $2, $3::interval, $4) ORDER BY 1, 2, 3, 4`,
      ),
      aggRaw: await q(
        c,
        `SELECT integration_zone_bucket(created_at, $3::interval, $4) AS bucket, service_name, action, status, count(*) AS calls,
                count(duration_ms) AS duration_n, coalesce(sum(duration_ms), 0) AS duration_sum, min(duration_ms) AS duration_min, max(duration_ms) AS duration_max
         FROM seed.integration_logs WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
      ),
      service: await q(c, `SELECT bucket, service_name, calls, failed FROM integration_range_agg_service($1, $2, $3::interval, $4) ORDER BY 1, 2`),
      serviceRaw: await q(
        c,
        `SELECT integration_zone_bucket(created_at, $3::interval, $4) AS bucket, service_name, count(*) AS calls,
                count(*) FILTER (WHERE status = 'failed') AS failed
         FROM seed.integration_logs WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2 ORDER BY 1, 2`,
      ),
      hist: await q(c, `SELECT bucket, service_name, action, status, bin, n FROM integration_hist_range($1, $2, $3::interval, $4) ORDER BY 1, 2, 3, 4, 5`),
      histRaw: await q(
        c,
        `SELECT integration_zone_bucket(created_at, $3::interval, $4) AS bucket, service_name, action, status,
                integration_latency_bin(duration_ms) AS bin, count(*) AS n
         FROM seed.integration_logs WHERE created_at >= $1 AND created_at < $2 AND duration_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`,
      ),
      histService: await q(c, `SELECT bucket, service_name, bin, n FROM integration_hist_range_service($1, $2, $3::interval, $4) ORDER BY 1, 2, 3`),
      histServiceRaw: await q(
        c,
        `SELECT integration_zone_bucket(created_at, $3::interval, $4) AS bucket, service_name, integration_latency_bin(duration_ms) AS bin, count(*) AS n
         FROM seed.integration_logs WHERE created_at >= $1 AND created_at < $2 AND duration_ms IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      ),
      buckets: await q(c, `SELECT bucket FROM integration_zone_buckets($1, $2, $3::interval, $4)`),
      rawBuckets: await q(
        c,
        `SELECT DISTINCT integration_zone_bucket(t, $3::interval, $4) AS bucket
         FROM generate_series($1::timestamptz, $2::timestamptz - interval '1 microsecond', interval '1 minute') t ORDER BY 1`,
      ),
    }));
    expect(out.serviceRaw.length).toBeGreaterThan(3);
    expect(out.agg).toEqual(out.aggRaw);
    expect(out.service).toEqual(out.serviceRaw);
    expect(out.hist).toEqual(out.histRaw);
    expect(out.histService).toEqual(out.histServiceRaw);
    expect(out.buckets).toEqual(out.rawBuckets);
  });

  test('date_trunc’s buckets for 1 hour and 1 day; the zone’s midnights for N days; its wall clock below a day', async () => {
    const { rows } = await db.pool.query(
      `SELECT integration_zone_bucket('2026-11-01 05:30+00', '1 hour', 'America/New_York') = date_trunc('hour', '2026-11-01 05:30+00'::timestamptz, 'America/New_York') AS hour,
              integration_zone_bucket('2026-11-01 05:30+00', '1 day', 'America/New_York') = '2026-11-01 04:00+00' AS day,
              integration_zone_bucket('2026-11-03 05:30+00', '2 days', 'Asia/Kolkata') AS two_days,
              integration_zone_bucket('2026-11-03 05:50+00', '30 minutes', 'Asia/Kathmandu') AS half_hour`,
    );
    expect(rows[0].hour).toBe(true);
    expect(rows[0].day).toBe(true);
    // 3 November 2026 is day 20,760 since 1970-01-01 (even), so a 2-day run starts at its 00:00 IST
    expect((rows[0].two_days as Date).toISOString()).toBe('2026-11-02T18:30:00.000Z');
    // 05:50 UTC = 11:35 NPT → the bucket from 11:30 NPT = 05:45 UTC
    expect((rows[0].half_hour as Date).toISOString()).toBe('2026-11-03T05:45:00.000Z');
  });

  test('an unknown zone is a data exception (22023), not an empty answer', async () => {
    await expect(db.pool.query(`SELECT * FROM integration_range_agg(now() - interval '1 day', now(), '1 day', 'Mars/Olympus')`)).rejects.toMatchObject({
      code: '22023',
    });
  });
});

describe('one function per read, the zone its fourth argument', () => {
  const from = '2026-10-30 03:03:03+00';
  const to = '2026-11-04 21:21:21+00';
  const READERS = ['integration_range_agg', 'integration_range_agg_service', 'integration_hist_range', 'integration_hist_range_service'];

  test.each(READERS)('%s without a width: one bucket labelled p_from, whatever the zone', async (fn) => {
    const out = await inZone('UTC', async (c) => ({
      utc: (await c.query(`SELECT f.* FROM ${fn}($1, $2) f ORDER BY f::text`, [from, to])).rows,
      zones: await Promise.all(['UTC', 'Asia/Kolkata', 'America/New_York'].map(async (z) => (await c.query(`SELECT f.* FROM ${fn}($1, $2, NULL, $3) f ORDER BY f::text`, [from, to, z])).rows)),
    }));
    expect(out.utc.length).toBeGreaterThan(3);
    expect(new Set(out.utc.map((r) => (r.bucket as Date).toISOString()))).toEqual(new Set([new Date(from).toISOString()]));
    for (const rows of out.zones) expect(rows).toEqual(out.utc);
  });

  test.each(READERS)('%s: an unknown zone is 22023 with or without a width; UTC aliases and sub-15-minute widths are the UTC buckets', async (fn) => {
    for (const width of [`'1 day'`, `'1 hour'`, 'NULL']) {
      await expect(db.pool.query(`SELECT * FROM ${fn}(now() - interval '1 day', now(), ${width}, 'Mars/Olympus')`)).rejects.toMatchObject({ code: '22023' });
    }
    const rows = async (zone: string, width: string) => (await db.pool.query(`SELECT f.* FROM ${fn}($1, $2, $3::interval, $4) f ORDER BY f::text`, [from, to, width, zone])).rows;
    expect((await rows('UTC', '1 day')).length).toBeGreaterThan(3);
    expect(await rows('Etc/UTC', '1 day')).toEqual(await rows('UTC', '1 day'));
    expect(await rows('Asia/Kathmandu', '5 minutes')).toEqual(await rows('UTC', '5 minutes'));
  });

  // Dashboards users saved before the merge call these names: each is the reader under its old name.
  test.each(READERS.flatMap((fn) => ['America/New_York', 'Asia/Kathmandu', 'UTC'].flatMap((zone) => ['1 hour', '1 day', '30 minutes'].map((w) => [fn, zone, w]))))(
    '%s_zone (kept for saved dashboards) answers as the reader in %s, %s buckets',
    async (fn, zone, width) => {
      const out = await inZone('UTC', async (c) => ({
        old: (await c.query(`SELECT f.* FROM ${fn}_zone($1, $2, $3::interval, $4) f ORDER BY f::text`, [from, to, width, zone])).rows,
        now: (await c.query(`SELECT f.* FROM ${fn}($1, $2, $3::interval, $4) f ORDER BY f::text`, [from, to, width, zone])).rows,
      }));
      expect(out.now.length).toBeGreaterThan(3);
      expect(out.old).toEqual(out.now);
    },
  );
});

describe('rollup upkeep in a DST session', () => {
  test('an UPDATE recomputes a day’s min/max from that UTC day’s 24 hours, not 25', async () => {
    // 2 November 2025 is 25 hours long in New York: `+ interval '1 day'` there reached into the
    // next UTC day, whose 5 ms call became the first day's minimum.
    const at = ['2025-11-02T12:00:00Z', '2025-11-02T12:05:00Z', '2025-11-03T00:30:00Z'];
    await db.pool.query(
      `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at)
       SELECT 'tz_upkeep', 'check', 'success', d, t FROM unnest($1::int[], $2::timestamptz[]) u(d, t)`,
      [[100, 200, 5], at],
    );
    const c = await db.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(`SET LOCAL TimeZone = 'America/New_York'`);
      await c.query(`UPDATE integration_logs SET duration_ms = 150 WHERE service_name = 'tz_upkeep' AND created_at = $1`, [at[1]]);
      await c.query('COMMIT');
    } finally {
      c.release();
    }
    const { rows } = await db.pool.query(`SELECT bucket, duration_min, duration_max FROM integration_rollup_day WHERE service_name = 'tz_upkeep' ORDER BY bucket`);
    expect(rows.map((r) => [(r.bucket as Date).toISOString(), r.duration_min, r.duration_max])).toEqual([
      ['2025-11-02T00:00:00.000Z', 100, 150],
      ['2025-11-03T00:00:00.000Z', 5, 5],
    ]);
  });
});
