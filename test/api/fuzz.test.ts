/**
 * 2,400 random and malformed requests from a seeded generator (FUZZ_SEED to replay another run):
 * no response may be a 5xx, and every 4xx must carry exactly the documented JSON shape
 * `{ error: string, field?: string }` — including 414/431, which node and fastify answer
 * before any route runs.
 */
import { API_PREFIX } from '../../src/contract';
import { Harness, insertRows, rawToken, startHarness } from './harness';
import { prng } from '../helpers/prng';

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const REQUESTS = 2400;

let h: Harness;
let tokens: string[];
const ID = '0b6f3a3e-6f55-4d5e-9d7a-3c1c2a8e9f10';

beforeAll(async () => {
  h = await startHarness();
  const now = Date.now();
  const rows: Parameters<typeof insertRows>[1] = [];
  for (let i = 0; i < 200; i++) {
    rows.push({
      id: i === 0 ? ID : undefined,
      service: ['amocrm', 'resend', 'telegram', 'mobizon', 'whapi'][i % 5],
      action: ['sync_lead', 'send_email', 'send_message', 'send_sms'][i % 4],
      status: (['success', 'success', 'failed', 'pending', 'retrying'] as const)[i % 5],
      at: new Date(now - i * 7 * 60_000),
      duration: i % 7 === 0 ? null : 10 + ((i * 37) % 900),
      entityType: i % 3 === 0 ? 'lead' : undefined,
      entityId: i % 3 === 0 ? '11111111-2222-4333-8444-555555555555' : undefined,
    });
  }
  await insertRows(h.db, rows);
  tokens = [
    h.tokens.authenticated,
    h.tokens.authenticated,
    h.tokens.service_role,
    h.tokens.anon,
    await rawToken({ role: 'admin' }),
    await rawToken({ role: 'authenticated' }, { expiresAt: Math.floor(Date.now() / 1000) - 5 }),
    await rawToken({ role: 'authenticated' }, { secret: 'not-the-secret-not-the-secret-not-the' }),
  ];
});
afterAll(() => h.close());

const ENDPOINTS = ['/stats', '/failures', '/health', '/timeseries', '/services', '/logs', `/logs/${ID}`, '/logs/x', '/openapi.json', '/healthz', '/nope', ''];
const PARAMS = [
  'from',
  'to',
  'service',
  'action',
  'status',
  'interval',
  'limit',
  'before',
  'entity_type',
  'entity_id',
  'window',
  'metric',
  'group_by',
  'id',
  'x',
  '',
  'service[]',
  'from.x',
  '__proto__',
  'constructor',
  'a'.repeat(300),
];

