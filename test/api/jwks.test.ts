/**
 * MONITOR_JWKS_URL: ES256 and RS256 tokens verified against a JWKS served by a local HTTP server
 * (127.0.0.1), shaped like Supabase's /auth/v1/.well-known/jwks.json. Wrong key, wrong alg and an
 * unknown kid (after one refetch) are 401; a JWKS that cannot be fetched is 503, quickly.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, JWK, KeyLike, SignJWT } from 'jose';
import { buildServer, ServerOptions } from '../../src/api/server';
import { API_PREFIX } from '../../src/contract';
import { startMonitorProcess } from '../helpers/monitor-process';
import { Harness, insertRows, SECRET, startHarness } from './harness';

interface Signer {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: KeyLike;
  jwk: JWK;
}

async function signer(alg: 'ES256' | 'RS256', kid: string, publishAlg = true): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  // Supabase publishes alg, use and key_ops; the RSA key here omits alg to exercise kty matching.
  const jwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', key_ops: ['verify'], ...(publishAlg ? { alg } : {}) };
  return { kid, alg, privateKey, jwk };
}

function token(s: Pick<Signer, 'privateKey'>, header: { alg: string; kid?: string }, claims: Record<string, unknown> = { role: 'authenticated' }): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ typ: 'JWT', ...header })
    .setIssuedAt()
    .setExpirationTime('1h')
    .setIssuer('http://127.0.0.1/auth/v1')
    .setAudience('authenticated')
    .setSubject('user-1')
    .sign(s.privateKey);
}

/** The JWKS endpoint: what it publishes, how it behaves, how often it was asked. */
class JwksServer {
  keys: JWK[] = [];
  mode: 'ok' | 'error' | 'garbage' | 'hang' = 'ok';
  hits = 0;
  url = '';
  private server = http.createServer((req, res) => {
    this.hits++;
    if (this.mode === 'hang') return; // accepts, never answers
    if (this.mode === 'error') {
      res.writeHead(500).end('down');
      return;
    }
    if (this.mode === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": "none"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys }));
  });
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/auth/v1/.well-known/jwks.json`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

let h: Harness;
let jwksServer: JwksServer;
let es: Signer;
let rs: Signer;
let stranger: Signer;
const servers: FastifyInstance[] = [];

/** Another API on the same test database, with the given token settings. */
async function api(opts: Partial<ServerOptions>): Promise<(authorization: string) => Promise<{ status: number; body: { error?: string; services?: unknown[] }; ms: number }>> {
  const app = await buildServer({ pool: h.db.pool, cacheTtlMs: 0, ...opts });
  servers.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return async (authorization) => {
    const t0 = Date.now();
    const res = await fetch(`http://127.0.0.1:${port}${API_PREFIX}/services`, { headers: { authorization: `Bearer ${authorization}` } });
    return { status: res.status, body: (await res.json()) as { error?: string }, ms: Date.now() - t0 };
  };
}

beforeAll(async () => {
  h = await startHarness();
  await insertRows(h.db, [{ service: 'amocrm', action: 'sync_lead', status: 'success', at: new Date(Date.now() - 60_000), duration: 50 }]);
  [es, rs, stranger] = await Promise.all([signer('ES256', 'ec-1'), signer('RS256', 'rsa-1', false), signer('ES256', 'ec-1')]);
  jwksServer = new JwksServer();
  await jwksServer.start();
  jwksServer.keys = [es.jwk, rs.jwk];
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await jwksServer.stop();
  await h.close();
});
beforeEach(() => {
  jwksServer.mode = 'ok';
  jwksServer.keys = [es.jwk, rs.jwk];
});

describe('accepted', () => {
  test('ES256 and RS256 tokens from the JWKS read data; keys are fetched once and cached', async () => {
    const get = await api({ jwksUrl: jwksServer.url });
    const before = jwksServer.hits;
    const a = await get(await token(es, { alg: 'ES256', kid: 'ec-1' }));
    expect(a.status).toBe(200);
    expect(a.body.services).toEqual([{ service_name: 'amocrm', actions: ['sync_lead'] }]);
    expect((await get(await token(rs, { alg: 'RS256', kid: 'rsa-1' }))).status).toBe(200);
    expect((await get(await token(es, { alg: 'ES256', kid: 'ec-1' }))).status).toBe(200);
    expect(jwksServer.hits - before).toBe(1);
  });

  test('HS256 with MONITOR_JWT_SECRET keeps working beside the JWKS', async () => {
    const get = await api({ jwksUrl: jwksServer.url, jwtSecret: SECRET });
    expect((await get(h.tokens.authenticated)).status).toBe(200);
    expect((await get(await token(es, { alg: 'ES256', kid: 'ec-1' }))).status).toBe(200);
  });

  test('a key published after the first fetch (rotation) is found by refetching on its unknown kid', async () => {
    const get = await api({ jwksUrl: jwksServer.url, jwks: { unknownKidRefetchMs: 0 } });
    expect((await get(await token(es, { alg: 'ES256', kid: 'ec-1' }))).status).toBe(200);
    const next = await signer('ES256', 'ec-2');
    jwksServer.keys = [es.jwk, next.jwk];
    expect((await get(await token(next, { alg: 'ES256', kid: 'ec-2' }))).status).toBe(200);
  });

  test('cached keys keep serving while the JWKS is down', async () => {
    const get = await api({ jwksUrl: jwksServer.url, jwks: { maxAgeMs: 0, failureRetryMs: 0 } });
    expect((await get(await token(es, { alg: 'ES256', kid: 'ec-1' }))).status).toBe(200);
    jwksServer.mode = 'error';
    expect((await get(await token(es, { alg: 'ES256', kid: 'ec-1' }))).status).toBe(200);
  });
});

