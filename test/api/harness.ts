/**
 * An API on its own migrated test database, with tokens for each role. The server connects as the
 * least-privileged API login (NOINHERIT, granted anon/authenticated/service_role — as `npm start`
 * does on the embedded database) and switches to the token's role per request, so what a test
 * sees is what Postgres lets that role see. Fixtures are written with the superuser pool `db.pool`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import type { Pool } from 'pg';
import { buildServer, ServerOptions } from '../../src/api/server';
import { createApiPool } from '../../src/db/pool';
import { signToken } from '../../src/secret';
import type { HealthThresholds } from '../../src/config';
import { API_PREFIX } from '../../src/contract';
import { createTestDatabase, TestDatabase } from '../helpers/db';

export const SECRET = 'test-secret-for-the-monitoring-api-0123456789';

export interface Reply {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The bytes as received (only when asked for with `binary`). */
  raw?: Buffer;
  json<T = any>(): T; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Harness {
  app: FastifyInstance;
  db: TestDatabase;
  /** The server's pool (as the API role). */
  apiPool: Pool;
  baseUrl: string;
  tokens: Record<'anon' | 'authenticated' | 'service_role', string>;
  /** GET under the API prefix (or a root path such as /healthz), as `authenticated` unless told. */
  get(path: string, opts?: { token?: string | null; headers?: Record<string, string> }): Promise<Reply>;
  /** Any request, path sent as given (it may be malformed on purpose), on a connection of its own. */
  request(method: string, path: string, opts?: { headers?: Record<string, string>; body?: string; binary?: boolean }): Promise<Reply>;
  close(): Promise<void>;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/**
 * Real HTTP over loopback (fastify's inject would need light-my-request's ESM-only cookie module,
 * which jest on Node 20 cannot load; a real socket also tests what clients actually get).
 */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string, fresh = false, binary = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // fresh: a request the server may answer by closing the connection must not poison a pooled one.
    // A body goes with its length (not chunked), as clients send it.
    const allHeaders = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: allHeaders, agent: fresh ? false : agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const text = raw.toString('utf8');
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: text, ...(binary ? { raw } : {}), json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The response cache is off unless a test asks for it: most tests change data between requests. */
export async function startHarness(
  opts: {
    health?: Partial<HealthThresholds>;
    cacheTtlMs?: number;
    timeZone?: string;
    /** Anything else of the server's options (JWKS, read claim, …). */
    server?: Partial<Omit<ServerOptions, 'pool'>>;
  } & Pick<ServerOptions, 'logger' | 'dbTimeoutMs' | 'tokens' | 'cacheMaxBytes'> = {},
): Promise<Harness> {
  const db = await createTestDatabase();
  const apiPool = createApiPool(db.apiUrl, opts.dbTimeoutMs ?? 5000, 10);
  // API_TEST_LOG=1 shows the server's log (e.g. the cause of an unexpected 500).
  const app = await buildServer({
    pool: apiPool,
    jwtSecret: SECRET,
    health: opts.health,
    cacheTtlMs: opts.cacheTtlMs ?? 0,
    cacheMaxBytes: opts.cacheMaxBytes,
    dbTimeoutMs: opts.dbTimeoutMs,
    tokens: opts.tokens,
    timeZone: opts.timeZone,
    logger: opts.logger ?? process.env.API_TEST_LOG === '1',
    ...opts.server,
  });
  const tokens = {
    anon: await signToken(SECRET, 'anon', 3600),
    authenticated: await signToken(SECRET, 'authenticated', 3600),
    service_role: await signToken(SECRET, 'service_role', 3600),
  };
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    app,
    db,
    apiPool,
    baseUrl: `http://127.0.0.1:${port}`,
    tokens,
    get(path, o = {}) {
      const token = o.token === undefined ? tokens.authenticated : o.token;
      const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...o.headers };
      const url = path.startsWith(API_PREFIX) || path === '/healthz' ? path : `${API_PREFIX}${path}`;
      return send(port, 'GET', url, headers);
    },
    request(method, path, o = {}) {
      return send(port, method, path, o.headers ?? {}, o.body, true, o.binary);
    },
    async close() {
      await app.close();
      await apiPool.end();
      await db.drop();
    },
  };
}

/** A token signed however a test needs (other secret, other claims, already expired). */
export async function rawToken(claims: Record<string, unknown>, o: { secret?: string; expiresAt?: number } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(now - 7200)
    .setExpirationTime(o.expiresAt ?? now + 3600)
    .sign(new TextEncoder().encode(o.secret ?? SECRET));
}

export interface FixtureRow {
  service: string;
  action: string;
  status: 'success' | 'failed' | 'pending' | 'retrying';
  /** A Date, or text when microseconds matter. */
  at: Date | string;
  duration?: number | null;
  entityType?: string;
  entityId?: string;
  error?: string;
  id?: string;
}

/** Inserts rows as the superuser, the way a backend's own SQL would, in one statement. */
export async function insertRows(db: TestDatabase, rows: FixtureRow[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const { rows: out } = await db.pool.query<{ id: string }>(
    `INSERT INTO integration_logs (id, service_name, action, status, created_at, updated_at, duration_ms, related_entity_type, related_entity_id, error_message)
     SELECT coalesce(id, gen_random_uuid()), service, action, status, at, at, duration, etype, eid, err
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::int[], $7::text[], $8::uuid[], $9::text[])
         AS t(id, service, action, status, at, duration, etype, eid, err)
     RETURNING id`,
    [
      rows.map((r) => r.id ?? null),
      rows.map((r) => r.service),
      rows.map((r) => r.action),
      rows.map((r) => r.status),
      rows.map((r) => (typeof r.at === 'string' ? r.at : r.at.toISOString())),
      rows.map((r) => (r.duration === undefined ? null : r.duration)),
      rows.map((r) => r.entityType ?? null),
      rows.map((r) => r.entityId ?? null),
      rows.map((r) => r.error ?? (r.status === 'failed' ? 'boom' : null)),
    ],
  );
  return out.map((r) => r.id);
}