function generate(rnd: () => number): { method: string; path: string; headers: Record<string, string>; body?: string } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const int = (n: number) => Math.floor(rnd() * n);
  const date = () =>
    pick([
      new Date(Date.now() - int(500) * 86_400_000).toISOString(),
      new Date(Date.now() - int(48) * 3_600_000).toISOString(),
      '2026-02-30T00:00:00Z',
      '2026-01-01',
      'yesterday',
      '0000-01-01T00:00:00Z',
      '9999-12-31T23:59:59Z',
      '2026-01-01T23:59:60Z',
      '1970-01-01T00:00:00+14:00',
      '2026-06-01T12:00:00.123456789Z',
      '-1',
      String(Date.now()),
    ]);
  const junk = () =>
    pick([
      "' OR 1=1 --",
      '"; DROP TABLE integration_logs; --',
      '$1',
      '\\x00',
      '%00',
      '%',
      '%zz',
      '%E0%A4%A',
      '🙂',
      'ä',
      '<script>',
      '{}',
      '[]',
      'null',
      'NaN',
      'Infinity',
      '-0',
      '1e309',
      '9'.repeat(40),
      'a'.repeat(int(12_000)),
      ' ',
      '',
      '..',
      '../../etc/passwd',
      '\u202e',
      'true',
    ]);
  const value = (name: string): string => {
    if (rnd() < 0.3) return junk();
    switch (name) {
      case 'from':
      case 'to':
        return date();
      case 'service':
        return pick(['amocrm', 'resend', 'telegram', 'mobizon', 'whapi', 'unknown_svc', 'a:b.c-d']);
      case 'action':
        return pick(['sync_lead', 'send_email', 'send_message', 'send_sms']);
      case 'status':
        return pick(['success', 'failed', 'pending', 'retrying', 'SUCCESS']);
      case 'interval':
        return pick(['hour', 'day', '1m', '5m', '30s', '1h', '1d', '999999d', '0m', '1w']);
      case 'limit':
        return pick(['1', '100', '1000', '0', '1001', '-1', '2.5', '1e3', '0x10', '1000000000']);
      case 'before':
        return pick([
          Buffer.from(JSON.stringify([new Date().toISOString(), ID])).toString('base64url'),
          Buffer.from(JSON.stringify(['2026-02-31T00:00:00Z', ID])).toString('base64url'),
          Buffer.from(JSON.stringify([1, 2])).toString('base64url'),
          Buffer.from(`${new Date().toISOString()}|${ID}`).toString('base64url'),
          'AAAA',
        ]);
      case 'entity_id':
      case 'id':
        return pick([ID, '11111111-2222-4333-8444-555555555555', 'not-a-uuid', '00000000-0000-0000-0000-000000000000']);
      case 'window':
        return pick(['24h', '15m', '7d', '400d', '401d', '9999d', '0h', '1y']);
      case 'metric':
        return pick(['volume', 'failure_rate', 'latency_avg', 'latency_p50', 'latency_p95', 'latency_p99', 'latency_p42']);
      case 'group_by':
        return pick(['service', 'action', 'status', 'entity']);
      default:
        return junk();
    }
  };

  const method = rnd() < 0.75 ? 'GET' : pick(['HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE']);
  let path =
    rnd() < 0.9
      ? `${API_PREFIX}${pick(ENDPOINTS)}`
      : pick(['/healthz', '/', '//', `${API_PREFIX}//stats`, `${API_PREFIX}/stats/`, `/${junk().replace(/[^\x21-\x7e]/g, '')}`, `${API_PREFIX}/logs/${'f'.repeat(500)}`]);
  const parts: string[] = [];
  const n = rnd() < 0.15 ? 0 : 1 + int(6);
  for (let i = 0; i < n; i++) {
    const name = rnd() < 0.85 ? pick(PARAMS.slice(0, 13)) : pick(PARAMS);
    const repeats = rnd() < 0.15 ? 2 + int(3) : 1;
    for (let r = 0; r < repeats; r++) {
      const v = value(name);
      // Mostly encoded like a client would; sometimes raw (only what an HTTP request line may carry).
      const enc = (s: string) => (rnd() < 0.8 ? encodeURIComponent(s) : s.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c)));
      parts.push(rnd() < 0.05 ? enc(name) : `${enc(name)}=${enc(v)}`);
    }
  }
  if (parts.length) path += `?${parts.join(rnd() < 0.05 ? ';' : '&')}`;
  if (rnd() < 0.03) path += '&&=&%&==';

  const headers: Record<string, string> = {};
  const a = rnd();
  if (a < 0.75) headers.authorization = `Bearer ${pick(tokens)}`;
  else if (a < 0.85) {
    headers.authorization = pick(['Bearer', 'Bearer x.y.z', `Basic ${Buffer.from('a:b').toString('base64')}`, `Bearer ${tokens[0].split('.').reverse().join('.')}`, 'Bearer ' + 'A'.repeat(3000)]);
  }
  let body: string | undefined;
  if (method !== 'GET' && method !== 'HEAD' && rnd() < 0.6) {
    headers['content-type'] = pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'multipart/form-data']);
    body = pick(['{', '{"a":1}', '[1,2', 'null', '"\\ud800"', 'x'.repeat(int(100_000)), '{"__proto__":{"x":1}}']);
  }
  if (rnd() < 0.05) headers.accept = pick(['text/html', 'application/xml', '*/*', 'application/json;q=0']);
  // Over node's header limit (→ 431): a huge header, or a huge query string.
  if (rnd() < 0.02) headers['x-pad'] = 'p'.repeat(17_000 + int(5000));
  if (rnd() < 0.01) path += `${path.includes('?') ? '&' : '?'}x=${'q'.repeat(17_000)}`;
  return { method, path, headers, body };
}

it(`${REQUESTS} random and malformed requests: no 5xx, every 4xx exactly { error, field? } (seed ${SEED})`, async () => {
  const rnd = prng(SEED);
  const requests = Array.from({ length: REQUESTS }, () => generate(rnd));
  const problems: string[] = [];
  const statuses = new Map<number, number>();
  const CONCURRENCY = 4;
  for (let i = 0; i < requests.length; i += CONCURRENCY) {
    await Promise.all(
      requests.slice(i, i + CONCURRENCY).map(async (r) => {
        // (node's errors come from another realm under jest: no instanceof Error here)
        const res = await h.request(r.method, r.path, { headers: r.headers, body: r.body }).catch((err: { message: string }) => ({ failed: err.message }));
        if ('failed' in res) {
          problems.push(`${r.method} ${r.path.slice(0, 160)} (${r.path.length} chars, body ${r.body?.length ?? 0}) → ${res.failed}`);
          return;
        }
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        const label = `${r.method} ${r.path.slice(0, 160)} → ${res.statusCode} ${res.body.slice(0, 160)}`;
        if (res.statusCode >= 500) problems.push(label);
        else if (res.statusCode >= 400 && r.method !== 'HEAD') {
          let ok = false;
          try {
            const body = res.json() as Record<string, unknown>;
            ok =
              /^application\/json/.test(String(res.headers['content-type'])) &&
              typeof body.error === 'string' &&
              Object.keys(body).every((k) => k === 'error' || k === 'field') &&
              (body.field === undefined || typeof body.field === 'string');
          } catch {
            ok = false;
          }
          if (!ok) problems.push(`not an {error, field?} body: ${label}`);
        }
      }),
    );
  }
  expect(problems.slice(0, 20)).toEqual([]);
  // The generator must actually reach both sides: successes and each kind of refusal.
  for (const code of [200, 400, 401, 403, 404]) expect({ code, seen: (statuses.get(code) ?? 0) > 20 }).toEqual({ code, seen: true });
  for (const code of [414, 431]) expect({ code, seen: (statuses.get(code) ?? 0) > 0 }).toEqual({ code, seen: true });
  const total = [...statuses.values()].reduce((s, n) => s + n, 0);
  expect(total).toBe(REQUESTS);
}, 240_000);
