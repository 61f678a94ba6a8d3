import zlib from 'node:zlib';
import { ResponseCache } from '../../src/api/response-cache';
import { loadConfig } from '../../src/config';
import { acceptsGzip } from '../../src/api/server';
import { Harness, insertRows, rawToken, startHarness } from './harness';

describe('ResponseCache', () => {
  it('shares one computation among identical concurrent requests and reuses it until the TTL', async () => {
    const cache = new ResponseCache(60_000);
    let runs = 0;
    const compute = async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 20));
      return runs;
    };
    expect(await Promise.all([cache.get('k', compute), cache.get('k', compute), cache.get('k', compute)])).toEqual([1, 1, 1]);
    expect(await cache.get('k', compute)).toBe(1);
    expect(await cache.get('other', compute)).toBe(2);
  });

  it('counts the TTL from the answer, then serves the stale answer while one refresh runs, then waits for a fresh one', async () => {
    // Fake timers drive both the cache's clock (Date.now) and the slow computation's setTimeout.
    jest.useFakeTimers();
    try {
      const cache = new ResponseCache(100, 300);
      let runs = 0;
      const slow = async () => {
        runs++;
        await new Promise((r) => setTimeout(r, 200)); // longer than the TTL: the TTL must start when the answer exists
        return runs;
      };
      const first = cache.get('k', slow);
      await jest.advanceTimersByTimeAsync(200); // t = 200: answered, fresh until 300, stale until 600
      expect(await first).toBe(1);
      expect(await cache.get('k', slow)).toBe(1);
      expect(runs).toBe(1);
      await jest.advanceTimersByTimeAsync(150); // t = 350: stale, not too old
      let served = false;
      const both = Promise.all([cache.get('k', slow), cache.get('k', slow)]).then((v) => ((served = true), v));
      await jest.advanceTimersByTimeAsync(1);
      expect(served).toBe(true); // served at once, not after the 200 ms refresh
      expect(await both).toEqual([1, 1]);
      expect(runs).toBe(2); // one background refresh, not two
      await jest.advanceTimersByTimeAsync(250); // t = 601: the refresh answered at 550
      expect(await cache.get('k', slow)).toBe(2);
      await jest.advanceTimersByTimeAsync(100 + 300 + 50); // past fresh and stale: a new computation is awaited
      let third = false;
      const next = cache.get('k', slow).then((v) => ((third = true), v));
      await jest.advanceTimersByTimeAsync(199);
      expect(third).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      expect(await next).toBe(3);
    } finally {
      jest.useRealTimers();
    }
  });

  it('never keeps failures, is bounded, and is off at 0', async () => {
    const cache = new ResponseCache(60_000);
    await expect(cache.get('b', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(await cache.get('b', async () => 'recovered')).toBe('recovered');
    const bounded = new ResponseCache(60_000, 0, 2);
    await bounded.get('x', async () => 1);
    await bounded.get('y', async () => 2);
    await bounded.get('z', async () => 3);
    expect(await bounded.get('x', async () => 'recomputed')).toBe('recomputed');
    const off = new ResponseCache(0);
    let m = 0;
    await off.get('k', async () => ++m);
    await off.get('k', async () => ++m);
    expect(m).toBe(2);
    expect(loadConfig({}).cacheTtlMs).toBe(1000);
    expect(loadConfig({ MONITOR_API_CACHE_MS: '0' }).cacheTtlMs).toBe(0);
    expect(() => loadConfig({ MONITOR_API_CACHE_MS: 'soon' })).toThrow(/^MONITOR_API_CACHE_MS must be an integer 0-3600000, got "soon"$/);
  });
});

