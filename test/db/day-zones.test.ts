/**
 * Zone days (migration 011, repeatable/11_day_zones.sql): days kept whole in configured zones
 * answer exactly what the seed's literal views and raw grouping answer — after a backfill, after
 * inserts, UPDATEs and DELETEs through the triggers, across DST changes — the readers really read
 * them, and only operators may add or remove a zone.
 */
import type { PoolClient } from 'pg';
import { COLUMNS, STAGING_TABLE } from '../../bench/data';
import { SEED_SCHEMA_SQL } from '../../bench/seed-schema';
import { asRole, createTestDatabase, TestDatabase } from '../helpers/db';
import { expectSameRows, RAW_BY, stageZoneRows, zoneWithDstInWindow } from '../helpers/time-zones';

let db: TestDatabase;
/** Configured in beforeAll: whole-hour, half-hour and DST zones, and a POSIX zone with DST in both views' windows. */
let dstZone: string;
const ZONES = ['Europe/Moscow', 'Asia/Kolkata', 'America/New_York'];

const HOURLY_COLS = 'service_name, action, status, hour AS bucket, count, avg_duration_ms, min_duration_ms, max_duration_ms';
const DAILY_COLS = `service_name, action, status, day AS bucket, count, avg_duration_ms, min_duration_ms, max_duration_ms, failed_count, success_count`;
// Unaligned ends, over both 2026 DST changes of New York and the rows of the last 40 days.
const RANGES: Array<[string, string]> = [
  ['2026-03-06 07:13:27.5+00', '2026-03-11 01:02:03+00'],
  ['2026-10-23 19:59:59.999+00', '2026-11-04 04:44:44+00'],
];

/** The same change on both schemas (the seed's table has no triggers, ours keeps rollups by them). */
async function onBoth(sql: (table: string) => string): Promise<void> {
  await db.pool.query(sql('seed.integration_logs'));
  await db.pool.query(sql('integration_logs'));
}

