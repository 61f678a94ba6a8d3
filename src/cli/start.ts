import type { FastifyInstance } from 'fastify';
import { Pool } from 'pg';
import { buildServer } from '../api/server';
import { claimsCarrying, parseReadClaim } from '../api/read-claim';
import { resolveJwtSecret, signToken } from '../api/secret';
import { timeZoneFromEnv } from '../api/time-zone';
import type { Config } from '../config';
import { EmbeddedDatabase, startEmbedded } from '../db/embedded';
import { migrate } from '../db/migrate';
import { startScheduler } from '../db/scheduler';
import { embeddedDataDir } from './database';

export interface RunningMonitor {
  databaseUrl: string;
  apiUrl: string;
  /** A read-only (authenticated) token for Grafana, when the secret is known to this process. */
  readToken?: string;
  jwtSecret?: string;
  pool: Pool;
  app: FastifyInstance;
  stop(): Promise<void>;
}

/**
 * `npm start`: the database (embedded unless DATABASE_URL), migrations, the retention/partition
 * scheduler and the API, stopped in reverse order on SIGINT/SIGTERM.
 */
export async function startMonitor(config: Config, opts: { handleSignals?: boolean; log?: (line: string) => void } = {}): Promise<RunningMonitor> {
  const log = opts.log ?? ((line: string) => console.log(line));
  // Decide on the secret and the zone before starting anything, so a refusal leaves nothing running.
  // With a JWKS and an external database, tokens come from that issuer: no secret is needed.
  const secret = config.jwksUrl && !config.jwtSecret && config.databaseUrl ? undefined : resolveJwtSecret(config);
  const timeZone = timeZoneFromEnv();
  let embedded: EmbeddedDatabase | undefined;
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err) => log(`while stopping: ${(err as Error).message}`));
    stops.length = 0;
  };
  try {
    if (!config.databaseUrl) {
      embedded = await startEmbedded(embeddedDataDir(config), { quiet: true });
      stops.push(() => embedded!.stop());
      log(`postgres  embedded, data in ${embeddedDataDir(config)}, listening on 127.0.0.1:${embedded.port}`);
    }
    const databaseUrl = config.databaseUrl ?? embedded!.url;
    const { applied } = await migrate(databaseUrl);
    log(`schema    ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
    const pool = new Pool({ connectionString: databaseUrl, max: 20, application_name: 'integration-monitor api' });
    stops.push(() => pool.end());
    const scheduler = await startScheduler(pool, { rawRetention: config.rawRetention, rollupRetention: config.rollupRetention, log });
    stops.push(() => scheduler.stop());
    log(`scheduler ${scheduler.mode} (retention: raw ${config.rawRetention}, rollups ${config.rollupRetention})`);
    const app = await buildServer({ pool, jwtSecret: secret?.secret, jwksUrl: config.jwksUrl, readClaim: config.readClaim, timeZone });
    stops.push(() => app.close());
    await app.listen({ host: config.host, port: config.port });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    const apiUrl = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    // With a read claim, Grafana's token must carry it too, or every panel would get 403.
    const readClaim = parseReadClaim(config.readClaim);
    const readToken = secret ? await signToken(secret.secret, 'authenticated', '365d', readClaim ? claimsCarrying(readClaim) : {}) : undefined;
    log(`api       ${apiUrl}/api/admin/integrations/monitoring  (OpenAPI: ${apiUrl}/api/admin/integrations/monitoring/openapi.json)`);
    if (secret?.generated) log(`secret    generated and kept in ${secret.path}`);
    if (readToken) log(`grafana   read-only token (role authenticated): ${readToken}`);
    else log(`tokens    ES256/RS256 from ${config.jwksUrl} (no MONITOR_JWT_SECRET: this process mints none)`);
    if (config.readClaim) log(`reads     authenticated tokens need the claim ${config.readClaim}`);
    const running: RunningMonitor = { databaseUrl, apiUrl, readToken, jwtSecret: secret?.secret, pool, app, stop };
    if (opts.handleSignals) {
      const onSignal = (sig: NodeJS.Signals) => {
        log(`${sig}: stopping`);
        void stop().then(() => process.exit(0));
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    }
    return running;
  } catch (err) {
    await stop();
    throw err;
  }
}
