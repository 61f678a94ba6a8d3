/**
 * Each endpoint's numbers on fixture rows, against values worked out by hand in the comments.
 * Stats/timeseries fixtures sit at fixed past dates and are queried with explicit ranges; health
 * fixtures sit just before now because health looks back from now.
 */
import { Harness, insertRows, startHarness } from './harness';

let h: Harness;
const LEAD = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const D1 = '2026-11-01';
const D2 = '2026-11-02';
const ms = (s: string) => Date.parse(s);
let leadIds: string[];

beforeAll(async () => {
  // Health thresholds for this file: ≥5 calls before a rate can make a service down; 10 % degraded, 50 % down.
  h = await startHarness({ health: { minRequests: 5, degradedFailureRatePercent: 10, downFailureRatePercent: 50, degradedP95Ms: 0 } });
  await insertRows(h.db, [
    { service: 'amocrm', action: 'sync_lead', status: 'success', at: `${D1}T10:15:00Z`, duration: 100 },
    { service: 'amocrm', action: 'sync_lead', status: 'success', at: `${D1}T10:45:00Z`, duration: 300 },
    { service: 'amocrm', action: 'sync_lead', status: 'failed', at: `${D1}T11:05:00Z`, duration: 500 },
    { service: 'amocrm', action: 'sync_lead', status: 'success', at: `${D2}T09:00:00Z`, duration: 200 },
    { service: 'resend', action: 'send_email', status: 'success', at: `${D1}T12:00:00Z`, duration: 50 },
    { service: 'resend', action: 'send_email', status: 'failed', at: `${D1}T12:01:00Z`, duration: null },
    { service: 'telegram', action: 'send_message', status: 'pending', at: `${D2}T08:00:00Z`, duration: 1000 },
  ]);
  // Drill-down rows for one lead: three calls within the same millisecond, told apart by microseconds.
  leadIds = await insertRows(h.db, [
    { service: 'amocrm', action: 'update_lead', status: 'failed', at: `${D1}T15:00:00.000001Z`, duration: 10, entityType: 'lead', entityId: LEAD },
    { service: 'amocrm', action: 'update_lead', status: 'failed', at: `${D1}T15:00:00.000002Z`, duration: 20, entityType: 'lead', entityId: LEAD },
    { service: 'amocrm', action: 'update_lead', status: 'failed', at: `${D1}T15:00:00.000003Z`, duration: 30, entityType: 'lead', entityId: LEAD },
  ]);
  const now = Date.now();
  const ago = (min: number) => new Date(now - min * 60_000);
  const rows: Parameters<typeof insertRows>[1] = [];
  // whapi: 1 call, failed → 100 % but below 5 calls → degraded, not down.
  rows.push({ service: 'whapi', action: 'send_message', status: 'failed', at: ago(30), duration: 400 });
  // mobizon: 10 calls in the window, 6 failed → 60 % → down; durations 10..100 → avg 55.
  for (let i = 0; i < 10; i++) rows.push({ service: 'mobizon', action: 'send_sms', status: i < 6 ? 'failed' : 'success', at: ago(60 + i), duration: 10 * (i + 1) });
  // …and one failure 25 h ago, outside the 24 h window.
  rows.push({ service: 'mobizon', action: 'send_sms', status: 'failed', at: ago(25 * 60), duration: 999 });
  // telegram: 20 calls, 1 failed → 5 % → ok; all 200 ms.
  for (let i = 0; i < 20; i++) rows.push({ service: 'telegram', action: 'send_message', status: i === 0 ? 'failed' : 'success', at: ago(120 + i), duration: 200 });
  await insertRows(h.db, rows);
});
afterAll(() => h.close());

