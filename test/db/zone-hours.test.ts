/**
 * Zone hours (migration 013): for configured day zones whose local hours are not UTC hours (:30/:45
 * offsets), the hours kept whole answer exactly what the seed's literal hourly view and raw
 * grouping answer — after a backfill, after inserts, UPDATEs moving rows across hours and DELETEs
 * through the triggers, across DST changes (St John's, and a :30 POSIX zone with a change inside
 * the hourly view's window) — the readers really read them, whole-hour zones store none, removing a
 * zone drops them, and only the triggers write them.
 */
import type { PoolClient } from 'pg';
import { COLUMNS, STAGING_TABLE } from '../../bench/data';
import { SEED_SCHEMA_SQL } from '../../bench/seed-schema';
import { asRole, createTestDatabase, TestDatabase } from '../helpers/db';
import { expectSameRows, RAW_BY, stageZoneRows, zoneWithDstInWindow } from '../helpers/time-zones';

let db: TestDatabase;
/** A UTC+5:30 zone with DST (UTC+6:30) ending ~10 hours ago: a DST change inside the hourly view. */
let dstZone: string;
const HALF_ZONES = ['Asia/Kolkata', 'Asia/Kathmandu', 'America/St_Johns'];
const WHOLE_ZONES = ['Europe/Moscow', 'America/New_York'];

const HOURLY_COLS = 'service_name, action, status, hour AS bucket, count, avg_duration_ms, min_duration_ms, max_duration_ms';
// Unaligned ends, over both 2026 DST changes of St John's (8 March, 1 November) and recent rows.
const RANGES: Array<[string, string]> = [
  ['2026-03-06 07:13:27.5+00', '2026-03-11 01:02:03+00'],
  ['2026-10-30 19:59:59.999+00', '2026-11-04 04:44:44+00'],
];

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

const zoneHourRows = async (zone: string): Promise<number> => (await db.pool.query(`SELECT count(*)::int AS n FROM integration_rollup_zone_hour WHERE zone = $1`, [zone])).rows[0].n;

const hourlyPieces = async (zone: string): Promise<string[]> =>
  (await db.pool.query(`SELECT DISTINCT lvl FROM integration_zone_day_pieces(now() - interval '24 hours', 'infinity', '1 hour', $1)`, [zone])).rows.map((r) => r.lvl);

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(SEED_SCHEMA_SQL);
  await db.pool.query('GRANT USAGE ON SCHEMA seed TO authenticated; GRANT SELECT ON ALL TABLES IN SCHEMA seed TO authenticated');
  await db.pool.query(`SELECT count(*) FROM ensure_integration_log_partitions(7, 42)`);
  await stageZoneRows(db.pool);
  await db.pool.query(`INSERT INTO seed.integration_logs (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING_TABLE}`);
  // Two thirds before the zones are added (backfilled), the rest after (through the triggers).
  await db.pool.query(`INSERT INTO integration_logs (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING_TABLE} WHERE duration_ms IS NULL OR duration_ms % 3 <> 0`);
  dstZone = zoneWithDstInWindow(Date.now(), '5:30');
  // Six zones, one of them POSIX: more than integration_add_day_zone takes, so through the owner's
  // integration_keep_day_zone (the same backfill; zones kept before those rules must read exactly).
  for (const zone of [...HALF_ZONES, ...WHOLE_ZONES, dstZone]) await db.pool.query(`SELECT integration_keep_day_zone($1)`, [zone]);
  await db.pool.query(`INSERT INTO integration_logs (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING_TABLE} WHERE duration_ms % 3 = 0`);
  // UPDATEs that move rows across local hours (by 7 h 13 min and by 29 min, across :30 and :45
  // boundaries) and change durations, statuses and retries; DELETEs.
  await onBoth((t) => `UPDATE ${t} SET created_at = created_at - interval '7 hours 13 minutes', status = 'failed' WHERE duration_ms % 11 = 0`);
  await onBoth((t) => `UPDATE ${t} SET created_at = created_at + interval '29 minutes' WHERE duration_ms % 23 = 4`);
  await onBoth((t) => `UPDATE ${t} SET duration_ms = duration_ms * 7, retry_count = 2 WHERE duration_ms % 13 = 1`);
  await onBoth((t) => `UPDATE ${t} SET duration_ms = 1 WHERE duration_ms % 17 = 2`);
  await onBoth((t) => `DELETE FROM ${t} WHERE duration_ms % 19 = 3`);
}, 180_000);
afterAll(async () => {
  await db.drop();
});

