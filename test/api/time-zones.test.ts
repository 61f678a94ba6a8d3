/**
 * `tz` on /stats and /timeseries: buckets are the zone's hours and days, worked out by hand below
 * (Asia/Almaty is UTC+5 all year since March 2024; New York's 2026 DST changes are 8 March and
 * 1 November, each at 02:00 local; Asia/Kolkata is UTC+5:30).
 */
import { DEFAULT_TIME_ZONE, isTimeZoneName } from '../../src/store/time-zone';
import { loadConfig } from '../../src/config';
import { Harness, insertRows, startHarness } from './harness';

let h: Harness;
let almaty: Harness;

beforeAll(async () => {
  h = await startHarness();
  almaty = await startHarness({ timeZone: 'Asia/Almaty' });
  for (const x of [h, almaty]) {
    await insertRows(x.db, [
      // UTC day 1 Nov; Almaty day 1 Nov (23:30 local)
      { service: 'amocrm', action: 'sync_lead', status: 'success', at: '2026-11-01T18:30:00Z', duration: 100 },
      // UTC day 1 Nov; Almaty day 2 Nov (00:30 local)
      { service: 'amocrm', action: 'sync_lead', status: 'success', at: '2026-11-01T19:30:00Z', duration: 300 },
      // UTC day 2 Nov; Almaty day 2 Nov (09:00 local)
      { service: 'amocrm', action: 'sync_lead', status: 'failed', at: '2026-11-02T04:00:00Z', duration: 500 },
      // UTC day 2 Nov; Almaty day 3 Nov (01:00 local)
      { service: 'amocrm', action: 'sync_lead', status: 'success', at: '2026-11-02T20:00:00Z', duration: 700 },
      // New York, 1 Nov: 01:30 EDT (05:30Z) and 01:30 EST (06:30Z) are two hours of one 25-hour day
      { service: 'resend', action: 'send_email', status: 'success', at: '2026-11-01T05:30:00Z', duration: 10 },
      { service: 'resend', action: 'send_email', status: 'success', at: '2026-11-01T06:30:00Z', duration: 20 },
      // New York, 8 March (23 hours: 05:00Z to 04:00Z) and 9 March
      { service: 'resend', action: 'send_email', status: 'success', at: '2026-03-08T05:10:00Z', duration: 30 },
      { service: 'resend', action: 'send_email', status: 'failed', at: '2026-03-09T03:50:00Z', duration: 40 },
      { service: 'resend', action: 'send_email', status: 'success', at: '2026-03-09T04:10:00Z', duration: 50 },
    ]);
  }
}, 60_000);
afterAll(async () => {
  await h.close();
  await almaty.close();
});

type StatsRow = { service_name: string; status: string; bucket: string; count: number; failed_count: number; failure_rate_percent: number; min_duration_ms: number };
const daysOf = (rows: StatsRow[]) => rows.map((r) => `${r.bucket} ${r.status} ${r.count} ${r.failure_rate_percent}`).sort();

describe('/stats', () => {
  const range = 'from=2026-11-01T00:00:00Z&to=2026-11-04T00:00:00Z&service=amocrm';

  test('days in Asia/Almaty start at 19:00 UTC and hold the calls of the Almaty day', async () => {
    const utc = await h.get(`/stats?${range}`);
    const alm = await h.get(`/stats?${range}&tz=Asia/Almaty`);
    expect([utc.statusCode, alm.statusCode]).toEqual([200, 200]);
    expect(utc.json().tz).toBe('UTC');
    expect(alm.json().tz).toBe('Asia/Almaty');
    expect(daysOf(utc.json().rows)).toEqual(['2026-11-01T00:00:00.000Z success 2 0', '2026-11-02T00:00:00.000Z failed 1 50', '2026-11-02T00:00:00.000Z success 1 50']);
    // The 19:30Z call moves to 2 November, the 20:00Z one to 3 November.
    expect(daysOf(alm.json().rows)).toEqual([
      '2026-10-31T19:00:00.000Z success 1 0',
      '2026-11-01T19:00:00.000Z failed 1 50',
      '2026-11-01T19:00:00.000Z success 1 50',
      '2026-11-02T19:00:00.000Z success 1 0',
    ]);
  });

  test('MONITOR_TIMEZONE (the server option) is the default, and an explicit tz still wins', async () => {
    const byDefault = (await almaty.get(`/stats?${range}`)).json();
    expect(byDefault.tz).toBe('Asia/Almaty');
    expect(byDefault.rows.map((r: StatsRow) => r.bucket)).toContain('2026-11-01T19:00:00.000Z');
    const utc = (await almaty.get(`/stats?${range}&tz=UTC`)).json();
    expect(utc.tz).toBe('UTC');
    expect(new Set(utc.rows.map((r: StatsRow) => r.bucket))).toEqual(new Set(['2026-11-01T00:00:00.000Z', '2026-11-02T00:00:00.000Z']));
  });

  test('hours in Asia/Kolkata start at :30 UTC', async () => {
    const res = await h.get(`/stats?from=2026-11-01T18:00:00Z&to=2026-11-01T21:00:00Z&interval=hour&service=amocrm&tz=Asia/Kolkata`);
    // 18:30Z = 00:00 IST and 19:30Z = 01:00 IST begin their own hours
    expect(
      res
        .json()
        .rows.map((r: StatsRow) => r.bucket)
        .sort(),
    ).toEqual(['2026-11-01T18:30:00.000Z', '2026-11-01T19:30:00.000Z']);
  });

  test('New York’s 1 November has two 01:00 hours; 8 March is 23 hours long', async () => {
    const hours = (await h.get(`/stats?from=2026-11-01T04:00:00Z&to=2026-11-02T05:00:00Z&interval=hour&service=resend&tz=America/New_York`)).json();
    expect(hours.rows.map((r: StatsRow) => r.bucket).sort()).toEqual(['2026-11-01T05:00:00.000Z', '2026-11-01T06:00:00.000Z']);
    const days = (await h.get(`/stats?from=2026-03-07T00:00:00Z&to=2026-03-11T00:00:00Z&service=resend&tz=America/New_York`)).json();
    // 05:10Z and 03:50Z (+1 day) are both 8 March in New York; 04:10Z on the 9th is 00:10 EDT, 9 March
    expect(daysOf(days.rows)).toEqual(['2026-03-08T05:00:00.000Z failed 1 50', '2026-03-08T05:00:00.000Z success 1 50', '2026-03-09T04:00:00.000Z success 1 0']);
  });
});