describe('/stats', () => {
  const range = `from=${D1}T00:00:00Z&to=${D1}T23:59:59Z`.replace(`${D1}T23:59:59Z`, `${'2026-11-03'}T00:00:00Z`);

  it('daily: one row per service/action/status/day, newest day first, hand-computed numbers', async () => {
    const res = await h.get(`/stats?${range}&service=amocrm&service=resend&service=telegram&action=sync_lead&action=send_email&action=send_message`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.interval).toBe('day');
    const rows = body.rows.map((r: Record<string, unknown>) => ({ ...r, bucket: new Date(r.bucket as string).toISOString() }));
    const day1 = `${D1}T00:00:00.000Z`;
    const day2 = `${D2}T00:00:00.000Z`;
    // Newest bucket first.
    expect(rows.map((r: { bucket: string }) => r.bucket)).toEqual([day2, day2, day1, day1, day1, day1]);
    const pick = (s: string, st: string, b: string) => rows.find((r: Record<string, unknown>) => r.service_name === s && r.status === st && r.bucket === b);
    // amocrm day 1: 2 successes (100, 300 ms) and 1 failure (500 ms): failure rate 1/3 = 33.33 % on both rows.
    expect(pick('amocrm', 'success', day1)).toEqual({
      service_name: 'amocrm',
      action: 'sync_lead',
      status: 'success',
      bucket: day1,
      count: 2,
      avg_duration_ms: 200,
      min_duration_ms: 100,
      max_duration_ms: 300,
      failed_count: 0,
      success_count: 2,
      failure_rate_percent: 33.33,
    });
    expect(pick('amocrm', 'failed', day1)).toMatchObject({
      count: 1,
      avg_duration_ms: 500,
      min_duration_ms: 500,
      max_duration_ms: 500,
      failed_count: 1,
      success_count: 0,
      failure_rate_percent: 33.33,
    });
    // resend day 1: 1 success (50 ms), 1 failure without a duration: 50 %; the failure has no durations.
    expect(pick('resend', 'success', day1)).toMatchObject({ count: 1, avg_duration_ms: 50, failure_rate_percent: 50 });
    expect(pick('resend', 'failed', day1)).toMatchObject({ count: 1, avg_duration_ms: null, min_duration_ms: null, max_duration_ms: null, failed_count: 1, failure_rate_percent: 50 });
    // day 2: amocrm 1 success (200 ms) → 0.00 %; telegram 1 pending (1000 ms) → neither success nor failure.
    expect(pick('amocrm', 'success', day2)).toMatchObject({ count: 1, avg_duration_ms: 200, failure_rate_percent: 0 });
    expect(pick('telegram', 'pending', day2)).toMatchObject({ count: 1, avg_duration_ms: 1000, failed_count: 0, success_count: 0, failure_rate_percent: 0 });
  });

  it('hourly buckets and filters', async () => {
    const res = await h.get(`/stats?from=${D1}T10:00:00Z&to=${D1}T13:00:00Z&interval=hour&action=sync_lead&action=send_email`);
    const rows = res.json().rows.map((r: Record<string, unknown>) => [new Date(r.bucket as string).toISOString().slice(11, 16), r.service_name, r.status, r.count, r.failure_rate_percent]);
    expect(rows).toEqual([
      ['12:00', 'resend', 'failed', 1, 50],
      ['12:00', 'resend', 'success', 1, 50],
      ['11:00', 'amocrm', 'failed', 1, 100],
      ['10:00', 'amocrm', 'success', 2, 0],
    ]);
    // status filter narrows rows but keeps the rate of the whole service/action/bucket.
    const failed = await h.get(`/stats?${range}&status=failed&service=amocrm&action=sync_lead`);
    expect(failed.json().rows.map((r: Record<string, unknown>) => [r.status, r.count, r.failure_rate_percent])).toEqual([['failed', 1, 33.33]]);
  });

  it('defaults to the last 30 days', async () => {
    const body = (await h.get('/stats')).json();
    expect(Date.parse(body.to) - Date.parse(body.from)).toBe(30 * 86_400_000);
    expect(Math.abs(Date.parse(body.to) - Date.now())).toBeLessThan(60_000);
    // The fixture's day-1/day-2 rows are within 30 days of now only if now is before 2026-12-01.
    const services = new Set(body.rows.map((r: { service_name: string }) => r.service_name));
    expect(services.has('mobizon')).toBe(true);
  });
});

