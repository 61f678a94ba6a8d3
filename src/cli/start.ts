import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Pool } from 'pg';
import { redactUrl } from '../log-redaction';
import { claimsCarrying, parseReadClaim } from '../store/read-claim';
import { resolveJwtSecret, signToken } from '../secret';
import type { Config } from '../config';
import { API_PASSWORD_FILE, DEFAULT_API_ROLE, ensureApiRole, urlWithLogin } from '../db/api-role';
import { isConnectionError } from '../db/connection-error';
import { EmbeddedDatabase, keptPassword, startEmbedded } from '../db/embedded';
import { ensureDayZone } from '../db/day-zones';
import { migrate } from '../db/migrate';
import { writeReadClaim } from '../db/read-claim';
import { createApiPool, guardClients } from '../db/pool';
import { Scheduler, startScheduler } from '../db/scheduler';
import { embeddedDataDir } from './database';
import { listenApi, ProcessOptions, stopOnSignals } from './serve';
import { warnIfPrivileged } from './api-privilege';

/** The login and password of a postgres:// URL (decoded), when it has both. */
function loginOf(url: string): { user: string; password: string } | undefined {
  try {
    const u = new URL(url);
    return u.username && u.password ? { user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : undefined;
  } catch {
    return undefined;
  }
}

export interface RunningMonitor {
  /** The owner's URL (migrations, maintenance, and what the demo's recorder writes with). */
  databaseUrl: string;
  /** What the API connects as: the least-privileged role on the embedded database, else DATABASE_URL. */
  apiDatabaseUrl: string;
  apiUrl: string;
  /** A read-only (authenticated) token for Grafana, when the secret is known to this process. */
  readToken?: string;
  jwtSecret?: string;
  pool: Pool;
  app: FastifyInstance;
  /** The embedded server, when this process runs one. */
  embedded?: EmbeddedDatabase;
  /** Resolves once migrations have run and maintenance is scheduled (at once, or when the database is back). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/** How often `start` retries migrations and maintenance while an external database is away. */
const BRING_UP_RETRY_MS = 2000;

/**
 * `npm start`: the database (embedded unless DATABASE_URL), migrations, the retention/partition
 * scheduler and the API, stopped in reverse order on SIGINT/SIGTERM. On the embedded database the
 * API connects as a least-privileged role (integration_monitor_api, password generated and kept
 * in MONITOR_DATA_DIR). An external database that does not answer yet does not stop it: the API
 * answers 503 meanwhile, and migrations and maintenance run as soon as the database is back.
 */
export async function startMonitor(config: Config, opts: ProcessOptions = {}): Promise<RunningMonitor> {
  const log = opts.log ?? ((line: string) => console.log(line));
  // Decide on the secret before starting anything, so a refusal leaves nothing running.
  // With a JWKS and an external database, tokens come from that issuer: no secret is needed.
  const secret = config.jwksUrl && !config.jwtSecret && config.databaseUrl ? undefined : resolveJwtSecret(config);
  let embedded: EmbeddedDatabase | undefined;
  let stopping = false;
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    stopping = true;
    for (const s of stops.reverse()) await s().catch((err) => log(`while stopping: ${(err as Error).message}`));
    stops.length = 0;
  };
  try {
    let apiDatabaseUrl: string;
    let apiPassword: string | undefined;
    if (!config.databaseUrl) {
      embedded = await startEmbedded(embeddedDataDir(config), { quiet: true, secretsDir: config.dataDir, log });
      stops.push(() => embedded!.stop());
      log(`postgres  embedded, data in ${embedded.dataDir}, listening on 127.0.0.1:${embedded.port} (superuser password in ${path.join(config.dataDir, 'postgres-superuser-password')})`);
      apiPassword = keptPassword(path.join(config.dataDir, API_PASSWORD_FILE)).password;
      apiDatabaseUrl = urlWithLogin(embedded.url, DEFAULT_API_ROLE, apiPassword);
    } else {
      // MONITOR_API_DATABASE_URL: the API's own login (made or brought in line below, with the
      // URL's password); without it the API connects as DATABASE_URL and is warned about when that
      // login is privileged.
      apiDatabaseUrl = config.apiDatabaseUrl ?? config.databaseUrl;
    }
    const apiLogin = !embedded && config.apiDatabaseUrl ? loginOf(config.apiDatabaseUrl) : undefined;
    const databaseUrl = config.databaseUrl ?? embedded!.url;

    // Maintenance runs as the owner, on a small pool of its own; the API never holds those rights.
    const ownerPool = new Pool({ connectionString: databaseUrl, max: 2, application_name: 'integration-monitor maintenance', connectionTimeoutMillis: config.dbTimeoutMs });
    ownerPool.on('error', () => undefined); // an idle connection lost to a restart; the next run reconnects
    guardClients(ownerPool);
    stops.push(() => ownerPool.end());
    const pool = createApiPool(apiDatabaseUrl, config.dbTimeoutMs);
    stops.push(() => pool.end());

    let scheduler: Scheduler | undefined;
    let schedulerLog: (line: string, level?: 'info' | 'error') => void = (line) => log(line);
    const bringUp = async () => {
      const { applied } = await migrate(databaseUrl);
      log(`schema    ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
      if (apiPassword) await ensureApiRole(databaseUrl, apiPassword);
      if (apiLogin) {
        try {
          await ensureApiRole(databaseUrl, apiLogin.password, apiLogin.user);
          log(`api role  ${apiLogin.user} (MONITOR_API_DATABASE_URL; not a superuser, NOINHERIT)`);
        } catch (err) {
          // e.g. DATABASE_URL may not create roles (42501): the operator made it (docs/production.md).
          log(`api role  ${apiLogin.user} not created or updated (${(err as Error).message}); the API connects as it as given`);
        }
      }
      // MONITOR_TIMEZONE's days kept whole (the first time: backfilled, writers pausing meanwhile)
      const owner = await ownerPool.connect();
      try {
        // MONITOR_READ_CLAIM checked by the database's policies too (PostgREST callers included)
        const claim = await writeReadClaim(owner, config.readClaim);
        if (claim) log(claim.line);
        const zone = await ensureDayZone(owner, config.timeZone);
        if (zone) log(zone.line);
      } finally {
        owner.release();
      }
      scheduler = await startScheduler(ownerPool, { rawRetention: config.rawRetention, rollupRetention: config.rollupRetention, log: (l, level) => schedulerLog(l, level) });
      log(`scheduler ${scheduler.mode} (retention: raw ${config.rawRetention}, rollups ${config.rollupRetention})`);
    };
    stops.push(async () => {
      await scheduler?.stop();
    });

    let ready: Promise<void>;
    let waiting: NodeJS.Timeout | undefined;
    try {
      await bringUp();
      ready = Promise.resolve();
    } catch (err) {
      // Our own embedded server must work; an external one may be away for now.
      if (embedded || !isConnectionError(err)) throw err;
      log(`database  does not answer (${(err as Error).message}): the API answers 503 until it is back; migrations and maintenance run then`);
      ready = new Promise<void>((resolve) => {
        const retry = () => {
          waiting = setTimeout(() => {
            if (stopping) return;
            bringUp().then(resolve, (e: Error) => {
              if (!isConnectionError(e)) log(`database  back, but starting failed: ${e.message}`);
              retry();
            });
          }, BRING_UP_RETRY_MS);
        };
        retry();
      });
    }
    stops.push(async () => clearTimeout(waiting));

    const { app, apiUrl } = await listenApi(config, pool, secret?.secret, opts.logStream);
    stops.push(() => app.close());
    // From here on, scheduler runs go to the structured log with everything else.
    schedulerLog = (line, level) => (level === 'error' ? app.log.error({ component: 'scheduler' }, line) : app.log.info({ component: 'scheduler' }, line));
    // With a read claim, Grafana's token must carry it too, or every panel would get 403.
    const readClaim = parseReadClaim(config.readClaim);
    const readToken = secret
      ? await signToken(secret.secret, 'authenticated', '365d', { ...(readClaim ? claimsCarrying(readClaim) : {}), iss: config.jwt.issuer, aud: config.jwt.audience })
      : undefined;
    log(`api       ${apiUrl}/api/admin/integrations/monitoring  (OpenAPI: ${apiUrl}/api/admin/integrations/monitoring/openapi.json)`);
    if (embedded) log(`api role  ${DEFAULT_API_ROLE} (not a superuser, NOINHERIT; password in ${path.join(config.dataDir, API_PASSWORD_FILE)})`);
    if (secret?.generated) log(`secret    generated and kept in ${secret.path}`);
    if (readToken) log(`grafana   read-only token (role authenticated): ${readToken}`);
    else log(`tokens    ES256/RS256 from ${redactUrl(config.jwksUrl ?? '')} (no MONITOR_JWT_SECRET: this process mints none)`);
    if (config.readClaim) log(`reads     authenticated tokens need the claim ${config.readClaim}`);
    // Once the database answers: a privileged API login is said loudly (doctor marks it ✘ too).
    void ready.then(() => warnIfPrivileged(pool, config.dbTimeoutMs, app, log));
    const running: RunningMonitor = { databaseUrl, apiDatabaseUrl, apiUrl, readToken, jwtSecret: secret?.secret, pool, app, embedded, ready, stop };
    if (opts.handleSignals) stopOnSignals(stop, log);
    return running;
  } catch (err) {
    await stop();
    throw err;
  }
}
