/**
 * The monitoring API: fastify with TypeBox route schemas (validation, serialisation and the
 * OpenAPI document from one source), bearer-token auth, and each request in one transaction as the
 * token's role so that Postgres decides what it may read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { FastifyInstance, LogController } from 'fastify';
import type { Pool } from 'pg';
import { createVerifier, VerifyOptions } from './auth';
import { API_PREFIX } from '../contract';
import { DatabaseState } from './db-state';
import { badRequest, clientErrorHandler, frameworkErrors, HttpError, installErrorHandling } from './errors';
import { installRequestLog, loggerOptions, LogOptions } from './request-log';
import { createJwksKeySet, JwksOptions } from './jwks';
import { carriesClaim, parseReadClaim } from '../store/read-claim';
import { ReadLimiter, ReadLimitOptions, readSubject } from './read-limit';
import { swaggerOptions } from './openapi';
import { type Claims, withRoleTransaction } from '../store/role-transaction';
import { DEFAULT_TIME_ZONE } from '../store/time-zone';
import { requestTimeZone } from './time-zone';
import { DEFAULT_CACHE_MAX_BYTES, DEFAULT_CACHE_TTL_MS, DEFAULT_DB_TIMEOUT_MS, type HealthThresholds, resolveHealthThresholds } from '../config';
import { ResponseCache } from './response-cache';
import { Api, RouteContext } from './routes/context';
import { registerHealth } from './routes/health';
import { registerLogs } from './routes/logs';
import { registerMeta } from './routes/meta';
import { registerServices } from './routes/services';
import { registerStats } from './routes/stats';
import { registerTimeseries } from './routes/timeseries';
import { tokenKeys } from './token-keys';

declare module 'fastify' {
  interface FastifyRequest {
    claims: Claims | null;
  }
}

export interface ServerOptions {
  pool: Pool;
  /** HS256 secret (MONITOR_JWT_SECRET); this, jwksUrl, or both. */
  jwtSecret?: string;
  /** JWKS for ES256/RS256 tokens (MONITOR_JWKS_URL). */
  jwksUrl?: string;
  /** Cache and timeout tuning of the JWKS (defaults in src/api/jwks.ts). */
  jwks?: Omit<JwksOptions, 'log'>;
  /** `path.to.claim=value` an authenticated token needs to read (MONITOR_READ_CLAIM); unset: none. */
  readClaim?: string;
  /** Health-state thresholds (MONITOR_HEALTH_*); unset ones are DEFAULT_HEALTH_THRESHOLDS. */
  health?: Partial<HealthThresholds>;
  /** pino logging: on (level info, JSON to stdout) unless `false`; or a level and a stream. */
  logger?: boolean | LogOptions;
  /**
   * What a request may spend on the database (connect + statements; default 5000 ms): past it the
   * caller gets a 503. Also the pool's connect timeout should be this (see createPool).
   */
  dbTimeoutMs?: number;
  /** How long an aggregate answer is reused for the same token and URL; 0 = off (MONITOR_API_CACHE_MS; default DEFAULT_CACHE_TTL_MS). */
  cacheTtlMs?: number;
  /** Zone of hours and days when a request has no `tz` (MONITOR_TIMEZONE; default UTC). */
  timeZone?: string;
  /** Byte bound of the response cache (default DEFAULT_CACHE_MAX_BYTES). */
  cacheMaxBytes?: number;
  /** Token rules beyond the signature (exp cap, issuer, audience). */
  tokens?: VerifyOptions;
  /** Concurrent database reads per token subject (default DEFAULT_READ_LIMIT; waitMs defaults to dbTimeoutMs). */
  readLimit?: Partial<ReadLimitOptions>;
}

/**
 * A fifth of the default pool per subject: one caller cannot starve the others, and a Grafana
 * dashboard (one token, a dozen panels at once) still runs 4 at a time with the rest queued.
 */
export const DEFAULT_READ_LIMIT = { perSubject: 4, maxWaiting: 32 };

