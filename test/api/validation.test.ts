/**
 * Bad input is a 400 naming the parameter, before any SQL runs; an unauthenticated caller gets
 * 401 before learning anything about its parameters.
 */
import { Harness, startHarness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const long = 'a'.repeat(5000);
const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

const cases: Array<[string, string]> = [
  // dates
  ['/stats?from=yesterday', 'from'],
  ['/stats?to=2026-13-01T00:00:00Z', 'to'],
  ['/stats?from=2026-02-30T00:00:00Z', 'from'],
  ['/stats?from=2026-01-01', 'from'],
  ['/stats?from=', 'from'],
  ['/stats?from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z', 'from'],
  ['/stats?from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'from'],
  ['/timeseries?metric=volume&from=2026-01-01T23:59:60Z&to=2026-01-02T00:00:00Z', 'from'],
  ['/failures?from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z', 'from'],
  // enums
  ['/stats?interval=week', 'interval'],
  ['/stats?status=exploded', 'status'],
  ['/timeseries', 'metric'],
  ['/timeseries?metric=latency_p42', 'metric'],
  ['/timeseries?metric=volume&group_by=entity', 'group_by'],
  ['/timeseries?metric=volume&interval=5w', 'interval'],
  ['/timeseries?metric=volume&interval=0m', 'interval'],
  ['/health?window=forever', 'window'],
  ['/health?window=0h', 'window'],
  ['/health?window=9999d', 'window'],
  // numbers
  ['/failures?limit=0', 'limit'],
  ['/failures?limit=1000000000', 'limit'],
  ['/failures?limit=-5', 'limit'],
  ['/failures?limit=2.5', 'limit'],
  ['/failures?limit=ten', 'limit'],
  ['/logs?limit=1001', 'limit'],
  // arrays where scalars belong
  ['/failures?limit=5&limit=6', 'limit'],
  ['/stats?interval=day&interval=hour', 'interval'],
  ['/timeseries?metric=volume&metric=failure_rate', 'metric'],
  ['/logs?entity_type=lead&entity_type=student', 'entity_type'],
  ['/stats?from=2026-01-01T00:00:00Z&from=2026-01-02T00:00:00Z', 'from'],
  // SQL fragments, very long strings, junk
  ["/stats?service=amocrm'%3B%20DROP%20TABLE%20integration_logs%3B--", 'service'],
  ['/stats?action=1%20OR%201%3D1', 'action'],
  [`/stats?service=${long}`, 'service'],
  [`/failures?before=${long}`, 'before'],
  ['/failures?before=%27%20OR%201%3D1--', 'before'],
  [`/failures?before=${cursor(['2026-01-01T00:00:00Z', 'not-a-uuid'])}`, 'before'],
  [`/logs?before=${cursor(["2026-01-01T00:00:00Z'--", '0b6f3a3e-6f55-4d5e-9d7a-3c1c2a8e9f10'])}`, 'before'],
  ['/logs?entity_id=42', 'entity_id'],
  ['/logs/not-a-uuid', 'id'],
  ['/failures?entity_id=%27%3B--', 'entity_id'],
  // unknown parameters
  ['/stats?limit=5', 'limit'],
  ['/health?service=amocrm', 'service'],
  ['/services?x=1', 'x'],
  ['/logs/0b6f3a3e-6f55-4d5e-9d7a-3c1c2a8e9f10?verbose=1', 'verbose'],
  ['/stats?service[]=amocrm', 'service[]'],
];

describe('bad input → 400 { error, field }', () => {
  it.each(cases)('%s → field %s', async (path, field) => {
    const res = await h.get(path);
    expect({ status: res.statusCode, field: res.json().field }).toEqual({ status: 400, field });
    expect(typeof res.json().error).toBe('string');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  });

  it('checks the token before the parameters', async () => {
    const res = await h.get('/stats?interval=week', { token: null });
    expect(res.statusCode).toBe(401);
  });

  it('unknown routes and methods are JSON 404s', async () => {
    for (const [method, path] of [
      ['GET', '/api/admin/integrations/monitoring/nope'],
      ['POST', '/api/admin/integrations/monitoring/stats'],
      ['DELETE', '/api/admin/integrations/monitoring/logs/0b6f3a3e-6f55-4d5e-9d7a-3c1c2a8e9f10'],
    ]) {
      const res = await h.request(method, path, { headers: { authorization: `Bearer ${h.tokens.service_role}` } });
      expect({ method, path, status: res.statusCode }).toEqual({ method, path, status: 404 });
      expect(typeof res.json().error).toBe('string');
    }
  });

  it('/healthz answers without a token and without data', async () => {
    const res = await h.get('/healthz', { token: null });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect((await h.get('/healthz', { token: null })).json()).toEqual({ status: 'ok' });
  });
});