describe('/timeseries', () => {
  const points = async (q: string) => {
    const res = await h.get(`/timeseries?${q}`);
    expect(res.statusCode).toBe(200);
    return res.json() as { tz: string; interval_ms: number; series: Array<{ points: Array<[number, number | null]> }> };
  };

  test('a DST day has 25 (1 November) or 23 (8 March) hourly buckets in New York', async () => {
    const fall = await points('metric=volume&interval=1h&from=2026-11-01T04:00:00Z&to=2026-11-02T05:00:00Z&tz=America/New_York');
    expect(fall.tz).toBe('America/New_York');
    expect(fall.series[0].points).toHaveLength(25);
    const spring = await points('metric=volume&interval=1h&from=2026-03-08T05:00:00Z&to=2026-03-09T04:00:00Z&tz=America/New_York');
    expect(spring.series[0].points).toHaveLength(23);
  });

  test('daily buckets in Asia/Almaty: volumes per Almaty day, points at 19:00 UTC, empty days filled', async () => {
    const s = await points('metric=volume&interval=1d&service=amocrm&from=2026-10-30T19:00:00Z&to=2026-11-03T19:00:00Z&tz=Asia/Almaty');
    expect(s.series[0].points).toEqual([
      [Date.parse('2026-10-30T19:00:00Z'), 0],
      [Date.parse('2026-10-31T19:00:00Z'), 1],
      [Date.parse('2026-11-01T19:00:00Z'), 2],
      [Date.parse('2026-11-02T19:00:00Z'), 1],
    ]);
    const utc = await points('metric=volume&interval=1d&service=amocrm&from=2026-10-31T00:00:00Z&to=2026-11-03T00:00:00Z');
    expect(utc.tz).toBe('UTC');
    expect(utc.series[0].points).toEqual([
      [Date.parse('2026-10-31T00:00:00Z'), 0],
      [Date.parse('2026-11-01T00:00:00Z'), 2],
      [Date.parse('2026-11-02T00:00:00Z'), 2],
    ]);
  });

  test('failure rate and p95 per Almaty day (the zone versions of every series source)', async () => {
    const q = 'interval=1d&service=amocrm&from=2026-11-01T19:00:00Z&to=2026-11-02T19:00:00Z&tz=Asia/Almaty';
    expect((await points(`metric=failure_rate&${q}`)).series[0].points).toEqual([[Date.parse('2026-11-01T19:00:00Z'), 50]]);
    expect((await points(`metric=latency_avg&${q}`)).series[0].points).toEqual([[Date.parse('2026-11-01T19:00:00Z'), 400]]);
    // per status (histograms by action and status): success only 300 ms, failed only 500 ms;
    // per service: 300 and 500, p95 interpolated to 490 — each within the histogram's 2.5 %
    const byStatus = (await points(`metric=latency_p95&group_by=status&${q}`)).series.map((x) => x.points[0][1] as number).sort((a, b) => a - b);
    const perService = (await points(`metric=latency_p95&${q}`)).series[0].points[0][1] as number;
    const near = (v: number, want: number) => Math.abs(v - want) <= 0.025 * want;
    expect([near(byStatus[0], 300), near(byStatus[1], 500), near(perService, 490)]).toEqual([true, true, true]);
  });

  test('5-minute buckets are the same in every zone (offsets are whole quarter hours)', async () => {
    const q = 'metric=volume&interval=5m&from=2026-11-01T18:00:00Z&to=2026-11-01T20:00:00Z';
    const utc = await points(q);
    const kathmandu = await points(`${q}&tz=Asia/Kathmandu`);
    expect(kathmandu.tz).toBe('Asia/Kathmandu');
    expect(kathmandu.series).toEqual(utc.series);
  });
});

