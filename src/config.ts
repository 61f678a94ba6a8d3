import path from 'node:path';

/** Everything the process reads from its environment, read in one place. */
export interface Config {
  /** Postgres to use; unset means "start the embedded one". */
  databaseUrl?: string;
  host: string;
  port: number;
  jwtSecret?: string;
  /** JWKS of an issuer signing with ES256/RS256 (Supabase: …/auth/v1/.well-known/jwks.json). */
  jwksUrl?: string;
  /** `path.to.claim=value` an authenticated token must carry to read. */
  readClaim?: string;
  /** Where the embedded database, generated secret and recorder spool live. */
  dataDir: string;
  rawRetention: string;
  rollupRetention: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = Number(env.PORT ?? 3100);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be an integer 0-65535, got ${JSON.stringify(env.PORT)}`);
  }
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    host: env.HOST || '127.0.0.1',
    port,
    jwtSecret: env.MONITOR_JWT_SECRET || undefined,
    jwksUrl: env.MONITOR_JWKS_URL || undefined,
    readClaim: env.MONITOR_READ_CLAIM || undefined,
    dataDir: path.resolve(env.MONITOR_DATA_DIR || '.data'),
    rawRetention: env.MONITOR_RAW_RETENTION || '90 days',
    rollupRetention: env.MONITOR_ROLLUP_RETENTION || '400 days',
  };
}