describe('/health', () => {
  it('per service: volume, failures, latency and a state with the minimum-volume guard', async () => {
    const res = await h.get('/health');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.window).toBe('24h');
    const by = Object.fromEntries(body.services.map((s: { service_name: string }) => [s.service_name, s]));
    expect(by.whapi).toMatchObject({ total_requests: 1, success_count: 0, failed_count: 1, failure_rate_percent: 100, avg_duration_ms: 400, state: 'degraded' });
    expect(by.mobizon).toMatchObject({ total_requests: 10, success_count: 4, failed_count: 6, failure_rate_percent: 60, avg_duration_ms: 55, state: 'down' });
    // p95 of 10..100 ms is 95.5 by percentile_cont; histograms are allowed 5 %.
    expect(Math.abs(by.mobizon.p95_duration_ms - 95.5) / 95.5).toBeLessThanOrEqual(0.05);
    expect(by.telegram).toMatchObject({ total_requests: 20, success_count: 19, failed_count: 1, failure_rate_percent: 5, avg_duration_ms: 200, state: 'ok' });
    expect(Math.abs(by.telegram.p95_duration_ms - 200) / 200).toBeLessThanOrEqual(0.05);
    // Newest call/failure: mobizon's newest call was 60 min ago and was a success? No: i=0 (60 min ago) failed.
    expect(Date.now() - Date.parse(by.mobizon.last_call_at)).toBeGreaterThanOrEqual(60 * 60_000);
    expect(Date.now() - Date.parse(by.mobizon.last_call_at)).toBeLessThan(62 * 60_000);
    expect(by.mobizon.last_failure_at).toBe(by.mobizon.last_call_at);
    // telegram's only failure is its oldest in-window call (120 min ago).
    expect(Date.now() - Date.parse(by.telegram.last_failure_at)).toBeGreaterThanOrEqual(120 * 60_000);
    // resend had no call in the window but is a known service: listed with zero volume, no rate, ok.
    expect(by.resend).toMatchObject({ total_requests: 0, failed_count: 0, failure_rate_percent: 0, state: 'ok' });
  });

  it('a narrower window sees fewer calls', async () => {
    const by = Object.fromEntries((await h.get('/health?window=65m')).json().services.map((s: { service_name: string }) => [s.service_name, s]));
    // mobizon calls at 60..69 min ago: 60..64 are inside 65 min (5 calls, all failed: i = 0..4).
    expect(by.mobizon).toMatchObject({ total_requests: 5, failed_count: 5, failure_rate_percent: 100, state: 'down' });
    expect(by.whapi).toMatchObject({ total_requests: 1 });
    expect(by.telegram).toMatchObject({ total_requests: 0, state: 'ok' });
  });
});

describe('/timeseries', () => {
  const range = `from=${D1}T10:00:00Z&to=${D1}T13:00:00Z&interval=1h&action=sync_lead&action=send_email`;
  const t = (hh: string) => ms(`${D1}T${hh}:00:00Z`);

  it('volume per service, hourly, empty buckets as 0', async () => {
    const body = (await h.get(`/timeseries?metric=volume&group_by=service&${range}`)).json();
    expect(body).toMatchObject({ metric: 'volume', unit: 'short', interval_ms: 3_600_000 });
    const by = Object.fromEntries(body.series.map((s: { labels: { service: string }; points: unknown }) => [s.labels.service, s.points]));
    expect(by.amocrm).toEqual([
      [t('10'), 2],
      [t('11'), 1],
      [t('12'), 0],
    ]);
    expect(by.resend).toEqual([
      [t('10'), 0],
      [t('11'), 0],
      [t('12'), 2],
    ]);
  });

  it('failure rate and average latency, ungrouped', async () => {
    const rate = (await h.get(`/timeseries?metric=failure_rate&${range}`)).json();
    expect(rate.unit).toBe('percent');
    expect(rate.series).toEqual([
      {
        labels: {},
        points: [
          [t('10'), 0],
          [t('11'), 100],
          [t('12'), 50],
        ],
      },
    ]);
    const avg = (await h.get(`/timeseries?metric=latency_avg&${range}`)).json();
    expect(avg.unit).toBe('ms');
    // 10:00 → (100+300)/2; 11:00 → 500; 12:00 → 50 (the failure has no duration).
    expect(avg.series[0].points).toEqual([
      [t('10'), 200],
      [t('11'), 500],
      [t('12'), 50],
    ]);
  });

  it('percentiles within 5 % and filters by status', async () => {
    const p50 = (await h.get(`/timeseries?metric=latency_p50&${range}&status=failed`)).json();
    const [[, at10], [, at11]] = p50.series[0].points;
    expect(at10).toBeNull(); // no failed call with a duration at 10:00
    expect(Math.abs(at11 - 500) / 500).toBeLessThanOrEqual(0.05);
  });

  it('widens a too-narrow interval to whole minutes', async () => {
    const body = (await h.get(`/timeseries?metric=volume&from=${D1}T10:00:00Z&to=${D1}T10:10:00Z&interval=15s`)).json();
    expect(body.interval_ms).toBe(60_000);
    expect(body.series[0].points).toHaveLength(10);
  });
});

