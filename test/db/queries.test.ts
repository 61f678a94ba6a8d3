import type { PoolClient } from 'pg';
import { decodeCursor, encodeCursor } from '../../src/api/cursor';
import { type Cursor, queryFailures, queryHealth, queryLog, queryLogs, queryServices, queryStats, queryTimeseries } from '../../src/store/queries';
import { asRole, createTestDatabase, TestDatabase } from '../helpers/db';

const LEAD = '11111111-2222-4333-8444-555555555555';
const T = (s: string) => new Date(`2026-01-${s}Z`);

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(
    `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at, related_entity_type, related_entity_id, error_message)
     VALUES ('amocrm', 'sync_lead', 'success', 100, '2026-01-10T10:00:10Z', 'lead', $1, NULL),
            ('amocrm', 'sync_lead', 'failed', 300, '2026-01-10T10:20:00Z', 'lead', $1, 'boom'),
            ('amocrm', 'sync_lead', 'success', 200, '2026-01-10T11:05:00Z', NULL, NULL, NULL),
            ('amocrm', 'sync_lead', 'pending', NULL, '2026-01-10T11:06:00Z', NULL, NULL, NULL),
            ('resend', 'send_email', 'success', 50, '2026-01-10T10:30:00Z', NULL, NULL, NULL),
            ('resend', 'send_email', 'failed', 70, '2026-01-11T09:00:00Z', 'lead', $1, 'bounced')`,
    [LEAD],
  );
});
afterAll(async () => {
  await db.drop();
});

/** As the API runs them: inside a transaction as `authenticated`. */
const run = <T>(fn: (c: PoolClient) => Promise<T>) => asRole(db.pool, 'authenticated', fn);

test('queryStats by hour: newest first, failure rate over all statuses of service/action/hour', async () => {
  const rows = await run((c) => queryStats(c, { from: T('10T00:00:00'), to: T('12T00:00:00'), interval: 'hour', filters: {} }));
  expect(rows.map((r) => [r.bucket, r.service_name, r.status, r.count, r.avg_duration_ms, r.min_duration_ms, r.max_duration_ms, r.failed_count, r.success_count, r.failure_rate_percent])).toEqual([
    ['2026-01-11T09:00:00.000Z', 'resend', 'failed', 1, 70, 70, 70, 1, 0, 100],
    ['2026-01-10T11:00:00.000Z', 'amocrm', 'pending', 1, null, null, null, 0, 0, 0],
    ['2026-01-10T11:00:00.000Z', 'amocrm', 'success', 1, 200, 200, 200, 0, 1, 0],
    ['2026-01-10T10:00:00.000Z', 'amocrm', 'failed', 1, 300, 300, 300, 1, 0, 50],
    ['2026-01-10T10:00:00.000Z', 'amocrm', 'success', 1, 100, 100, 100, 0, 1, 50],
    ['2026-01-10T10:00:00.000Z', 'resend', 'success', 1, 50, 50, 50, 0, 1, 0],
  ]);
});

test('queryStats by day with filters; the status filter does not change the rate', async () => {
  const failed = await run((c) => queryStats(c, { from: T('01T00:00:00'), to: T('31T00:00:00'), interval: 'day', filters: { statuses: ['failed'] } }));
  expect(failed.map((r) => [r.bucket, r.service_name, r.count, r.failure_rate_percent])).toEqual([
    ['2026-01-11T00:00:00.000Z', 'resend', 1, 100],
    ['2026-01-10T00:00:00.000Z', 'amocrm', 1, 25],
  ]);
  const amo = await run((c) => queryStats(c, { from: T('10T10:10:00'), to: T('31T00:00:00'), interval: 'day', filters: { services: ['amocrm'], actions: [], statuses: [] } }));
  expect(amo.map((r) => [r.status, r.count])).toEqual([
    ['failed', 1],
    ['pending', 1],
    ['success', 1],
  ]);
});