describe('cached API answers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ cacheTtlMs: 60_000 });
  });
  afterAll(() => h.close());

  it('are reused only for the same token and URL; lists and errors are not cached', async () => {
    const at = new Date(Date.now() - 60_000);
    await insertRows(h.db, [{ service: 'resend', action: 'send_email', status: 'failed', at }]);
    const count = (body: { rows: Array<{ count: number }> }) => body.rows.reduce((n, r) => n + r.count, 0);
    const first = (await h.get('/stats?service=resend')).json();
    expect(count(first)).toBe(1);
    await insertRows(h.db, [{ service: 'resend', action: 'send_email', status: 'failed', at }]);
    // Same token, same URL: the cached answer.
    expect((await h.get('/stats?service=resend')).json()).toEqual(first);
    // Another token (even of the same role) is answered by Postgres afresh.
    const other = await rawToken({ role: 'authenticated', sub: 'someone-else' });
    expect(count((await h.get('/stats?service=resend', { token: other })).json())).toBe(2);
    // The raw lists are always fresh.
    expect((await h.get('/failures')).json().rows).toHaveLength(2);
    // anon is refused every time (a refusal is never cached as an answer).
    expect((await h.get('/stats?service=resend', { token: h.tokens.anon })).statusCode).toBe(403);
    expect((await h.get('/stats?service=resend', { token: h.tokens.anon })).statusCode).toBe(403);
  });

  it('large answers go gzipped to clients that accept it, identical once decompressed', async () => {
    const rows: Parameters<typeof insertRows>[1] = [];
    for (let d = 0; d < 20; d++) rows.push({ service: 'telegram', action: `action_${d}`, status: 'success', at: new Date(Date.now() - d * 86_400_000), duration: d });
    await insertRows(h.db, rows);
    const plain = await h.get('/stats?service=telegram');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.length).toBeGreaterThan(2048);
    const zipped = await h.request('GET', '/api/admin/integrations/monitoring/stats?service=telegram', {
      headers: { authorization: `Bearer ${h.tokens.authenticated}`, 'accept-encoding': 'gzip, deflate' },
      binary: true,
    });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toMatch(/Accept-Encoding/i);
    expect(JSON.parse(zlib.gunzipSync(zipped.raw!).toString('utf8'))).toEqual(plain.json());
    expect(zipped.raw!.length).toBeLessThan(plain.body.length / 3);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('br, *')).toBe(true);
    expect(acceptsGzip('identity')).toBe(false);
  });
});

describe('ResponseCache byte bound', () => {
  const sized = (maxBytes: number) => new ResponseCache(60_000, 0, { maxBytes, sizeOf: (v) => (v as string).length });

  it('keeps settled answers within maxBytes, evicting the least recently used first', async () => {
    const cache = sized(3000);
    const computed: string[] = [];
    const get = (k: string) => cache.get(k, async () => (computed.push(k), 'x'.repeat(900)));
    await get('a');
    await get('b');
    await get('c');
    expect(cache.size).toBe(3);
    await get('a'); // a hit: a becomes the most recently used
    await get('d'); // over 3000 bytes (each entry 900 + key): the least recently used, b, goes
    expect(cache.bytes).toBeLessThanOrEqual(3000);
    expect(computed).toEqual(['a', 'b', 'c', 'd']);
    await get('a');
    await get('c');
    expect(computed).toEqual(['a', 'b', 'c', 'd']);
    await get('b');
    expect(computed).toEqual(['a', 'b', 'c', 'd', 'b']);
    expect(cache.bytes).toBeLessThanOrEqual(3000);
  });

  it('serves but does not keep an answer larger than the whole bound; 0 bytes turns it off', async () => {
    const cache = sized(100);
    let n = 0;
    const big = () => cache.get('k', async () => (n++, 'y'.repeat(500)));
    expect(await big()).toHaveLength(500);
    expect(await big()).toHaveLength(500);
    expect(n).toBe(2);
    expect(cache.bytes).toBe(0);
    expect(sized(0).enabled).toBe(false);
  });

  it('many distinct keys never hold more than the bound', async () => {
    const cache = sized(10_000);
    for (let i = 0; i < 500; i++) await cache.get(`k${i}`, async () => 'z'.repeat(700));
    expect(cache.bytes).toBeLessThanOrEqual(10_000);
    expect(cache.size).toBeLessThanOrEqual(14);
  });
});