describe('refused', () => {
  test('wrong key (same kid, another key pair) → 401', async () => {
    const get = await api({ jwksUrl: jwksServer.url });
    const res = await get(await token(stranger, { alg: 'ES256', kid: 'ec-1' }));
    expect(res.status).toBe(401);
  });

  test('wrong alg → 401: RS256 naming the EC key, ES256 naming the RSA key, an alg we do not take, HS256 without a secret', async () => {
    const get = await api({ jwksUrl: jwksServer.url });
    expect((await get(await token(rs, { alg: 'RS256', kid: 'ec-1' }))).status).toBe(401);
    expect((await get(await token(es, { alg: 'ES256', kid: 'rsa-1' }))).status).toBe(401);
    const ps = await generateKeyPair('PS256');
    expect((await get(await token({ privateKey: ps.privateKey }, { alg: 'PS256', kid: 'rsa-1' }))).status).toBe(401);
    expect((await get(h.tokens.service_role)).status).toBe(401);
  });

  test('HS256 "signed" with the published public key is refused (no alg confusion)', async () => {
    const get = await api({ jwksUrl: jwksServer.url, jwtSecret: SECRET });
    const forged = await new SignJWT({ role: 'service_role' })
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JSON.stringify(rs.jwk)));
    expect((await get(forged)).status).toBe(401);
  });

  test('unknown kid → one refetch, then 401', async () => {
    const get = await api({ jwksUrl: jwksServer.url, jwks: { unknownKidRefetchMs: 0 } });
    expect((await get(await token(es, { alg: 'ES256', kid: 'ec-1' }))).status).toBe(200);
    const before = jwksServer.hits;
    const ghost = await signer('ES256', 'ghost');
    expect((await get(await token(ghost, { alg: 'ES256', kid: 'ghost' }))).status).toBe(401);
    expect(jwksServer.hits - before).toBe(1);
  });

  test('unknown kids refetch at most once per interval, however many arrive', async () => {
    const get = await api({ jwksUrl: jwksServer.url, jwks: { unknownKidRefetchMs: 60_000 } });
    expect((await get(await token(es, { alg: 'ES256', kid: 'ec-1' }))).status).toBe(200);
    const before = jwksServer.hits;
    const ghost = await signer('ES256', 'ghost');
    const codes = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await get(await token(ghost, { alg: 'ES256', kid: `ghost-${i}` }))).status));
    expect(new Set(codes)).toEqual(new Set([401]));
    expect(jwksServer.hits - before).toBeLessThanOrEqual(1);
  });

  test('unreachable JWKS → 503, not 500', async () => {
    const closed = new JwksServer();
    await closed.start();
    const url = closed.url;
    await closed.stop(); // nothing listens there any more
    const get = await api({ jwksUrl: url });
    const res = await get(await token(es, { alg: 'ES256', kid: 'ec-1' }));
    expect(res.status).toBe(503);
    expect(res.body.error).toMatch(/signing keys/);
  });

  test('a JWKS that never answers → 503 after the fetch timeout, and no refetch storm meanwhile', async () => {
    jwksServer.mode = 'hang';
    const get = await api({ jwksUrl: jwksServer.url, jwks: { timeoutMs: 300, failureRetryMs: 60_000 } });
    const before = jwksServer.hits;
    const first = await get(await token(es, { alg: 'ES256', kid: 'ec-1' }));
    expect(first.status).toBe(503);
    expect(first.ms).toBeLessThan(3000);
    const again = await Promise.all(Array.from({ length: 5 }, async () => get(await token(es, { alg: 'ES256', kid: 'ec-1' }))));
    expect(again.map((r) => r.status)).toEqual([503, 503, 503, 503, 503]);
    expect(jwksServer.hits - before).toBe(1);
  });

  test('a JWKS answering 500 or garbage → 503', async () => {
    jwksServer.mode = 'error';
    const get = await api({ jwksUrl: jwksServer.url, jwks: { failureRetryMs: 0 } });
    expect((await get(await token(es, { alg: 'ES256', kid: 'ec-1' }))).status).toBe(503);
    jwksServer.mode = 'garbage';
    expect((await get(await token(es, { alg: 'ES256', kid: 'ec-1' }))).status).toBe(503);
  });

  test('start with DATABASE_URL and only a JWKS: no secret needed, none minted, JWKS tokens read', async () => {
    const m = await startMonitorProcess({ DATABASE_URL: h.db.url, MONITOR_JWKS_URL: jwksServer.url });
    try {
      expect(m.output()).not.toMatch(/^grafana/m);
      expect(m.output()).toMatch(/^tokens\s+ES256\/RS256 from http:\/\/127\.0\.0\.1/m);
      const res = await fetch(`${m.apiUrl}${API_PREFIX}/services`, { headers: { authorization: `Bearer ${await token(es, { alg: 'ES256', kid: 'ec-1' })}` } });
      expect(res.status).toBe(200);
    } finally {
      await m.stop();
    }
  });

  test('neither a secret nor a JWKS: the server refuses to start', async () => {
    await expect(buildServer({ pool: h.db.pool })).rejects.toThrow(/MONITOR_JWT_SECRET, MONITOR_JWKS_URL/);
  });
});
