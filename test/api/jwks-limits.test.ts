/**
 * MONITOR_JWKS_URL, the bounds and the secrets: a JWKS larger than DEFAULT_JWKS_MAX_BYTES (streamed
 * without a length, or announced) or with more than DEFAULT_JWKS_MAX_KEYS keys is refused — 503, one
 * clear log line, the download aborted early; a URL with user:password@ (sent as Basic
 * authorization) or ?apikey= never shows those in the log.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, JWK, KeyLike, SignJWT } from 'jose';
import { API_PREFIX } from '../../src/contract';
import { DEFAULT_JWKS_MAX_BYTES, DEFAULT_JWKS_MAX_KEYS } from '../../src/api/jwks';
import { buildServer, ServerOptions } from '../../src/api/server';
import { Harness, startHarness } from './harness';

type Mode = 'ok' | 'flood' | 'announced' | 'error';

let h: Harness;
let privateKey: KeyLike;
let jwk: JWK;
let mode: Mode = 'ok';
let keyCount = 1;
let sentBytes = 0;
let lastAuthorization: string | undefined;
let jwksBase = '';
const servers: FastifyInstance[] = [];

const jwksServer = http.createServer((req, res) => {
  lastAuthorization = req.headers.authorization;
  if (mode === 'error') return void res.writeHead(500).end('down');
  if (mode === 'announced') return void res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) }).end('{"keys":[');
  if (mode === 'flood') {
    // 41 MB of keys, streamed without a length, as fast as the client reads.
    res.writeHead(200, { 'content-type': 'application/json' });
    sentBytes = 0;
    const filler = JSON.stringify({ ...jwk, kid: 'filler' }) + ',';
    const chunk = filler.repeat(Math.ceil(65536 / filler.length));
    res.write('{"keys":[');
    const pump = () => {
      while (sentBytes < 41 * 1024 * 1024) {
        sentBytes += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end(`${JSON.stringify(jwk)}]}`);
    };
    res.on('error', () => undefined);
    pump();
    return;
  }
  const keys = Array.from({ length: keyCount }, (_, i) => (i === 0 ? jwk : { ...jwk, kid: `other-${i}` }));
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
});

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return {
    stream: new Writable({
      write(c: Buffer, _e, done) {
        text += c.toString();
        done();
      },
    }),
    text: () => text,
  };
}

async function api(opts: Partial<ServerOptions>): Promise<{ status: (token: string) => Promise<{ status: number; ms: number }>; log: () => string }> {
  const logs = sink();
  const app = await buildServer({ pool: h.db.pool, cacheTtlMs: 0, logger: { level: 'info', stream: logs.stream }, ...opts });
  servers.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}${API_PREFIX}`;
  return {
    async status(token) {
      const t0 = Date.now();
      const r = await fetch(`${base}/services`, { headers: { authorization: `Bearer ${token}` } });
      await r.text();
      return { status: r.status, ms: Date.now() - t0 };
    },
    log: logs.text,
  };
}

const token = () => new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'ES256', kid: 'ec-1' }).setIssuedAt().setExpirationTime('1h').sign(privateKey);

beforeAll(async () => {
  h = await startHarness();
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' };
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  jwksBase = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of servers) await s.close();
  jwksServer.closeAllConnections();
  await new Promise((r) => jwksServer.close(r));
  await h.close();
});

describe('size and key count', () => {
  it(`a 41 MB JWKS streamed without a length: 503, the download aborted soon after ${DEFAULT_JWKS_MAX_BYTES} bytes, one clear log line`, async () => {
    mode = 'flood';
    const a = await api({ jwksUrl: `${jwksBase}/flood.json` });
    const rssBefore = process.memoryUsage().rss;
    const r = await a.status(await token());
    expect(r.status).toBe(503);
    expect(r.ms).toBeLessThan(3000);
    await new Promise((res) => setTimeout(res, 200));
    // What the server managed to hand to the socket before the client went away (kernel buffers included).
    expect(sentBytes).toBeLessThan(16 * 1024 * 1024);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    const refused = a
      .log()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg?: string; error?: string; level?: number })
      .filter((l) => l.msg === 'JWKS refused');
    expect(refused.map((l) => [l.level, l.error])).toEqual([[40, `JWKS is more than the ${DEFAULT_JWKS_MAX_BYTES} bytes accepted`]]);
  });

  it('a JWKS announcing 50 MB is refused before its body is read', async () => {
    mode = 'announced';
    const a = await api({ jwksUrl: `${jwksBase}/announced.json` });
    expect((await a.status(await token())).status).toBe(503);
    expect(a.log()).toMatch(/JWKS is 52428800 bytes, more than the 262144 accepted/);
  });

  it(`${DEFAULT_JWKS_MAX_KEYS} keys are accepted, ${DEFAULT_JWKS_MAX_KEYS + 1} are refused (503, logged)`, async () => {
    mode = 'ok';
    keyCount = DEFAULT_JWKS_MAX_KEYS;
    expect((await (await api({ jwksUrl: `${jwksBase}/fifty.json` })).status(await token())).status).toBe(200);
    keyCount = DEFAULT_JWKS_MAX_KEYS + 1;
    const a = await api({ jwksUrl: `${jwksBase}/many.json` });
    expect((await a.status(await token())).status).toBe(503);
    expect(a.log()).toContain(`JWKS has ${DEFAULT_JWKS_MAX_KEYS + 1} keys, more than the ${DEFAULT_JWKS_MAX_KEYS} accepted`);
    keyCount = 1;
  });
});

describe('secrets in MONITOR_JWKS_URL', () => {
  const withSecrets = () => `${jwksBase.replace('http://', 'http://jwks-user:s3cret-pass-word@')}/jwks.json?apikey=APIKEY-123456&x=1`;

  it('credentials are sent as Basic authorization (fetch refuses them in a URL), and the keys are used', async () => {
    mode = 'ok';
    const a = await api({ jwksUrl: withSecrets() });
    expect((await a.status(await token())).status).toBe(200);
    expect(lastAuthorization).toBe(`Basic ${Buffer.from('jwks-user:s3cret-pass-word').toString('base64')}`);
  });

  it('a failing fetch is logged with the URL masked: no user, password or apikey', async () => {
    mode = 'error';
    const a = await api({ jwksUrl: withSecrets(), jwks: { failureRetryMs: 0 } });
    expect((await a.status(await token())).status).toBe(503);
    const log = a.log();
    expect(log).toContain('JWKS fetch failed');
    expect(log).toContain(`${jwksBase.replace('http://', 'http://[redacted]@')}/jwks.json?apikey=[redacted]&x=[redacted]`);
    for (const secret of ['s3cret-pass-word', 'jwks-user', 'APIKEY-123456']) expect(log).not.toContain(secret);
  });
});
