/**
 * The request log as an operator reads it: one JSON line per request with its id, route, status,
 * duration and role — and never the bearer token or its signature, wherever a client put it.
 */
import { Writable } from 'node:stream';
import { Harness, startHarness } from './harness';

let h: Harness;
const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

beforeAll(async () => {
  h = await startHarness({ logger: { level: 'info', stream: sink } });
});
afterAll(() => h.close());

const requestLines = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');

it('logs one JSON line per request: reqId, method, route, status, duration, role', async () => {
  lines.length = 0;
  await h.get('/services');
  await h.get('/stats?from=nonsense');
  await h.get('/services', { token: h.tokens.service_role });
  await h.get('/services', { token: null });
  await h.get('/healthz');
  const got = requestLines();
  expect(got).toHaveLength(5);
  for (const l of got) {
    expect(l).toEqual(expect.objectContaining({ reqId: expect.any(String), method: 'GET', status: expect.any(Number), duration_ms: expect.any(Number), level: 30 }));
    expect(l.duration_ms as number).toBeGreaterThanOrEqual(0);
  }
  expect(got.map((l) => [l.route, l.status, l.role])).toEqual([
    ['/api/admin/integrations/monitoring/services', 200, 'authenticated'],
    ['/api/admin/integrations/monitoring/stats', 400, 'authenticated'],
    ['/api/admin/integrations/monitoring/services', 200, 'service_role'],
    ['/api/admin/integrations/monitoring/services', 401, null],
    ['/healthz', 200, null],
  ]);
  expect(new Set(got.map((l) => l.reqId)).size).toBe(5);
});

it('never writes the token or its signature, not even one sent in the URL', async () => {
  lines.length = 0;
  const token = h.tokens.service_role;
  const signature = token.split('.')[2];
  await h.get('/services', { token });
  await h.get(`/services?access_token=${token}`, { token });
  await h.get(`/logs/${token}`, { token });
  await h.get('/services', { token: `${token.slice(0, -3)}AAA` });
  expect(requestLines().length).toBe(4);
  const all = lines.join('\n');
  expect(all).not.toContain(signature);
  expect(all).not.toContain(token.split('.')[1]);
  expect(all).toContain('[redacted]');
});

/** Every way a URL can spell a character: %XX of any byte, either case, once or twice encoded. */
const encodeAll = (s: string, lower = false) =>
  [...s]
    .map((ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
    .join('')
    [lower ? 'toLowerCase' : 'toString']();

it('a token in the URL is masked however it is percent-encoded (dots as %2E, %2e, %252E, every character encoded)', async () => {
  lines.length = 0;
  const token = h.tokens.service_role;
  const [head, body, signature] = token.split('.');
  const spellings = [
    token.replace(/\./g, '%2E'),
    token.replace(/\./g, '%2e'),
    token.replace(/\./g, '%252E'),
    encodeAll(token),
    encodeAll(token, true),
    encodeURIComponent(encodeAll(token)),
    `${head}%2E${encodeAll(body)}.${signature}`,
  ];
  for (const s of spellings) {
    await h.get(`/services?access=${s}`);
    await h.get(`/logs/${s}`);
  }
  expect(requestLines().length).toBe(spellings.length * 2);
  const all = lines.join('\n');
  for (const part of [head, body, signature]) {
    expect(all).not.toContain(part);
    expect(all).not.toContain(encodeAll(part));
    expect(all.toLowerCase()).not.toContain(encodeAll(part, true));
  }
  expect(all).toContain('[redacted]');
});

it('credential-named parameters are masked whatever their value looks like', async () => {
  lines.length = 0;
  await h.get('/services?api_key=opaque-credential-one&apikey=opaque-credential-two&access_token=opaque-three&password=opaque-four');
  const all = lines.join('\n');
  for (const v of ['opaque-credential-one', 'opaque-credential-two', 'opaque-three', 'opaque-four']) expect(all).not.toContain(v);
});
