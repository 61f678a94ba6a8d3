/**
 * Every error answer has the documented `{error, field?}` shape — including those node's HTTP
 * parser and fastify's router produce before any route runs (431, 414, malformed requests) — and
 * numeric parameters refuse Infinity/NaN spellings.
 */
import net from 'node:net';
import { Harness, startHarness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

/** `{error}` alone, or `{error, field}` naming `field`. */
function expectShape(body: string, field?: string): void {
  const parsed = JSON.parse(body) as Record<string, unknown>;
  expect(typeof parsed.error).toBe('string');
  expect(Object.keys(parsed).every((k) => k === 'error' || k === 'field')).toBe(true);
  expect(parsed.field).toBe(field);
}

/** Raw bytes on a socket: for requests no HTTP client would send. */
function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const port = Number(new URL(h.baseUrl).port);
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString()));
    s.on('end', () => resolve(out));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

it('431: headers too large', async () => {
  const r = await h.request('GET', '/api/admin/integrations/monitoring/services', { headers: { 'x-big': 'a'.repeat(20_000) } });
  expect(r.statusCode).toBe(431);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  expectShape(r.body);
});

it('431: a URL longer than the header limit', async () => {
  const r = await h.request('GET', `/api/admin/integrations/monitoring/services?x=${'b'.repeat(20_000)}`);
  expect(r.statusCode).toBe(431);
  expectShape(r.body);
});

it('414: a path parameter over the limit', async () => {
  const r = await h.request('GET', `/api/admin/integrations/monitoring/logs/${'f'.repeat(500)}`, { headers: { authorization: `Bearer ${h.tokens.authenticated}` } });
  expect(r.statusCode).toBe(414);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  expectShape(r.body);
});

it('400: a malformed request line, and bad percent-encoding in the path', async () => {
  const answer = await raw('GET /x y z HTTP/1.1\r\nHost: a\r\n\r\n');
  expect(answer).toMatch(/^HTTP\/1\.1 400 /);
  expectShape(answer.slice(answer.indexOf('\r\n\r\n') + 4));
  const r = await h.request('GET', '/api/admin/integrations/monitoring/logs/%E0%A4%A');
  expect(r.statusCode).toBe(400);
  expectShape(r.body);
});

it.each(['Infinity', '-Infinity', 'NaN', '1e999', '-1e999', '', '5.5'])('limit=%j is a 400 naming limit', async (v) => {
  const r = await h.get(`/failures?limit=${encodeURIComponent(v)}`);
  expect(r.statusCode).toBe(400);
  expectShape(r.body, 'limit');
});