describe('with :30/:45 day zones configured, hours stay exact', () => {
  test('half-hour zones keep their hours; whole-hour zones keep none', async () => {
    for (const zone of HALF_ZONES) expect(await zoneHourRows(zone)).toBeGreaterThan(1000);
    expect(await zoneHourRows(dstZone)).toBeGreaterThan(1000);
    for (const zone of WHOLE_ZONES) expect(await zoneHourRows(zone)).toBe(0);
    // and none of a half-hour zone's stored hours is a UTC hour
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM integration_rollup_zone_hour WHERE bucket = date_trunc('hour', bucket)`);
    expect(rows[0].n).toBe(0);
  });

  test.each([...HALF_ZONES, ...WHOLE_ZONES, 'a :30 zone with DST in the hourly window'])('the hourly view equals the seed’s literal view in %s', async (name) => {
    const zone = name.startsWith('a :30') ? dstZone : name;
    const out = await inZone(zone, async (c) => ({
      ours: (await c.query(`SELECT ${HOURLY_COLS} FROM integration_stats_hourly`)).rows,
      seed: (await c.query(`SELECT ${HOURLY_COLS} FROM seed.integration_stats_hourly`)).rows,
    }));
    expect(out.seed.length).toBeGreaterThan(50);
    expectSameRows(out.ours, out.seed, `${name} hourly`);
    // half-hour zones read the zone-hour level; whole-hour ones the UTC hours as before
    expect((await hourlyPieces(zone)).includes('Y')).toBe(!WHOLE_ZONES.includes(zone));
  });

  const cases = HALF_ZONES.flatMap((zone) => RANGES.map(([from, to]) => [zone, from, to]));
  test.each(cases)('integration_range_agg and _service in the zone, per hour, equal raw grouping in %s, [%s, %s)', async (zone, from, to) => {
    const out = await inZone('UTC', async (c) => ({
      ours: (await c.query(`SELECT * FROM integration_range_agg($1, $2, '1 hour', $3)`, [from, to, zone])).rows,
      raw: (await c.query(RAW_BY('hour'), [from, to, zone])).rows,
      service: (await c.query(`SELECT bucket, service_name, calls, failed FROM integration_range_agg_service($1, $2, '1 hour', $3) ORDER BY 1, 2`, [from, to, zone])).rows,
      serviceRaw: (
        await c.query(
          `SELECT date_trunc('hour', created_at, $3) AS bucket, service_name, count(*) AS calls, count(*) FILTER (WHERE status = 'failed') AS failed
           FROM seed.integration_logs WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2 ORDER BY 1, 2`,
          [from, to, zone],
        )
      ).rows,
      pieces: (await c.query(`SELECT lvl, lo, hi FROM integration_zone_day_pieces($1, $2, '1 hour', $3) WHERE lvl = 'Y'`, [from, to, zone])).rows,
    }));
    expect(out.raw.length).toBeGreaterThan(200);
    expectSameRows(out.ours, out.raw, `${zone} hour`);
    expect(out.service).toEqual(out.serviceRaw);
    // most of the range is read from zone hours: at most two runs (a DST change's hours composed)
    expect(out.pieces.length).toBeGreaterThanOrEqual(1);
    expect(out.pieces.length).toBeLessThanOrEqual(2);
    const covered = out.pieces.reduce((a, p) => a + ((p.hi as Date).getTime() - (p.lo as Date).getTime()), 0);
    expect(covered).toBeGreaterThan(((Date.parse(to) - Date.parse(from)) * 9) / 10);
  });

  test('the zone-hour level is what the readers read: a row changed on purpose changes the view and /stats’ read', async () => {
    const c = await db.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(`SET LOCAL TimeZone = 'Asia/Kathmandu'`);
      const hour = `date_trunc('hour', now() - interval '5 hours', 'Asia/Kathmandu')`;
      const before = await c.query(`SELECT sum(count)::int AS n FROM integration_stats_hourly WHERE hour = ${hour}`);
      const changed = await c.query(`UPDATE integration_rollup_zone_hour SET calls = calls + 1000 WHERE zone = 'Asia/Kathmandu' AND bucket = ${hour} AND ctid = (
        SELECT ctid FROM integration_rollup_zone_hour WHERE zone = 'Asia/Kathmandu' AND bucket = ${hour} LIMIT 1)`);
      expect(changed.rowCount).toBe(1);
      const after = await c.query(`SELECT sum(count)::int AS n FROM integration_stats_hourly WHERE hour = ${hour}`);
      const api = await c.query(`SELECT sum(calls)::int AS n FROM integration_range_agg(now() - interval '2 days', now(), '1 hour', 'asia/kathmandu') WHERE bucket = ${hour}`);
      const service = await c.query(`SELECT sum(calls)::int AS n FROM integration_range_agg_service(now() - interval '2 days', now(), '1 hour', 'Asia/Kathmandu') WHERE bucket = ${hour}`);
      expect(before.rows[0].n).toBeGreaterThan(0);
      expect(after.rows[0].n).toBe(before.rows[0].n + 1000);
      expect(api.rows[0].n).toBe(before.rows[0].n + 1000);
      expect(service.rows[0].n).toBe(before.rows[0].n + 1000);
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  });

  test('hours before complete_from, other widths and zones not configured read as before (no zone-hour pieces)', async () => {
    const lv = async (from: string, to: string, width: string, zone: string) =>
      (await db.pool.query(`SELECT DISTINCT lvl FROM integration_zone_day_pieces($1::timestamptz, $2::timestamptz, $3::interval, $4)`, [from, to, width, zone])).rows.map((r) => r.lvl);
    const { rows } = await db.pool.query(
      `SELECT complete_from, (complete_from - interval '3 days')::text AS before, (complete_from + interval '2 days')::text AS after FROM integration_day_zones() WHERE zone = 'Asia/Kolkata'`,
    );
    expect(await lv(rows[0].before, rows[0].complete_from.toISOString(), '1 hour', 'Asia/Kolkata')).not.toContain('Y');
    const across = await db.pool.query(`SELECT min(lo) AS lo FROM integration_zone_day_pieces($1::timestamptz, $2::timestamptz, '1 hour', 'Asia/Kolkata') WHERE lvl = 'Y'`, [
      rows[0].before,
      rows[0].after,
    ]);
    expect((across.rows[0].lo as Date).toISOString()).toBe((rows[0].complete_from as Date).toISOString());
    expect(await lv('2026-11-01', '2026-11-03', '1 hour', 'Asia/Kolkata')).toContain('Y');
    expect(await lv('2026-11-01', '2026-11-03', '30 minutes', 'Asia/Kolkata')).not.toContain('Y');
    expect(await lv('2026-11-01', '2026-11-03', '1 hour', 'Asia/Colombo')).not.toContain('Y'); // +5:30, not configured
  });
});

describe('adding, removing, retention', () => {
  test('removing a zone deletes its hours (reads compose again, still exact); adding it again backfills them exactly', async () => {
    const compare = async () =>
      inZone('America/St_Johns', async (c) => ({
        ours: (await c.query(`SELECT ${HOURLY_COLS} FROM integration_stats_hourly`)).rows,
        seed: (await c.query(`SELECT ${HOURLY_COLS} FROM seed.integration_stats_hourly`)).rows,
        range: (await c.query(`SELECT * FROM integration_range_agg($1, $2, '1 hour', 'America/St_Johns')`, RANGES[1])).rows,
        raw: (await c.query(RAW_BY('hour'), [...RANGES[1], 'America/St_Johns'])).rows,
      }));
    expect((await db.pool.query(`SELECT integration_remove_day_zone('America/St_Johns') AS ok`)).rows[0].ok).toBe(true);
    expect(await zoneHourRows('America/St_Johns')).toBe(0);
    expect(await hourlyPieces('America/St_Johns')).not.toContain('Y');
    const removed = await compare();
    expectSameRows(removed.ours, removed.seed, 'St Johns composed');
    expectSameRows(removed.range, removed.raw, 'St Johns range composed');

    // (six zones here, more than integration_add_day_zone takes: the owner's function behind it)
    expect((await db.pool.query(`SELECT integration_keep_day_zone('America/St_Johns') AS z`)).rows[0].z).toBe('America/St_Johns');
    expect(await zoneHourRows('America/St_Johns')).toBeGreaterThan(1000);
    expect(await hourlyPieces('America/St_Johns')).toContain('Y');
    const added = await compare();
    expectSameRows(added.ours, added.seed, 'St Johns after backfill');
    expectSameRows(added.range, added.raw, 'St Johns range after backfill');
  });

  test('retention trims zone hours with the UTC hours (kept past minute retention)', async () => {
    await db.pool.query(
      `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at)
       VALUES ('zh_old', 'x', 'success', 1, now() - interval '500 days'), ('zh_mid', 'x', 'success', 1, now() - interval '200 days')`,
    );
    const count = async (svc: string) => (await db.pool.query(`SELECT count(*)::int AS n FROM integration_rollup_zone_hour WHERE service_name = $1`, [svc])).rows[0].n;
    expect(await count('zh_old')).toBe(HALF_ZONES.length + 1);
    expect(await count('zh_mid')).toBe(HALF_ZONES.length + 1);
    await db.pool.query(`SELECT cleanup_integration_rollups('400 days', '90 days')`);
    expect(await count('zh_old')).toBe(0);
    expect(await count('zh_mid')).toBe(HALF_ZONES.length + 1);
  });
});

describe('who may do what', () => {
  test('integration_rollup_zone_hour: RLS on, read-only, policies like the other rollups', async () => {
    const rls = await db.pool.query(`SELECT relrowsecurity FROM pg_class WHERE relname = 'integration_rollup_zone_hour'`);
    expect(rls.rows).toEqual([{ relrowsecurity: true }]);
    const pol = await db.pool.query(`SELECT policyname, cmd, roles::text[] AS roles FROM pg_policies WHERE tablename = 'integration_rollup_zone_hour' ORDER BY policyname`);
    expect(pol.rows).toEqual([
      { policyname: 'integration_rollup_zone_hour_read', cmd: 'SELECT', roles: ['authenticated'] },
      { policyname: 'integration_rollup_zone_hour_read_monitor_reader', cmd: 'SELECT', roles: ['integration_monitor_reader'] },
      { policyname: 'integration_rollup_zone_hour_read_service_role', cmd: 'SELECT', roles: ['service_role'] },
    ]);
    for (const role of ['authenticated', 'service_role', 'integration_monitor_reader']) {
      const n = await asRole(db.pool, role, (c) => c.query(`SELECT count(*)::int AS n FROM integration_rollup_zone_hour`));
      expect(n.rows[0].n).toBeGreaterThan(0);
    }
    await expect(asRole(db.pool, 'anon', (c) => c.query(`SELECT * FROM integration_rollup_zone_hour LIMIT 1`))).rejects.toMatchObject({ code: '42501' });
    for (const role of ['authenticated', 'service_role', 'integration_monitor_reader']) {
      await expect(asRole(db.pool, role, (c) => c.query(`DELETE FROM integration_rollup_zone_hour`))).rejects.toMatchObject({ code: '42501' });
      await expect(
        asRole(db.pool, role, (c) => c.query(`INSERT INTO integration_rollup_zone_hour VALUES ('Asia/Kolkata', now(), 's', 'a', 'success', 1, 0, 0, NULL, NULL, 0, 0)`)),
      ).rejects.toMatchObject({ code: '42501' });
    }
  });
});