describe('validation', () => {
  test.each(['Mars/Olympus', '+03:00', 'UTC+3', '../etc/passwd', 'Europe/', 'x'.repeat(80)])('tz=%s is a 400 naming tz', async (tz) => {
    for (const path of ['/stats', '/timeseries?metric=volume']) {
      const res = await h.get(`${path}${path.includes('?') ? '&' : '?'}tz=${encodeURIComponent(tz)}`);
      expect([path, res.statusCode, res.json().field]).toEqual([path, 400, 'tz']);
      expect(res.json().error).toMatch(/tz/);
    }
  });

  test('IANA names, any case, are accepted', () => {
    for (const tz of ['UTC', 'Asia/Almaty', 'asia/almaty', 'America/Argentina/Buenos_Aires', 'Etc/GMT+3']) expect([tz, isTimeZoneName(tz)]).toEqual([tz, true]);
  });

  test('MONITOR_TIMEZONE: default UTC, a wrong name stops start-up with one clear line', () => {
    expect(loadConfig({}).timeZone).toBe(DEFAULT_TIME_ZONE);
    expect(loadConfig({ MONITOR_TIMEZONE: ' Asia/Almaty ' }).timeZone).toBe('Asia/Almaty');
    expect(() => loadConfig({ MONITOR_TIMEZONE: 'Almaty' })).toThrow(/^MONITOR_TIMEZONE must be an IANA time zone name .*"Almaty"$/);
  });
});

/** Node's UTC offset of `zone` at `at`, in minutes. */
function nodeOffsetMinutes(zone: string, at: Date): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(at).find((p) => p.type === 'timeZoneName')!.value;
  const m = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name);
  if (!m) throw new Error(`unexpected offset ${name} for ${zone}`);
  return m[1] ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

describe('names both sides read the same way', () => {
  // IST: Node reads India (+05:30), PostgreSQL the abbreviation of Israel (+02:00); the others are
  // abbreviations, POSIX rules or legacy links whose meaning depends on who reads them.
  test.each(['IST', 'EST', 'MST', 'HST', 'CET', 'EST5EDT', 'PRC', 'Israel', 'NZ', 'GB', 'Japan', 'Zulu', 'GMT', 'US/Eastern'])('tz=%s is a 400 naming tz', async (tz) => {
    const res = await h.get(`/stats?tz=${encodeURIComponent(tz)}`);
    expect([tz, res.statusCode, res.json().field]).toEqual([tz, 400, 'tz']);
    expect(isTimeZoneName(tz)).toBe(false);
  });

  test('every name Node knows that is accepted is a zone PostgreSQL knows by that name, with the same offsets (2000–2026)', async () => {
    const accepted = Intl.supportedValuesOf('timeZone').filter(isTimeZoneName);
    expect(accepted.length).toBeGreaterThan(300);
    const instants = ['2000-01-15T12:00:00Z', '2013-07-15T12:00:00Z', '2026-01-15T12:00:00Z', '2025-07-15T12:00:00Z', '2026-01-15T12:00:00Z'];
    const { rows } = await h.db.pool.query<{ name: string; at: Date; minutes: number; known: boolean }>(
      `SELECT z AS name, t AS at,
              (extract(epoch FROM (t AT TIME ZONE z) - (t AT TIME ZONE 'UTC')) / 60)::int AS minutes,
              EXISTS (SELECT 1 FROM pg_timezone_names n WHERE lower(n.name) = lower(z)) AS known
         FROM unnest($1::text[]) z, unnest($2::timestamptz[]) t`,
      [accepted, instants],
    );
    expect(rows.filter((r) => !r.known).map((r) => r.name)).toEqual([]);
    const differ = rows.filter((r) => r.minutes !== nodeOffsetMinutes(r.name, r.at)).map((r) => `${r.name} ${r.at.toISOString()}: pg ${r.minutes}, node ${nodeOffsetMinutes(r.name, r.at)}`);
    // (Past instants only: each side's tz database may know a different future, e.g. a region's
    // announced change, which is a version difference, not a naming one.)
    expect(differ).toEqual([]);
  });
});
