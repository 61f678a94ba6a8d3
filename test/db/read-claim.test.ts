/**
 * Migration 008: with a read claim set, an `authenticated` session reads nothing — raw rows, views,
 * rollups, read functions — unless request.jwt.claims carries the claim; unset, the seed's
 * behaviour. The objects to check are found in the catalog (everything `authenticated` may SELECT
 * or EXECUTE), so a table or function added later without the check fails this test.
 */
import { Pool, PoolClient } from 'pg';
import { carriesClaim, parseReadClaim } from '../../src/store/read-claim';
import { createTestDatabase, TestDatabase } from '../helpers/db';

let db: TestDatabase;
const RANGE = `now() - interval '3 days', now() + interval '1 minute'`;

/** How each data-returning read function is called; the value is a query yielding one row per result row. */
const READ_FUNCTIONS: Record<string, string> = {
  // The range readers in UTC and, through their zone path (009's), in a half-hour zone, so minute
  // rollups and raw edges are read too.
  'integration_range_agg(timestamp with time zone,timestamp with time zone,interval,text)': `SELECT * FROM integration_range_agg(${RANGE}, interval '1 hour')
    UNION ALL SELECT * FROM integration_range_agg(${RANGE}, interval '1 hour', 'Asia/Kolkata')`,
  'integration_hist_range(timestamp with time zone,timestamp with time zone,interval,text)': `SELECT * FROM integration_hist_range(${RANGE}, interval '1 hour')
    UNION ALL SELECT * FROM integration_hist_range(${RANGE}, interval '1 hour', 'Asia/Kolkata')`,
  'integration_hist_range_service(timestamp with time zone,timestamp with time zone,interval,text)': `SELECT * FROM integration_hist_range_service(${RANGE}, interval '1 hour')
    UNION ALL SELECT * FROM integration_hist_range_service(${RANGE}, interval '1 day', 'Asia/Kolkata')`,
  'integration_range_agg_service(timestamp with time zone,timestamp with time zone,interval,text)': `SELECT * FROM integration_range_agg_service(${RANGE}, interval '1 hour')
    UNION ALL SELECT * FROM integration_range_agg_service(${RANGE}, interval '1 day', 'Asia/Kolkata')`,
  'integration_last_call_at(text,timestamp with time zone,timestamp with time zone,boolean)': `SELECT t FROM integration_last_call_at('amocrm', ${RANGE}) t WHERE t IS NOT NULL`,
  'integration_known_services()': `SELECT * FROM integration_known_services()`,
  // 019's slowest calls: kept rows, and raw rows for the part-days at the range's ends
  'integration_slowest_calls(timestamp with time zone,timestamp with time zone,text[],text[],integer)': `SELECT * FROM integration_slowest_calls(${RANGE}, NULL, NULL)`,
  // The range readers' old *_zone names (kept for saved dashboards), in the same half-hour zone.
  'integration_range_agg_zone(timestamp with time zone,timestamp with time zone,interval,text)': `SELECT * FROM integration_range_agg_zone(${RANGE}, interval '1 hour', 'Asia/Kolkata')`,
  'integration_range_agg_service_zone(timestamp with time zone,timestamp with time zone,interval,text)': `SELECT * FROM integration_range_agg_service_zone(${RANGE}, interval '1 day', 'Asia/Kolkata')`,
  'integration_hist_range_zone(timestamp with time zone,timestamp with time zone,interval,text)': `SELECT * FROM integration_hist_range_zone(${RANGE}, interval '1 hour', 'Asia/Kolkata')`,
  'integration_hist_range_service_zone(timestamp with time zone,timestamp with time zone,interval,text)': `SELECT * FROM integration_hist_range_service_zone(${RANGE}, interval '1 day', 'Asia/Kolkata')`,
  // 010's percentile series, in UTC (whole days straight from the day histograms) and in a half-hour zone.
  'integration_hist_percentile_series_service_zone(timestamp with time zone,timestamp with time zone,interval,double precision,text)': `SELECT * FROM integration_hist_percentile_series_service_zone(${RANGE}, interval '1 day', 0.5, 'UTC') WHERE value IS NOT NULL`,
  'integration_hist_percentile_series_zone(timestamp with time zone,timestamp with time zone,interval,text[],double precision[],text)': `SELECT * FROM integration_hist_percentile_series_zone(${RANGE}, interval '1 day', ARRAY['amocrm', 'resend', 'telegram', 'mobizon', 'whapi'], ARRAY[0.5], 'Asia/Kolkata') WHERE ps[1] IS NOT NULL`,
  // Sub-hour percentile series straight from raw rows (per service, and of a set of services).
  'integration_raw_percentile_series(timestamp with time zone,timestamp with time zone,interval,text[],double precision[])': `SELECT * FROM integration_raw_percentile_series(${RANGE}, interval '5 minutes', NULL, ARRAY[0.5]) UNION ALL SELECT * FROM integration_raw_percentile_series(${RANGE}, interval '5 minutes', ARRAY['amocrm'], ARRAY[0.5])`,
  'integration_hist_hour_series(timestamp with time zone,timestamp with time zone,interval,timestamp with time zone,timestamp with time zone,text[])': `SELECT * FROM integration_hist_hour_series(now() - interval '3 days', now() + interval '1 minute', interval '6 hours', date_bin('1 hour', now() - interval '3 days', 'epoch') + interval '1 hour', date_bin('1 hour', now(), 'epoch'), NULL)`,
};
/** Executable by authenticated but returning no logged data (why, per function). */
const NOT_DATA = {
  'integration_range_bounds(timestamp with time zone,timestamp with time zone,interval)': 'arithmetic on its arguments',
  'integration_read_allowed()': 'the check itself',
  'integration_may_read()': 'the check, for argument-bound work',
  'integration_zone_work_ok(timestamp with time zone,timestamp with time zone,interval)': 'the bound on zone pieces: arithmetic',
  'integration_zone_bucket(timestamp with time zone,interval,text)': 'arithmetic on its arguments',
  'integration_reads_utc(text,interval)': 'arithmetic on its arguments',
  'integration_zone_buckets(timestamp with time zone,timestamp with time zone,interval,text)': 'the bucket starts of a range',
  'integration_zone_pieces(timestamp with time zone,timestamp with time zone,interval,text)': 'how a range splits into rollup levels',
  'integration_zone_day_pieces(timestamp with time zone,timestamp with time zone,interval,text)': 'the same, with the zone-day level',
  'integration_zone_hour_pieces(timestamp with time zone,timestamp with time zone,text)': 'the same for hours, with the zone-hour level',
  'integration_day_zone(text)': 'whether a zone’s days are kept, and from when (RLS: nothing without the claim)',
  'integration_minute_read_from()': 'the minute window’s start for readers, from the clock',
};

