/**
 * `integration-monitor serve`: the API and nothing else — no migrations, no maintenance (but
 * keeping MONITOR_TIMEZONE's days, see checkDayZone), no embedded database — meant to run as the
 * least-privileged login role (docs/production.md). It
 * comes up whether or not the database answers (503 and /readyz false until it does).
 */
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { withRoleTransaction } from '../store/role-transaction';
import { probeDatabase, buildServer } from '../api/server';
import { resolveJwtSecret } from '../secret';
import type { Config } from '../config';
import { dayZoneAdvice, ensureDayZone } from '../db/day-zones';
import { createApiPool } from '../db/pool';
import { checkReadClaim } from '../db/read-claim';
import { warnIfPrivileged } from './api-privilege';

export class UsageError extends Error {
  readonly exitCode = 2;
}

export interface RunningApi {
  apiUrl: string;
  pool: Pool;
  app: FastifyInstance;
  stop(): Promise<void>;
}

export interface ProcessOptions {
  handleSignals?: boolean;
  /** Human-readable progress lines (default console.log). */
  log?: (line: string) => void;
  /** Where the JSON request log goes (default stdout). */
  logStream?: NodeJS.WritableStream;
}

/** The API on `pool`, listening where the configuration says; resolves to its base URL. */
export async function listenApi(config: Config, pool: Pool, jwtSecret: string | undefined, logStream?: NodeJS.WritableStream): Promise<{ app: FastifyInstance; apiUrl: string }> {
  const app = await buildServer({
    pool,
    jwtSecret,
    jwksUrl: config.jwksUrl,
    readClaim: config.readClaim,
    logger: { level: config.logLevel, stream: logStream },
    dbTimeoutMs: config.dbTimeoutMs,
    cacheMaxBytes: config.cacheMaxBytes,
    cacheTtlMs: config.cacheTtlMs,
    health: config.health,
    timeZone: config.timeZone,
    tokens: config.jwt,
  });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  return { app, apiUrl: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}` };
}

/** SIGINT/SIGTERM: stop everything, then exit 0. */
export function stopOnSignals(stop: () => Promise<void>, log: (line: string) => void): void {
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping`);
    void stop().then(() => process.exit(0));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

/**
 * MONITOR_TIMEZONE as a day zone, as service_role (the API's login may take it on; nothing else
 * here does maintenance): kept, added, or one structured warning saying what to run. Never stops
 * the API: without the zone, day reads in it are exact, only slower.
 */
async function checkDayZone(config: Config, pool: Pool, app: FastifyInstance): Promise<void> {
  try {
    const zone = await withRoleTransaction(pool, { role: 'service_role' }, (db) => ensureDayZone(db, config.timeZone), { readOnly: false, timeoutMs: 120_000 });
    if (zone) app.log[zone.level]({ component: 'day-zones', zone: zone.zone, state: zone.state }, zone.line);
  } catch (err) {
    // 42501: this login may not SET ROLE service_role
    const state = (err as { code?: string }).code === '42501' ? 'not-permitted' : 'failed';
    app.log.warn({ component: 'day-zones', zone: config.timeZone, state }, `day zone  ${config.timeZone} (MONITOR_TIMEZONE) not checked: ${(err as Error).message}; ${dayZoneAdvice(config.timeZone)}`);
  }
}

/**
 * Whether the database's policies check MONITOR_READ_CLAIM too (`serve` runs as a login that may
 * not store it: `start`/`migrate` do); one warning saying what to run when they do not.
 */
async function checkDatabaseReadClaim(config: Config, pool: Pool, app: FastifyInstance): Promise<void> {
  try {
    const claim = await withRoleTransaction(pool, { role: 'service_role' }, (db) => checkReadClaim(db, config.readClaim));
    if (claim) app.log[claim.level]({ component: 'read-claim' }, claim.line);
  } catch (err) {
    app.log.warn({ component: 'read-claim' }, `reads     could not compare MONITOR_READ_CLAIM with the database's read claim: ${(err as Error).message}`);
  }
}

export async function serveApi(config: Config, opts: ProcessOptions = {}): Promise<RunningApi> {
  const log = opts.log ?? ((line: string) => console.log(line));
  if (!config.databaseUrl) {
    throw new UsageError("serve needs DATABASE_URL (the API's login role, see docs/production.md); `integration-monitor start` runs everything on the embedded database");
  }
  // With only a JWKS, tokens come from that issuer: no secret is needed.
  const secret = config.jwksUrl && !config.jwtSecret ? undefined : resolveJwtSecret(config);
  const pool = createApiPool(config.databaseUrl, config.dbTimeoutMs);
  let app: FastifyInstance | undefined;
  try {
    const listening = await listenApi(config, pool, secret?.secret, opts.logStream);
    app = listening.app;
    const { apiUrl } = listening;
    log(`api       ${apiUrl}/api/admin/integrations/monitoring  (serve: API only, no migrations or maintenance)`);
    const ready = await probeDatabase(app);
    log(ready ? 'database  answers' : 'database  does not answer yet: requests get 503 and /readyz is false until it does');
    if (ready) {
      await warnIfPrivileged(pool, config.dbTimeoutMs, app, log);
      await checkDayZone(config, pool, app);
      await checkDatabaseReadClaim(config, pool, app);
    }
    const stop = async () => {
      await app!.close();
      await pool.end();
    };
    if (opts.handleSignals) stopOnSignals(stop, log);
    return { apiUrl, pool, app, stop };
  } catch (err) {
    await app?.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    throw err;
  }
}