function packageVersion(): string {
  for (const up of ['../..', '../../..']) {
    try {
      return (JSON.parse(fs.readFileSync(path.resolve(__dirname, up, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      // built layout differs from source layout; try the next
    }
  }
  return '0.0.0';
}

/** Answers worth compressing (a 30-day /stats is hundreds of KB of JSON, ~15× smaller gzipped). */
const GZIP_MIN_BYTES = 2048;

const gzip = promisify(zlib.gzip);

/** Compressed on libuv's thread pool: a 300 KB answer must not stall every other request. */
async function encodeBody(plain: Buffer): Promise<{ plain: Buffer; gzip?: Buffer }> {
  return plain.length >= GZIP_MIN_BYTES ? { plain, gzip: await gzip(plain, { level: 6 }) } : { plain };
}

/** gzip listed and not refused with q=0 (Grafana's Go client sends `Accept-Encoding: gzip`). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  });
}

const routeTables = new WeakMap<object, Array<{ method: string; url: string }>>();
const databaseStates = new WeakMap<object, DatabaseState>();

/** One readiness probe (as /readyz runs it): true when the database answered within the timeout. */
export function probeDatabase(app: FastifyInstance): Promise<boolean> {
  return databaseStates.get(app)?.probe() ?? Promise.resolve(false);
}

/** Every method+URL the server answers (HEAD twins excluded): what the OpenAPI document must list. */
export function servedRoutes(app: FastifyInstance): Array<{ method: string; url: string }> {
  return [...(routeTables.get(app) ?? [])];
}

/** Bytes a cached answer holds: its plain and its gzipped form. */
const bodyBytes = (v: unknown): number => {
  const b = v as { plain?: Buffer; gzip?: Buffer };
  return (b.plain?.length ?? 0) + (b.gzip?.length ?? 0) + 64;
};

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const health = resolveHealthThresholds(opts.health);
  const readClaim = parseReadClaim(opts.readClaim);
  const timeZone = requestTimeZone(opts.timeZone, DEFAULT_TIME_ZONE);
  const dbTimeoutMs = opts.dbTimeoutMs ?? DEFAULT_DB_TIMEOUT_MS;
  const app: Api = Fastify({
    logger: loggerOptions(opts.logger),
    // One line per request is ours (request-log.ts): fastify's two default lines carry no role or route.
    logController: new LogController({ disableRequestLogging: true }),
    // A request must have arrived well within this; answering is bounded by dbTimeoutMs.
    requestTimeout: Math.max(10_000, 2 * dbTimeoutMs),
    clientErrorHandler,
    frameworkErrors,
    // Parameters are few and short; anything longer is a mistake or an attack.
    routerOptions: { maxParamLength: 200 },
    bodyLimit: 64 * 1024,
    ajv: {
      customOptions: {
        // Unknown parameters are an error to report, not something to drop silently.
        removeAdditional: false,
        // A repeated parameter arrives as an array; only schemas that allow a list accept one.
        coerceTypes: 'array',
        useDefaults: true,
        allErrors: false,
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  installErrorHandling(app);
  const jwks = opts.jwksUrl ? createJwksKeySet(opts.jwksUrl, { ...opts.jwks, log: ({ msg, ...fields }) => app.log.warn(fields, msg) }) : undefined;
  const verify = createVerifier(tokenKeys({ secret: opts.jwtSecret, jwks }), opts.tokens);
  installRequestLog(app);
  // Ajv's type coercion turns "Infinity", "-1e999" (and so on) into ±Infinity and then skips the
  // minimum/maximum checks for a non-finite number; no numeric parameter means that.
  app.addHook('preHandler', async (request) => {
    const query = request.query as Record<string, unknown> | undefined;
    for (const [name, value] of Object.entries(query ?? {})) {
      if (typeof value === 'number' && !Number.isFinite(value)) throw badRequest(name, 'must be a finite number');
    }
  });
  // An idle pooled connection dies when Postgres restarts or shuts down; without a listener pg
  // re-throws that as an uncaught 'error' and the whole API exits. The next request reconnects.
  // (Checked-out connections are guarded per request in db-session.ts.)
  const onIdleError = (err: Error) => {
    app.log.warn({ err: { message: err.message } }, 'idle database connection lost');
    dbState.failed(err);
  };
  const dbState = new DatabaseState(opts.pool, dbTimeoutMs, app.log);
  opts.pool.on('error', onIdleError);
  databaseStates.set(app, dbState);
  // The listener stays after close: the pool may outlive the server by a moment while shutting down.
  app.addHook('onClose', async () => dbState.close());
  const routes: Array<{ method: string; url: string }> = [];
  routeTables.set(app, routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url });
  });
  app.decorateRequest('claims', null);
  await app.register(swagger, swaggerOptions(packageVersion()));
  registerMeta(app, () => dbState.probe());

  const limiter = new ReadLimiter({ ...DEFAULT_READ_LIMIT, waitMs: dbTimeoutMs, ...opts.readLimit });
  const cache = new ResponseCache(opts.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS, undefined, {
    maxBytes: opts.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES,
    sizeOf: bodyBytes,
  });
  const ctx: RouteContext = {
    health,
    timeZone,
    async cached(request, reply, compute) {
      const key = `${request.headers.authorization ?? ''}\n${request.url}`;
      // Serialised (and compressed) once per computation: a hit costs a lookup and a write.
      const body = await cache.get(key, async () => {
        const out = reply.serialize(await compute());
        return encodeBody(typeof out === 'string' ? Buffer.from(out, 'utf8') : Buffer.from(out as ArrayBuffer));
      });
      reply.type('application/json; charset=utf-8').header('vary', 'Accept-Encoding');
      if (body.gzip && acceptsGzip(request.headers['accept-encoding'])) return reply.header('content-encoding', 'gzip').send(body.gzip);
      return reply.send(body.plain);
    },
    run(request, fn) {
      if (!request.claims) throw new HttpError(401, 'not authenticated');
      const claims = request.claims;
      return limiter
        .run(readSubject(claims, request.headers.authorization), () => withRoleTransaction(opts.pool, claims, fn, { readOnly: true, timeoutMs: dbTimeoutMs }))
        .then(
          (out) => {
            dbState.ok();
            return out;
          },
          (err: unknown) => {
            dbState.failed(err);
            throw err;
          },
        );
    },
  };

  await app.register(
    async (api: Api) => {
      // onRequest: an unauthenticated caller learns nothing, not even which parameter is wrong.
      api.addHook('onRequest', async (request) => {
        const claims = await verify(request.headers.authorization);
        // Before any SQL; the database's own policy (008) checks the same claim again.
        if (readClaim && claims.role === 'authenticated' && !carriesClaim(claims, readClaim)) {
          throw new HttpError(403, `reading needs the claim ${readClaim.path.join('.')} in your token`);
        }
        request.claims = claims;
      });
      registerStats(api, ctx);
      registerLogs(api, ctx);
      registerHealth(api, ctx);
      registerTimeseries(api, ctx);
      registerServices(api, ctx);
    },
    { prefix: API_PREFIX },
  );
  return app as unknown as FastifyInstance;
}