test('queryHealth: one row per known service, window totals, p95 from histograms, last call/failure', async () => {
  const rows = await run((c) => queryHealth(c, { from: T('10T10:15:00'), to: T('10T12:00:00') }));
  expect(rows).toHaveLength(2);
  const [amo, resend] = rows;
  expect(amo).toMatchObject({
    service_name: 'amocrm',
    total_requests: 3,
    success_count: 1,
    failed_count: 1,
    failure_rate_percent: 33.33,
    avg_duration_ms: 250,
    last_call_at: '2026-01-10T11:06:00.000Z',
    last_failure_at: '2026-01-10T10:20:00.000Z',
  });
  // percentile_cont(0.95) of {200, 300} = 295
  expect(Math.abs(amo.p95_duration_ms! - 295) / 295).toBeLessThan(0.05);
  expect(resend).toMatchObject({
    service_name: 'resend',
    total_requests: 1,
    failed_count: 0,
    failure_rate_percent: 0,
    avg_duration_ms: 50,
    last_call_at: '2026-01-10T10:30:00.000Z',
    last_failure_at: null,
  });
  // A window with no calls still lists the known services, with zeros.
  const quiet = await run((c) => queryHealth(c, { from: T('20T00:00:00'), to: T('21T00:00:00') }));
  expect(quiet.map((r) => [r.service_name, r.total_requests, r.failure_rate_percent, r.avg_duration_ms, r.p95_duration_ms])).toEqual([
    ['amocrm', 0, 0, null, null],
    ['resend', 0, 0, null, null],
  ]);
});

