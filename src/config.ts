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
  /** Pool connect timeout, per-request statement budget and the point a request gives up on the database (MONITOR_DB_TIMEOUT_MS). */
  dbTimeoutMs: number;
  /** Byte bound of the response cache (MONITOR_API_CACHE_MAX_BYTES). */
  cacheMaxBytes: number;
  /** Token rules (MONITOR_JWT_MAX_TTL, MONITOR_JWT_ISSUER, MONITOR_JWT_AUDIENCE). */
  jwt: TokenRules;
  /** pino level (LOG_LEVEL): fatal, error, warn, info, debug, trace or silent. */
  logLevel: string;
}

export interface TokenRules {
  /** Longest accepted lifetime (exp − iat, and exp − now), seconds. */
  maxTtlSeconds: number;
  issuer?: string;
  audience?: string;
}

export const DEFAULT_DB_TIMEOUT_MS = 5000;
export const DEFAULT_CACHE_MAX_BYTES = 32 * 1024 * 1024;
/** A year as jose counts it (365.25 days), so a token minted with '1y' or '365d' fits the default. */
export const DEFAULT_JWT_MAX_TTL = '1y';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const SPAN_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_557_600 };

/** '3600', '30s', '12h', '30d', '1y' → seconds (jose's units, so `token … 1y` and the cap agree). */
export function parseSpanSeconds(value: string): number | undefined {
  const m = /^\s*([0-9]+)\s*(s|m|h|d|w|y)?\s*$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]) * SPAN_UNITS[m[2] ?? 's'];
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function intVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer ${min}-${max}, got ${JSON.stringify(raw)}`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = Number(env.PORT ?? 3100);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be an integer 0-65535, got ${JSON.stringify(env.PORT)}`);
  }
  const ttlRaw = env.MONITOR_JWT_MAX_TTL || DEFAULT_JWT_MAX_TTL;
  const maxTtlSeconds = parseSpanSeconds(ttlRaw);
  if (maxTtlSeconds === undefined) throw new Error(`MONITOR_JWT_MAX_TTL must be seconds or a span like 12h, 30d, 1y; got ${JSON.stringify(ttlRaw)}`);
  const logLevel = (env.LOG_LEVEL || 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(env.LOG_LEVEL)}`);
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
    dbTimeoutMs: intVar(env, 'MONITOR_DB_TIMEOUT_MS', DEFAULT_DB_TIMEOUT_MS, 100, 600_000),
    cacheMaxBytes: intVar(env, 'MONITOR_API_CACHE_MAX_BYTES', DEFAULT_CACHE_MAX_BYTES, 0, 4 * 1024 ** 3),
    jwt: { maxTtlSeconds, issuer: env.MONITOR_JWT_ISSUER || undefined, audience: env.MONITOR_JWT_AUDIENCE || undefined },
    logLevel,
  };
}