let tables: string[];
let functions: Array<{ sig: string; definer: boolean }>;

beforeAll(async () => {
  db = await createTestDatabase();
  const now = Date.now();
  // Recent rows (the hourly view, minute/hour edges) and rows two days back (day rollups).
  await db.pool.query(
    `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at, request_payload)
     SELECT s, a, st, d, at, '{"email": "customer@example.com"}'::jsonb
     FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[]) AS t(s, a, st, d, at)`,
    [
      ['amocrm', 'amocrm', 'resend', 'resend'],
      ['sync_lead', 'sync_lead', 'send_email', 'send_email'],
      ['success', 'failed', 'success', 'success'],
      [120, 340, 80, 95],
      [new Date(now - 30 * 60e3), new Date(now - 90 * 60e3), new Date(now - 2 * 86400e3), new Date(now - 50 * 3600e3)].map((d) => d.toISOString()),
    ],
  );
  // Kolkata's days kept (011), and its hours (013): the day and hour readers below then read the
  // zone-day and zone-hour levels too.
  await db.pool.query(`SELECT integration_add_day_zone('Asia/Kolkata')`);
  tables = (
    await db.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c
       WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
         AND NOT c.relispartition AND has_table_privilege('authenticated', c.oid, 'SELECT') ORDER BY 1`,
    )
  ).rows.map((r) => r.name);
  functions = (
    await db.pool.query<{ sig: string; definer: boolean }>(
      `SELECT p.oid::regprocedure::text AS sig, p.prosecdef AS definer FROM pg_proc p
       WHERE p.pronamespace = current_schema()::regnamespace AND p.provolatile <> 'i' AND p.prorettype <> 'trigger'::regtype
         AND has_function_privilege('authenticated', p.oid, 'EXECUTE') ORDER BY 1`,
    )
  ).rows;
});
afterAll(() => db.drop());

async function inTx<T>(pool: Pool, role: string, claims: Record<string, unknown> | null, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    if (claims) await c.query(`SELECT set_config('request.jwt.claims', $1, true)`, [JSON.stringify(claims)]);
    await c.query(`SET LOCAL ROLE ${role}`);
    return await fn(c);
  } finally {
    await c.query('ROLLBACK');
    c.release();
  }
}

/** Rows every readable object and read function yields to `role` with `claims`. */
async function readAll(pool: Pool, role: string, claims: Record<string, unknown> | null): Promise<Record<string, number>> {
  return inTx(pool, role, claims, async (c) => {
    const out: Record<string, number> = {};
    for (const t of tables) out[t] = (await c.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n;
    for (const [sig, sql] of Object.entries(READ_FUNCTIONS)) out[sig] = (await c.query(`SELECT count(*)::int AS n FROM (${sql}) x`)).rows[0].n;
    return out;
  });
}

const setTableClaim = (value: string | null) => db.pool.query(`UPDATE integration_monitor_settings SET read_claim = $1`, [value]);
const admin = { role: 'authenticated', sub: 'u1', app_metadata: { role: 'admin', provider: 'email' } };
const customer = { role: 'authenticated', sub: 'u2', app_metadata: { provider: 'email' } };

describe('what the check covers', () => {
  test('every object authenticated can read is covered, and none of its functions bypasses RLS', () => {
    // Both seed views, the raw table and all twelve rollup tables (011's zone days, 013's zone hours among them).
    expect(tables).toEqual(
      expect.arrayContaining([
        'integration_logs',
        'integration_stats_hourly',
        'integration_stats_daily',
        'integration_rollup_minute',
        'integration_rollup_zone_day',
        'integration_rollup_zone_hour',
        'integration_service_actions',
      ]),
    );
    expect(tables).toHaveLength(17); // the day zone list (integration_day_zone reads it as the caller), 019's slowest calls
    expect(functions.map((f) => f.sig).sort()).toEqual([...Object.keys(READ_FUNCTIONS), ...Object.keys(NOT_DATA)].sort());
    // A SECURITY DEFINER read function would skip the policies; only the check, which reads the
    // owner-only settings, is one.
    expect(functions.filter((f) => f.definer).map((f) => f.sig)).toEqual(['integration_read_allowed()']);
  });
});

describe('read claim set in integration_monitor_settings', () => {
  let full: Record<string, number>;
  beforeAll(async () => {
    full = await readAll(db.pool, 'service_role', null);
    for (const [k, n] of Object.entries(full)) if (n === 0) throw new Error(`fixture gives ${k} no rows`);
    await setTableClaim('app_metadata.role=admin');
  });
  afterAll(() => setTableClaim(null));

  test('authenticated without the claim reads 0 rows everywhere', async () => {
    const none = Object.fromEntries(Object.keys(full).map((k) => [k, 0]));
    expect(await readAll(db.pool, 'authenticated', customer)).toEqual(none);
    expect(await readAll(db.pool, 'authenticated', { role: 'authenticated' })).toEqual(none);
    expect(await readAll(db.pool, 'authenticated', null)).toEqual(none); // no claims at all
  });

  test('authenticated with the claim reads everything service_role reads', async () => {
    expect(await readAll(db.pool, 'authenticated', admin)).toEqual(full);
  });

  test('service_role and integration_monitor_reader (no JWT) keep reading', async () => {
    expect(await readAll(db.pool, 'service_role', customer)).toEqual(full);
    expect(await readAll(db.pool, 'integration_monitor_reader', null)).toEqual(full);
  });

  test('anon still reads nothing at all', async () => {
    await expect(inTx(db.pool, 'anon', admin, (c) => c.query('SELECT 1 FROM integration_logs'))).rejects.toMatchObject({ code: '42501' });
  });

  test("the settings table is the owner's alone", async () => {
    for (const role of ['authenticated', 'service_role', 'integration_monitor_reader']) {
      await expect(inTx(db.pool, role, admin, (c) => c.query('SELECT * FROM integration_monitor_settings'))).rejects.toMatchObject({ code: '42501' });
    }
    await expect(setTableClaim('no equals sign')).rejects.toMatchObject({ code: '23514' });
  });
});

describe('read claim as the database parameter intmon.read_claim', () => {
  test('ALTER DATABASE … SET applies to new sessions and wins over the table', async () => {
    await setTableClaim('app_metadata.role=admin');
    await db.pool.query(`ALTER DATABASE ${db.name} SET intmon.read_claim = 'app_metadata.tier=ops'`);
    const fresh = new Pool({ connectionString: db.url, max: 1 });
    try {
      const ops = { role: 'authenticated', app_metadata: { tier: 'ops' } };
      const n = (pool: Pool, claims: object) =>
        inTx(pool, 'authenticated', claims as Record<string, unknown>, async (c) => (await c.query('SELECT count(*)::int AS n FROM integration_logs')).rows[0].n);
      expect(await n(fresh, ops)).toBe(4);
      expect(await n(fresh, admin)).toBe(0);
    } finally {
      await fresh.end();
      await db.pool.query(`ALTER DATABASE ${db.name} RESET intmon.read_claim`);
      await setTableClaim(null);
    }
  });
});

describe("unset: the seed's behaviour", () => {
  test('authenticated without any claim reads everything', async () => {
    const full = await readAll(db.pool, 'service_role', null);
    expect(await readAll(db.pool, 'authenticated', customer)).toEqual(full);
    expect(await readAll(db.pool, 'authenticated', null)).toEqual(full);
  });
});

describe('claim matching (integration_read_allowed)', () => {
  const allowed = (requirement: string, claims: string | null) =>
    inTx(db.pool, 'authenticated', null, async (c) => {
      await c.query(`SELECT set_config('intmon.read_claim', $1, true)`, [requirement]);
      if (claims !== null) await c.query(`SELECT set_config('request.jwt.claims', $1, true)`, [claims]);
      return (await c.query('SELECT integration_read_allowed() AS ok')).rows[0].ok as boolean;
    });
  test.each([
    ['app_metadata.role=admin', { app_metadata: { role: 'admin' } }, true],
    [' app_metadata.role = admin ', { app_metadata: { role: 'admin' } }, true],
    ['app_metadata.role=admin', { app_metadata: { role: 'administrator' } }, false],
    ['app_metadata.role=admin', { role: 'admin' }, false],
    ['app_metadata.roles=admin', { app_metadata: { roles: ['viewer', 'admin'] } }, true],
    ['app_metadata.roles=admin', { app_metadata: { roles: ['viewer'] } }, false],
    ['app_metadata.role=admin', { app_metadata: { role: { name: 'admin' } } }, false],
    ['is_staff=true', { is_staff: true }, true],
    ['is_staff=true', { is_staff: 'false' }, false],
    ['level=3', { level: 3 }, true],
    ['email=a=b@x', { email: 'a=b@x' }, true],
    ['roles.1=admin', { roles: ['viewer', 'admin'] }, true],
  ])('%s with %j → %s, in the database and in the API alike', async (requirement, claims, ok) => {
    expect(await allowed(requirement, JSON.stringify(claims))).toBe(ok);
    expect(carriesClaim(claims, parseReadClaim(requirement)!)).toBe(ok);
  });
  test('fails closed: no claims, claims that are not JSON, a requirement without "="', async () => {
    expect(await allowed('a=b', null)).toBe(false);
    expect(await allowed('a=b', '{not json')).toBe(false);
    expect(await allowed('a', JSON.stringify({ a: 'a' }))).toBe(false);
    expect(await allowed('=b', JSON.stringify({ '': 'b' }))).toBe(false);
    expect(await allowed('', JSON.stringify({}))).toBe(true); // empty: unset
  });
});