function inZone<T>(zone: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  return asRole(db.pool, 'authenticated', async (c) => {
    await c.query(`SELECT set_config('TimeZone', $1, true)`, [zone]);
    return fn(c);
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(SEED_SCHEMA_SQL);
  await db.pool.query('GRANT USAGE ON SCHEMA seed TO authenticated; GRANT SELECT ON ALL TABLES IN SCHEMA seed TO authenticated');
  await db.pool.query(`SELECT count(*) FROM ensure_integration_log_partitions(7, 42)`);
  await stageZoneRows(db.pool);
  await db.pool.query(`INSERT INTO seed.integration_logs (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING_TABLE}`);
  // Two thirds before the zones are added (backfilled), the rest after (through the triggers).
  await db.pool.query(`INSERT INTO integration_logs (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING_TABLE} WHERE duration_ms IS NULL OR duration_ms % 3 <> 0`);
  dstZone = zoneWithDstInWindow(Date.now());
  for (const zone of ZONES) await db.pool.query(`SELECT integration_add_day_zone($1)`, [zone]);
  // A POSIX zone integration_add_day_zone refuses: through the owner's integration_keep_day_zone
  // (the same backfill; zones kept before that rule must read exactly).
  await db.pool.query(`SELECT integration_keep_day_zone($1)`, [dstZone]);
  await db.pool.query(`INSERT INTO integration_logs (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING_TABLE} WHERE duration_ms % 3 = 0`);
  // UPDATEs that move rows across local days and change durations, statuses and retries; DELETEs.
  await onBoth((t) => `UPDATE ${t} SET created_at = created_at - interval '7 hours 13 minutes', status = 'failed' WHERE duration_ms % 11 = 0`);
  await onBoth((t) => `UPDATE ${t} SET duration_ms = duration_ms * 7, retry_count = 2 WHERE duration_ms % 13 = 1`);
  await onBoth((t) => `UPDATE ${t} SET duration_ms = 1 WHERE duration_ms % 17 = 2`);
  await onBoth((t) => `DELETE FROM ${t} WHERE duration_ms % 19 = 3`);
}, 180_000);
afterAll(async () => {
  await db.drop();
});

describe('with day zones configured, reads stay exact', () => {
  test('the zones are kept, under their tz database names, with their days', async () => {
    const { rows } = await db.pool.query(`SELECT zone, complete_from IS NOT NULL AS complete, day_rows > 0 AS has_days FROM integration_day_zones()`);
    expect(rows).toEqual(expect.arrayContaining(ZONES.map((zone) => ({ zone, complete: true, has_days: true }))));
    expect(rows).toHaveLength(ZONES.length + 1);
  });

  test.each([...ZONES, 'DST in both windows'])('the views equal the seed’s literal views in %s', async (name) => {
    const zone = name === 'DST in both windows' ? dstZone : name;
    const out = await inZone(zone, async (c) => ({
      oursHourly: (await c.query(`SELECT ${HOURLY_COLS} FROM integration_stats_hourly`)).rows,
      seedHourly: (await c.query(`SELECT ${HOURLY_COLS} FROM seed.integration_stats_hourly`)).rows,
      oursDaily: (await c.query(`SELECT ${DAILY_COLS} FROM integration_stats_daily`)).rows,
      seedDaily: (await c.query(`SELECT ${DAILY_COLS} FROM seed.integration_stats_daily`)).rows,
      pieces: (await c.query(`SELECT DISTINCT lvl FROM integration_zone_day_pieces(now() - interval '30 days', 'infinity', '1 day', current_setting('TimeZone'))`)).rows,
    }));
    expect(out.seedDaily.length).toBeGreaterThan(300);
    expectSameRows(out.oursHourly, out.seedHourly, `${name} hourly`);
    expectSameRows(out.oursDaily, out.seedDaily, `${name} daily`);
    expect(out.pieces.map((r) => r.lvl)).toContain('Z');
  });

  const cases = ZONES.flatMap((zone) => RANGES.map(([from, to]) => [zone, from, to]));
  test.each(cases)('integration_range_agg and _service in the zone, per day, equal raw grouping in %s, [%s, %s)', async (zone, from, to) => {
    const out = await inZone('UTC', async (c) => ({
      ours: (await c.query(`SELECT * FROM integration_range_agg($1, $2, '1 day', $3)`, [from, to, zone])).rows,
      raw: (await c.query(RAW_BY('day'), [from, to, zone])).rows,
      service: (await c.query(`SELECT bucket, service_name, calls, failed FROM integration_range_agg_service($1, $2, '1 day', $3) ORDER BY 1, 2`, [from, to, zone])).rows,
      serviceRaw: (
        await c.query(
          `SELECT date_trunc('day', created_at, $3) AS bucket, service_name, count(*) AS calls, count(*) FILTER (WHERE status = 'failed') AS failed
           FROM seed.integration_logs WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2 ORDER BY 1, 2`,
          [from, to, zone],
        )
      ).rows,
      pieces: (await c.query(`SELECT lvl, lo, hi FROM integration_zone_day_pieces($1, $2, '1 day', $3) WHERE lvl = 'Z'`, [from, to, zone])).rows,
    }));
    expect(out.raw.length).toBeGreaterThan(20);
    expectSameRows(out.ours, out.raw, `${zone} day`);
    expect(out.service).toEqual(out.serviceRaw);
    // one piece of whole local days, from the first local midnight after `from` to the last before `to`
    expect(out.pieces).toHaveLength(1);
  });

  test('a New York DST day is one zone-day row of 23 or 25 hours', async () => {
    const { rows } = await db.pool.query(
      `SELECT DISTINCT bucket FROM integration_rollup_zone_day WHERE zone = 'America/New_York' AND bucket IN ('2026-03-08 05:00+00', '2026-03-09 04:00+00', '2026-11-01 04:00+00', '2026-11-02 05:00+00') ORDER BY 1`,
    );
    expect(rows.map((r) => (r.bucket as Date).toISOString())).toEqual(['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z', '2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z']);
  });

  test('the zone-day level is what the readers read: a row changed on purpose changes the view', async () => {
    const c = await db.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(`SET LOCAL TimeZone = 'Asia/Kolkata'`);
      const day = `date_trunc('day', now() - interval '3 days', 'Asia/Kolkata')`;
      const before = await c.query(`SELECT sum(count)::int AS n FROM integration_stats_daily WHERE day = ${day}`);
      await c.query(
        `UPDATE integration_rollup_zone_day SET calls = calls + 1000 WHERE zone = 'Asia/Kolkata' AND bucket = ${day} AND service_name = 'amocrm' AND action = 'sync_lead' AND status = 'success'`,
      );
      const after = await c.query(`SELECT sum(count)::int AS n FROM integration_stats_daily WHERE day = ${day}`);
      const api = await c.query(`SELECT sum(calls)::int AS n FROM integration_range_agg(now() - interval '10 days', now(), '1 day', 'asia/kolkata') WHERE bucket = ${day}`);
      expect(after.rows[0].n).toBe(before.rows[0].n + 1000);
      expect(api.rows[0].n).toBe(before.rows[0].n + 1000); // the zone is found whatever the case of its name
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  });

  test('days before complete_from are composed, not read from the level', async () => {
    const { rows } = await db.pool.query(
      `SELECT lvl, lo FROM integration_zone_day_pieces('2020-01-01', (SELECT complete_from FROM integration_day_zones() WHERE zone = 'Europe/Moscow') + interval '3 days', '1 day', 'Europe/Moscow') ORDER BY lo`,
    );
    const z = rows.filter((r) => r.lvl === 'Z');
    expect(z).toHaveLength(1);
    const { rows: cf } = await db.pool.query(`SELECT complete_from FROM integration_day_zones() WHERE zone = 'Europe/Moscow'`);
    expect((z[0].lo as Date).toISOString()).toBe((cf[0].complete_from as Date).toISOString());
  });

  test('widths other than 1 day, and zones not configured, read as before (no zone-day pieces)', async () => {
    const lv = async (width: string, zone: string) =>
      (await db.pool.query(`SELECT DISTINCT lvl FROM integration_zone_day_pieces(now() - interval '20 days', now(), $1::interval, $2)`, [width, zone])).rows.map((r) => r.lvl);
    expect(await lv('1 hour', 'Europe/Moscow')).not.toContain('Z');
    expect(await lv('2 days', 'Europe/Moscow')).not.toContain('Z');
    expect(await lv('1 day', 'Asia/Almaty')).not.toContain('Z');
    expect(await lv('1 day', 'Europe/Moscow')).toContain('Z');
  });
});

describe('adding and removing zones', () => {
  // The POSIX zone has served the reads above; without it there is room under the cap of 4.
  beforeAll(() => db.pool.query(`SELECT integration_remove_day_zone($1)`, [dstZone]));

  test('an unknown zone is 22023; UTC and its aliases are nothing to do; adding twice is harmless; the name is the tz database’s', async () => {
    await expect(db.pool.query(`SELECT integration_add_day_zone('Mars/Olympus')`)).rejects.toMatchObject({ code: '22023' });
    await expect(db.pool.query(`SELECT integration_add_day_zone('')`)).rejects.toMatchObject({ code: '22023' });
    for (const utc of ['UTC', 'Etc/UTC', 'gmt']) {
      const { rows } = await db.pool.query(`SELECT integration_add_day_zone($1) AS z`, [utc]);
      expect(rows[0].z).toBeNull();
    }
    const again = await db.pool.query(`SELECT integration_add_day_zone('europe/moscow') AS z`);
    expect(again.rows[0].z).toBe('Europe/Moscow');
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM integration_monitor_day_zones WHERE lower(zone) IN ('utc', 'etc/utc', 'gmt', 'europe/moscow')`);
    expect(rows[0].n).toBe(1);
  });

  test('a zone added later is backfilled exactly, and removing it drops its days (reads compose again)', async () => {
    const compare = async () =>
      inZone('Asia/Kathmandu', async (c) => ({
        ours: (await c.query(`SELECT ${DAILY_COLS} FROM integration_stats_daily`)).rows,
        seed: (await c.query(`SELECT ${DAILY_COLS} FROM seed.integration_stats_daily`)).rows,
        z: (await c.query(`SELECT count(*)::int AS n FROM integration_zone_day_pieces(now() - interval '30 days', now(), '1 day', 'Asia/Kathmandu') WHERE lvl = 'Z'`)).rows[0].n,
      }));
    const { rows } = await db.pool.query(`SELECT integration_add_day_zone('asia/kathmandu') AS z`);
    expect(rows[0].z).toBe('Asia/Kathmandu');
    const added = await compare();
    expect(added.z).toBe(1);
    expectSameRows(added.ours, added.seed, 'Kathmandu after backfill');
    const removed = await db.pool.query(`SELECT integration_remove_day_zone('Asia/Kathmandu') AS ok`);
    expect(removed.rows[0].ok).toBe(true);
    const left = await db.pool.query(`SELECT count(*)::int AS n FROM integration_rollup_zone_day WHERE zone = 'Asia/Kathmandu'`);
    expect(left.rows[0].n).toBe(0);
    const after = await compare();
    expect(after.z).toBe(0);
    expectSameRows(after.ours, after.seed, 'Kathmandu composed again');
    expect((await db.pool.query(`SELECT integration_remove_day_zone('Asia/Kathmandu') AS ok`)).rows[0].ok).toBe(false);
  });

  test('a backfill waits for an uncommitted insert, which is then counted once', async () => {
    const writer = await db.pool.connect();
    const adder = await db.pool.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(`INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at) VALUES ('zd_race', 'x', 'success', 42, now() - interval '2 days')`);
      let done = false;
      const adding = adder.query(`SELECT integration_add_day_zone('Asia/Tokyo')`).then(() => (done = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(done).toBe(false); // waiting for the writer's ROW EXCLUSIVE lock
      await writer.query('COMMIT');
      await adding;
      await db.pool.query(`INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at) VALUES ('zd_race', 'x', 'success', 8, now() - interval '2 days')`);
      const { rows } = await db.pool.query(
        `SELECT sum(calls)::int AS n, min(duration_min) AS mn, max(duration_max) AS mx FROM integration_rollup_zone_day WHERE zone = 'Asia/Tokyo' AND service_name = 'zd_race'`,
      );
      expect(rows[0]).toEqual({ n: 2, mn: 8, mx: 42 });
    } finally {
      writer.release();
      adder.release();
      await db.pool.query(`SELECT integration_remove_day_zone('Asia/Tokyo')`);
    }
  });

  test('retention trims zone days with the UTC days', async () => {
    await db.pool.query(`INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at) VALUES ('zd_old', 'x', 'success', 1, now() - interval '500 days')`);
    const count = async () => (await db.pool.query(`SELECT count(*)::int AS n FROM integration_rollup_zone_day WHERE service_name = 'zd_old'`)).rows[0].n;
    expect(await count()).toBe(ZONES.length);
    await db.pool.query(`SELECT cleanup_integration_rollups('400 days', '90 days')`);
    expect(await count()).toBe(0);
  });
});

describe('who may do what', () => {
  test('authenticated and the reader may not add, remove or list zones; service_role may', async () => {
    for (const role of ['authenticated', 'integration_monitor_reader', 'anon']) {
      for (const sql of [`SELECT integration_add_day_zone('Asia/Almaty')`, `SELECT integration_remove_day_zone('Europe/Moscow')`, `SELECT * FROM integration_day_zones()`]) {
        await expect(asRole(db.pool, role, (c) => c.query(sql))).rejects.toMatchObject({ code: '42501' });
      }
    }
    const zones = await asRole(db.pool, 'service_role', async (c) => {
      const added = (await c.query(`SELECT integration_add_day_zone('Asia/Almaty') AS z`)).rows[0].z;
      return { added, n: (await c.query(`SELECT count(*)::int AS n FROM integration_day_zones()`)).rows[0].n };
    });
    expect(zones).toEqual({ added: 'Asia/Almaty', n: ZONES.length + 1 }); // rolled back
  });

  test('integration_rollup_zone_day and the zone list: RLS on, read-only, policies like the other rollups', async () => {
    const rls = await db.pool.query(`SELECT relname, relrowsecurity FROM pg_class WHERE relname IN ('integration_rollup_zone_day', 'integration_monitor_day_zones') ORDER BY 1`);
    expect(rls.rows).toEqual([
      { relname: 'integration_monitor_day_zones', relrowsecurity: true },
      { relname: 'integration_rollup_zone_day', relrowsecurity: true },
    ]);
    const pol = await db.pool.query(`SELECT policyname, cmd, roles::text[] AS roles FROM pg_policies WHERE tablename = 'integration_rollup_zone_day' ORDER BY policyname`);
    expect(pol.rows).toEqual([
      { policyname: 'integration_rollup_zone_day_read', cmd: 'SELECT', roles: ['authenticated'] },
      { policyname: 'integration_rollup_zone_day_read_monitor_reader', cmd: 'SELECT', roles: ['integration_monitor_reader'] },
      { policyname: 'integration_rollup_zone_day_read_service_role', cmd: 'SELECT', roles: ['service_role'] },
    ]);
    const n = await asRole(db.pool, 'authenticated', (c) => c.query(`SELECT count(*)::int AS n FROM integration_rollup_zone_day`));
    expect(n.rows[0].n).toBeGreaterThan(0);
    await expect(asRole(db.pool, 'anon', (c) => c.query(`SELECT * FROM integration_rollup_zone_day LIMIT 1`))).rejects.toMatchObject({ code: '42501' });
    for (const role of ['authenticated', 'service_role']) {
      await expect(asRole(db.pool, role, (c) => c.query(`DELETE FROM integration_rollup_zone_day`))).rejects.toMatchObject({ code: '42501' });
      // the zone list is read under the read policies (integration_day_zone runs as its caller), written by the owner only
      await expect(asRole(db.pool, role, (c) => c.query(`DELETE FROM integration_monitor_day_zones`))).rejects.toMatchObject({ code: '42501' });
    }
  });
});