test('queryTimeseries: volume, grouped, failure rate, latency, sub-minute buckets aligned to the epoch', async () => {
  const vol = await run((c) => queryTimeseries(c, { metric: 'volume', from: T('10T10:00:00'), to: T('10T12:00:00'), intervalMs: 3600e3, filters: {} }));
  expect(vol).toEqual([
    {
      labels: {},
      points: [
        [T('10T10:00:00').getTime(), 3],
        [T('10T11:00:00').getTime(), 2],
      ],
    },
  ]);

  const grouped = await run((c) => queryTimeseries(c, { metric: 'volume', from: T('10T10:00:00'), to: T('10T12:00:00'), intervalMs: 3600e3, groupBy: 'service', filters: {} }));
  expect(grouped).toEqual([
    {
      labels: { service: 'amocrm' },
      points: [
        [T('10T10:00:00').getTime(), 2],
        [T('10T11:00:00').getTime(), 2],
      ],
    },
    {
      labels: { service: 'resend' },
      points: [
        [T('10T10:00:00').getTime(), 1],
        [T('10T11:00:00').getTime(), 0],
      ],
    },
  ]);

  const rate = await run((c) => queryTimeseries(c, { metric: 'failure_rate', from: T('10T10:00:00'), to: T('10T11:00:00'), intervalMs: 1800e3, filters: {} }));
  expect(rate[0].points).toEqual([
    [T('10T10:00:00').getTime(), 50],
    [T('10T10:30:00').getTime(), 0],
  ]);
  // Per-service counts (no action/status split) and the full rollups (split by status) agree.
  const rateByStatus = await run((c) => queryTimeseries(c, { metric: 'failure_rate', from: T('10T10:00:00'), to: T('10T11:00:00'), intervalMs: 1800e3, groupBy: 'status', filters: {} }));
  const failedShare = rateByStatus.find((x) => x.labels.status === 'failed')!.points;
  expect(failedShare).toEqual([
    [T('10T10:00:00').getTime(), 100],
    [T('10T10:30:00').getTime(), null],
  ]); // no failed row in that bucket: no value
  const volByStatus = await run((c) => queryTimeseries(c, { metric: 'volume', from: T('10T10:00:00'), to: T('10T11:00:00'), intervalMs: 1800e3, groupBy: 'status', filters: {} }));
  const volTotal = await run((c) => queryTimeseries(c, { metric: 'volume', from: T('10T10:00:00'), to: T('10T11:00:00'), intervalMs: 1800e3, filters: {} }));
  expect(volTotal[0].points.map(([t, v]) => [t, v])).toEqual(volTotal[0].points.map(([t]) => [t, volByStatus.reduce((n, x) => n + ((x.points.find((pt) => pt[0] === t)?.[1] as number) ?? 0), 0)]));

  const avg = await run((c) => queryTimeseries(c, { metric: 'latency_avg', from: T('10T00:00:00'), to: T('12T00:00:00'), intervalMs: 86400e3, groupBy: 'status', filters: { services: ['amocrm'] } }));
  expect(avg.map((s) => [s.labels, s.points[0][1]])).toEqual([
    [{ status: 'failed' }, 300],
    [{ status: 'pending' }, null],
    [{ status: 'success' }, 150],
  ]);

  const p50 = await run((c) => queryTimeseries(c, { metric: 'latency_p50', from: T('10T10:00:00'), to: T('10T10:01:00'), intervalMs: 20e3, filters: {} }));
  expect(p50[0].points.map((p) => p[0])).toEqual([0, 20e3, 40e3].map((d) => T('10T10:00:00').getTime() + d));
  expect(Math.abs((p50[0].points[0][1] as number) - 100) / 100).toBeLessThan(0.05);
  expect(p50[0].points[1][1]).toBeNull();

  // Split by status (full histograms) and per service (per-service histograms) agree with the data.
  const byStatus = await run((c) =>
    queryTimeseries(c, {
      metric: 'latency_p99',
      from: T('10T00:00:00'),
      to: T('12T00:00:00'),
      intervalMs: 86400e3,
      groupBy: 'status',
      filters: { services: ['amocrm'], statuses: ['success', 'failed'] },
    }),
  );
  expect(byStatus.map((x) => x.labels)).toEqual([{ status: 'failed' }, { status: 'success' }]);
  expect(Math.abs((byStatus[0].points[0][1] as number) - 300) / 300).toBeLessThan(0.05);
  expect(Math.abs((byStatus[1].points[0][1] as number) - 199) / 199).toBeLessThan(0.05); // percentile_cont(0.99) of {100, 200}
  const perService = await run((c) => queryTimeseries(c, { metric: 'latency_p50', from: T('10T00:00:00'), to: T('12T00:00:00'), intervalMs: 86400e3, groupBy: 'service', filters: {} }));
  expect(perService.map((x) => [x.labels, x.points[0][1] === null ? null : Math.round(x.points[0][1] as number)])).toEqual([
    [{ service: 'amocrm' }, expect.any(Number)],
    [{ service: 'resend' }, expect.any(Number)],
  ]);
  expect(Math.abs((perService[0].points[0][1] as number) - 200) / 200).toBeLessThan(0.05); // median of {100, 300, 200}
  expect(Math.abs((perService[1].points[0][1] as number) - 50) / 50).toBeLessThan(0.05);

  await expect(run((c) => queryTimeseries(c, { metric: 'volume', from: T('10T10:00:00'), to: T('10T11:00:00'), intervalMs: 500, filters: {} }))).rejects.toThrow(/at least 1 s/);
});

test('percentile series grouped by service equal each service alone (read by the dashboards function vs merged here), in any zone and width', async () => {
  const from = T('09T00:00:00');
  const to = T('12T00:00:00');
  for (const [intervalMs, timeZone] of [
    [86400e3, 'UTC'],
    [86400e3, 'Asia/Kolkata'],
    [3600e3, 'Asia/Kathmandu'],
    [300e3, 'UTC'],
    [60e3, 'Europe/Moscow'],
  ] as const) {
    const grouped = await run((c) => queryTimeseries(c, { metric: 'latency_p95', from, to, intervalMs, timeZone, groupBy: 'service', filters: {} }));
    expect(grouped.map((x) => x.labels.service)).toEqual(['amocrm', 'resend']);
    for (const g of grouped) {
      const alone = await run((c) => queryTimeseries(c, { metric: 'latency_p95', from, to, intervalMs, timeZone, filters: { services: [g.labels.service!] } }));
      expect([intervalMs, timeZone, g.labels.service, g.points]).toEqual([intervalMs, timeZone, g.labels.service, alone[0].points]);
      expect(g.points.some(([, v]) => v !== null)).toBe(true);
    }
  }
});