describe('/failures and /logs', () => {
  it('failures newest first, filtered, paged with a cursor until next_before is null', async () => {
    const seen: string[] = [];
    let url = `/failures?service=amocrm&service=resend&from=${D1}T00:00:00Z&to=${D2}T00:00:00Z&limit=2`;
    for (let page = 0; page < 10; page++) {
      const body = (await h.get(url)).json();
      seen.push(...body.rows.map((r: { action: string; created_at: string }) => `${r.created_at} ${r.action}`));
      if (body.next_before === null) break;
      url = `/failures?service=amocrm&service=resend&from=${D1}T00:00:00Z&to=${D2}T00:00:00Z&limit=2&before=${body.next_before}`;
    }
    expect(seen).toEqual([
      `${D1}T15:00:00.000003Z update_lead`,
      `${D1}T15:00:00.000002Z update_lead`,
      `${D1}T15:00:00.000001Z update_lead`,
      `${D1}T12:01:00.000000Z send_email`,
      `${D1}T11:05:00.000000Z sync_lead`,
    ]);
  });

  it('failures default to 100 rows and filter by action and entity', async () => {
    const body = (await h.get('/failures')).json();
    // 3 lead + amocrm + resend + whapi + 6 + 1 mobizon + 1 telegram = 14 failures, all fit in one page.
    expect(body.rows).toHaveLength(14);
    expect(body.next_before).toBeNull();
    const ts = body.rows.map((r: { created_at: string }) => Date.parse(r.created_at));
    expect([...ts].sort((a, b) => b - a)).toEqual(ts);
    expect((await h.get(`/failures?entity_type=lead&entity_id=${LEAD}`)).json().rows).toHaveLength(3);
    expect((await h.get('/failures?action=send_sms')).json().rows).toHaveLength(7);
  });

  it('drill-down by entity, one page at a time (microseconds survive the cursor), and one log by id', async () => {
    const first = (await h.get(`/logs?entity_type=lead&entity_id=${LEAD}&limit=1`)).json();
    expect(first.rows.map((r: { id: string }) => r.id)).toEqual([leadIds[2]]);
    const second = (await h.get(`/logs?entity_type=lead&entity_id=${LEAD}&limit=1&before=${first.next_before}`)).json();
    expect(second.rows.map((r: { id: string }) => r.id)).toEqual([leadIds[1]]);
    const third = (await h.get(`/logs?entity_type=lead&entity_id=${LEAD}&limit=5&before=${second.next_before}`)).json();
    expect(third.rows.map((r: { id: string }) => r.id)).toEqual([leadIds[0]]);
    expect(third.next_before).toBeNull();

    const one = await h.get(`/logs/${leadIds[1]}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({
      id: leadIds[1],
      service_name: 'amocrm',
      action: 'update_lead',
      status: 'failed',
      related_entity_type: 'lead',
      related_entity_id: LEAD,
      duration_ms: 20,
      error_message: 'boom',
      created_at: `${D1}T15:00:00.000002Z`,
    });
    const missing = await h.get('/logs/00000000-0000-4000-8000-000000000000');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toMatch(/no log/);
  });
});

describe('/services', () => {
  it('every service with its actions, sorted', async () => {
    const body = (await h.get('/services')).json();
    expect(body.services).toEqual([
      { service_name: 'amocrm', actions: ['sync_lead', 'update_lead'] },
      { service_name: 'mobizon', actions: ['send_sms'] },
      { service_name: 'resend', actions: ['send_email'] },
      { service_name: 'telegram', actions: ['send_message'] },
      { service_name: 'whapi', actions: ['send_message'] },
    ]);
  });
});
