/**
 * The plugin's tests run on recorded API responses (test/plugin/fixtures/*.json). This test keeps
 * them honest: it runs the real API on a real Postgres with fixed rows and checks that the API
 * still answers every recorded request with exactly the recorded body. `RECORD_FIXTURES=1`
 * rewrites the files from the live API instead.
 */
import * as fs from 'fs';
import * as path from 'path';

import { FixtureRow, Harness, insertRows, startHarness } from '../api/harness';

const FIXTURES = path.join(__dirname, '..', 'plugin', 'fixtures');
const RECORD = process.env.RECORD_FIXTURES === '1';

export const LEAD_ID = '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';
const T0 = Date.parse('2026-11-20T00:00:00.000Z');
const at = (hours: number, minutes = 0) => new Date(T0 + hours * 3_600_000 + minutes * 60_000);
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** Fixed history on 2026-11-20 00:00–04:00 UTC. */
const ROWS: FixtureRow[] = [
  { id: id(1), service: 'resend', action: 'send_email', status: 'success', at: at(0, 5), duration: 100 },
  { id: id(2), service: 'resend', action: 'send_email', status: 'success', at: at(0, 10), duration: 120 },
  { id: id(3), service: 'resend', action: 'send_email', status: 'success', at: at(0, 15), duration: 140 },
  { id: id(4), service: 'resend', action: 'send_email', status: 'success', at: at(0, 20), duration: 160 },
  { id: id(5), service: 'resend', action: 'send_email', status: 'failed', at: at(0, 25), duration: 900, error: '429 Too Many Requests' },
  { id: id(6), service: 'resend', action: 'send_email', status: 'success', at: at(1, 5), duration: 110 },
  { id: id(7), service: 'resend', action: 'send_email', status: 'success', at: at(1, 10), duration: 130 },
  { id: id(8), service: 'resend', action: 'send_email', status: 'success', at: at(1, 15), duration: 150 },
  { id: id(9), service: 'telegram', action: 'send_message', status: 'success', at: at(0, 30), duration: 50 },
  { id: id(10), service: 'telegram', action: 'send_message', status: 'success', at: at(0, 35), duration: 70 },
  { id: id(11), service: 'telegram', action: 'send_message', status: 'failed', at: at(2, 5), duration: 3000, error: 'Bad Request: chat not found' },
  { id: id(12), service: 'telegram', action: 'send_message', status: 'success', at: at(2, 10), duration: 60 },
  { id: id(13), service: 'amocrm', action: 'sync_lead', status: 'success', at: at(1, 30), duration: 300, entityType: 'lead', entityId: LEAD_ID },
  { id: id(14), service: 'amocrm', action: 'sync_lead', status: 'failed', at: at(3, 30), duration: 5000, entityType: 'lead', entityId: LEAD_ID, error: 'validation-errors: price must be a number' },
  { id: id(15), service: 'resend', action: 'send_batch', status: 'success', at: at(2, 40), duration: 200 },
  { id: id(16), service: 'resend', action: 'send_batch', status: 'success', at: at(2, 45), duration: 220 },
];

const RANGE = 'from=2026-11-20T00:00:00.000Z&to=2026-11-20T04:00:00.000Z';

/**
 * name → request (path under the API prefix) and how to compare: `exact` bodies; `approx` for
 * percentiles from histograms (same series and buckets, values within 5 %); `shape` for bodies
 * relative to the clock (same keys).
 */
type Compare = 'exact' | 'approx' | 'shape';
const REQUESTS: Array<{ name: string; path: string; token?: null; compare: Compare }> = [
  { name: 'services', path: '/services', compare: 'exact' },
  { name: 'timeseries-failure-rate-by-service', path: `/timeseries?metric=failure_rate&group_by=service&interval=1h&${RANGE}&tz=UTC`, compare: 'exact' },
  { name: 'timeseries-volume', path: `/timeseries?metric=volume&interval=1h&${RANGE}&tz=UTC`, compare: 'exact' },
  { name: 'timeseries-latency-p95-by-action', path: `/timeseries?metric=latency_p95&group_by=action&service=resend&interval=1h&${RANGE}&tz=UTC`, compare: 'approx' },
  { name: 'failures', path: `/failures?limit=10&${RANGE}`, compare: 'exact' },
  { name: 'logs-lead', path: `/logs?entity_type=lead&entity_id=${LEAD_ID}&limit=100`, compare: 'exact' },
  { name: 'health', path: '/health?window=24h', compare: 'shape' },
  { name: 'error-400-metric', path: '/timeseries?metric=bogus', compare: 'exact' },
  { name: 'error-401', path: '/services', token: null, compare: 'exact' },
];

type Series = { labels: Record<string, string>; points: Array<[number, number | null]> };
function expectApprox(live: { series: Series[] }, recorded: { series: Series[] }) {
  expect(live.series.map((s) => s.labels)).toEqual(recorded.series.map((s) => s.labels));
  live.series.forEach((s, i) => {
    const r = recorded.series[i];
    expect(s.points.map((p) => p[0])).toEqual(r.points.map((p) => p[0]));
    s.points.forEach(([, v], j) => {
      const want = r.points[j][1];
      if (want === null) {
        expect(v).toBeNull();
      } else {
        expect(Math.abs((v as number) - want)).toBeLessThanOrEqual(want * 0.05);
      }
    });
  });
}

let api: Harness;

beforeAll(async () => {
  api = await startHarness();
  const now = Date.now();
  await insertRows(api.db, [
    ...ROWS,
    // Recent calls, so /health?window=24h has something to say.
    { service: 'resend', action: 'send_email', status: 'success', at: new Date(now - 3_600_000), duration: 150 },
    { service: 'telegram', action: 'send_message', status: 'failed', at: new Date(now - 1_800_000), duration: 2000, error: 'Too Many Requests' },
  ]);
});

afterAll(async () => {
  await api?.close();
});

describe.each(REQUESTS)('recorded API response $name', ({ name, path: p, token, compare }) => {
  const file = path.join(FIXTURES, `${name}.json`);

  test(RECORD ? 'is recorded from the live API' : 'still matches the live API', async () => {
    const reply = await api.get(p, token === null ? { token: null } : {});
    const live = { request: p, status: reply.statusCode, body: reply.json() };
    if (RECORD) {
      // Never record a server failure as if it were the API's answer.
      expect(live.status).toBeLessThan(500);
      fs.mkdirSync(FIXTURES, { recursive: true });
      fs.writeFileSync(file, `${JSON.stringify(live, null, 2)}\n`);
      return;
    }
    const recorded = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(live.status).toBe(recorded.status);
    if (compare === 'exact') {
      expect(live.body).toEqual(recorded.body);
    } else if (compare === 'approx') {
      expectApprox(live.body, recorded.body);
    } else {
      // Relative to the clock: same keys, and the services with recent calls are listed.
      expect(Object.keys(live.body).sort()).toEqual(Object.keys(recorded.body).sort());
      const names = (b: { services: Array<{ service_name: string }> }) => b.services.map((s) => s.service_name);
      expect(names(live.body)).toEqual(expect.arrayContaining(names(recorded.body)));
    }
  });
});