test('queryFailures: newest first, keyset pages, filters', async () => {
  const p1 = await run((c) => queryFailures(c, { limit: 1, filters: {} }));
  expect(p1.rows.map((r) => [r.service_name, r.created_at, r.error_message])).toEqual([['resend', '2026-01-11T09:00:00.000000Z', 'bounced']]);
  // The cursor is the last row's (created_at, id), with created_at's microseconds as text.
  expect(p1.next).toEqual({ createdAt: p1.rows[0].created_at, id: p1.rows[0].id });
  const p2 = await run((c) => queryFailures(c, { limit: 1, before: p1.next!, filters: {} }));
  expect(p2.rows.map((r) => r.service_name)).toEqual(['amocrm']);
  expect(p2.next).toBeNull();
  const amo = await run((c) => queryFailures(c, { limit: 10, filters: { services: ['amocrm'] } }));
  expect(amo.rows).toHaveLength(1);
  const ranged = await run((c) => queryFailures(c, { limit: 10, from: T('11T00:00:00'), to: T('12T00:00:00'), filters: {} }));
  expect(ranged.rows.map((r) => r.service_name)).toEqual(['resend']);
  const byEntity = await run((c) => queryFailures(c, { limit: 10, filters: {}, entityType: 'lead', entityId: LEAD }));
  expect(byEntity.rows).toHaveLength(2);
});

test('queryLogs: entity drill-down and pages over rows sharing one timestamp', async () => {
  const lead = await run((c) => queryLogs(c, { limit: 10, filters: {}, entityType: 'lead', entityId: LEAD }));
  expect(lead.rows.map((r) => r.created_at)).toEqual(['2026-01-11T09:00:00.000000Z', '2026-01-10T10:20:00.000000Z', '2026-01-10T10:00:10.000000Z']);
  expect(lead.rows[0]).toMatchObject({ related_entity_type: 'lead', related_entity_id: LEAD, status: 'failed', duration_ms: 70, retry_count: 0 });

  await db.pool.query(`INSERT INTO integration_logs (service_name, action, status, created_at) SELECT 'same', 'ts', 'success', '2026-01-05T00:00:00.123456Z' FROM generate_series(1, 7)`);
  const seen: string[] = [];
  let before: Cursor | null = null;
  for (let i = 0; i < 10; i++) {
    const page = await run((c) => queryLogs(c, { limit: 3, before: before ?? undefined, filters: { services: ['same'] } }));
    seen.push(...page.rows.map((r) => r.id));
    expect(page.rows.every((r) => r.created_at === '2026-01-05T00:00:00.123456Z')).toBe(true);
    if (!page.next) break;
    before = decodeCursor(encodeCursor(page.next)); // through the API's own codec
  }
  expect(seen).toHaveLength(7);
  expect(new Set(seen).size).toBe(7);
});

test('queryLog by id; unknown id → null', async () => {
  const page = await run((c) => queryLogs(c, { limit: 1, filters: { services: ['resend'] } }));
  const one = await run((c) => queryLog(c, page.rows[0].id));
  expect(one).toEqual(page.rows[0]);
  expect(await run((c) => queryLog(c, '00000000-0000-4000-8000-000000000000'))).toBeNull();
});

test('queryServices: services with their actions', async () => {
  const s = await run((c) => queryServices(c));
  expect(s).toEqual(
    expect.arrayContaining([
      { service_name: 'amocrm', actions: ['sync_lead'] },
      { service_name: 'resend', actions: ['send_email'] },
    ]),
  );
});
