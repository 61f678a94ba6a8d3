/**
 * Every environment variable the server, the CLI and the demo read: one TypeBox schema, parsed
 * once by loadConfig. README.md's configuration table is checked against CONFIG_SCHEMA
 * (test/api/config.test.ts), and the CLI's usage text lists its keys. The recorder SDK reads
 * none of these: it takes everything from its options.
 */
import path from 'node:path';
import { FormatRegistry, Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DEFAULT_TIME_ZONE, isTimeZoneName } from './store/time-zone';

export interface Config {
  /** Postgres to use; unset means "start the embedded one". */
  databaseUrl?: string;
  /** `start` with DATABASE_URL: the login the API connects as (DATABASE_URL then only migrates and maintains). */
  apiDatabaseUrl?: string;
  host: string;
  port: number;
  jwtSecret?: string;
  /** JWKS of an issuer signing with ES256/RS256 (Supabase: …/auth/v1/.well-known/jwks.json). */
  jwksUrl?: string;
  /** `path.to.claim=value` an authenticated token must carry to read. */
  readClaim?: string;
  /** Where the embedded database and generated secrets live (absolute). */
  dataDir: string;
  rawRetention: string;
  rollupRetention: string;
  /** Pool connect timeout, per-request statement budget and the point a request gives up on the database. */
  dbTimeoutMs: number;
  /** Byte bound of the response cache. */
  cacheMaxBytes: number;
  /** How long an aggregate answer is reused for the same token and URL; 0 = off. */
  cacheTtlMs: number;
  /** Token rules (exp cap, issuer, audience). */
  jwt: TokenRules;
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  logLevel: string;
  /** Thresholds of /health's `state`. */
  health: HealthThresholds;
  /** Zone of hours and days when a request has no `tz`. */
  timeZone: string;
  /** Calls per second the demo's traffic makes. */
  demoRate: number;
}

export interface TokenRules {
  /** Longest accepted lifetime (exp − iat, and exp − now), seconds. */
  maxTtlSeconds: number;
  issuer?: string;
  audience?: string;
}

export const DEFAULT_DB_TIMEOUT_MS = 5000;
export const DEFAULT_CACHE_MAX_BYTES = 32 * 1024 * 1024;
/** MONITOR_API_CACHE_MS's default: a dashboard's panels refreshing together share one answer. */
export const DEFAULT_CACHE_TTL_MS = 1000;

/** When /health calls a service degraded or down (src/api/health-state.ts judges by them). */
export interface HealthThresholds {
  /** Calls in the window needed before a failure rate can make a service `down`. */
  minRequests: number;
  /** Failure rate (percent) at or above which a service is `degraded`. */
  degradedFailureRatePercent: number;
  /** Failure rate (percent) at or above which a service is `down`. */
  downFailureRatePercent: number;
  /** p95 latency (ms) at or above which a service with enough calls is `degraded`; 0 disables. */
  degradedP95Ms: number;
}

export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = {
  minRequests: 20,
  degradedFailureRatePercent: 5,
  downFailureRatePercent: 50,
  degradedP95Ms: 0,
};

/** Merges overrides over the defaults and rejects nonsense (negative, NaN, degraded above down). */
export function resolveHealthThresholds(overrides: Partial<HealthThresholds> = {}): HealthThresholds {
  const t = { ...DEFAULT_HEALTH_THRESHOLDS, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
  for (const [k, v] of Object.entries(t)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`health threshold ${k} must be a non-negative number, got ${String(v)}`);
  }
  if (t.degradedFailureRatePercent > t.downFailureRatePercent) {
    throw new Error('health threshold degradedFailureRatePercent must not exceed downFailureRatePercent');
  }
  if (t.downFailureRatePercent > 100) throw new Error('health threshold downFailureRatePercent must be at most 100');
  return t;
}
/** A year as jose counts it (365.25 days), so a token minted with '1y' or '365d' fits the default. */
export const DEFAULT_JWT_MAX_TTL = '1y';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const SPAN_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_557_600 };

/** '3600', '30s', '12h', '30d', '1y' → seconds (jose's units, so `token … 1y` and the cap agree). */
export function parseSpanSeconds(value: string): number | undefined {
  const m = /^\s*([0-9]+)\s*(s|m|h|d|w|y)?\s*$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]) * SPAN_UNITS[m[2] ?? 's'];
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

// Formats are TypeBox's global registry; the API's request schemas go through Ajv and never see them.
FormatRegistry.Set('time-zone', isTimeZoneName);
FormatRegistry.Set('span', (v) => parseSpanSeconds(v) !== undefined);

/** `expects` finishes the sentence "NAME must be …" of the one-line error for a bad value. */
const text = (opts: { default?: string; format?: string; expects?: string } = {}) => Type.String(opts);
const int = (minimum: number, maximum: number, fallback: number) => Type.Integer({ minimum, maximum, default: fallback, expects: `an integer ${minimum}-${maximum}` });
const threshold = (fallback: number, maximum?: number) =>
  Type.Number({
    minimum: 0,
    maximum,
    default: fallback,
    expects: maximum === undefined ? 'a non-negative number' : `a number 0-${maximum}`,
  });

export const CONFIG_SCHEMA = Type.Object({
  DATABASE_URL: Type.Optional(text()),
  MONITOR_API_DATABASE_URL: Type.Optional(text()),
  HOST: text({ default: '127.0.0.1' }),
  PORT: int(0, 65535, 3100),
  MONITOR_JWT_SECRET: Type.Optional(text()),
  MONITOR_JWKS_URL: Type.Optional(text()),
  MONITOR_READ_CLAIM: Type.Optional(text()),
  MONITOR_DATA_DIR: text({ default: './.data' }),
  MONITOR_RAW_RETENTION: text({ default: '90 days' }),
  MONITOR_ROLLUP_RETENTION: text({ default: '400 days' }),
  MONITOR_HEALTH_MIN_REQUESTS: threshold(DEFAULT_HEALTH_THRESHOLDS.minRequests),
  MONITOR_HEALTH_DEGRADED_PERCENT: threshold(DEFAULT_HEALTH_THRESHOLDS.degradedFailureRatePercent, 100),
  MONITOR_HEALTH_DOWN_PERCENT: threshold(DEFAULT_HEALTH_THRESHOLDS.downFailureRatePercent, 100),
  MONITOR_HEALTH_DEGRADED_P95_MS: threshold(DEFAULT_HEALTH_THRESHOLDS.degradedP95Ms),
  MONITOR_TIMEZONE: text({
    default: DEFAULT_TIME_ZONE,
    format: 'time-zone',
    expects: 'an IANA time zone name such as UTC or Asia/Almaty',
  }),
  MONITOR_API_CACHE_MS: int(0, 3_600_000, DEFAULT_CACHE_TTL_MS),
  MONITOR_API_CACHE_MAX_BYTES: int(0, 4 * 1024 ** 3, DEFAULT_CACHE_MAX_BYTES),
  MONITOR_DB_TIMEOUT_MS: int(100, 600_000, DEFAULT_DB_TIMEOUT_MS),
  MONITOR_JWT_MAX_TTL: text({
    default: DEFAULT_JWT_MAX_TTL,
    format: 'span',
    expects: 'seconds or a span like 12h, 30d, 1y',
  }),
  MONITOR_JWT_ISSUER: Type.Optional(text()),
  MONITOR_JWT_AUDIENCE: Type.Optional(text()),
  LOG_LEVEL: Type.Union(
    LOG_LEVELS.map((l) => Type.Literal(l)),
    { default: 'info', expects: `one of ${LOG_LEVELS.join(', ')}` },
  ),
  MONITOR_DEMO_RATE: Type.Number({
    exclusiveMinimum: 0,
    maximum: 5000,
    default: 20,
    expects: 'a number of calls per second in (0, 5000]',
  }),
});

/** A bad value in the environment: the CLI prints the message alone and exits 2. */
export class ConfigError extends Error {
  readonly exitCode = 2;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The environment's text as the schema's type. TypeBox's own Convert truncates "1.5" to an integer, so numbers are read here. */
function convert(schema: TSchema, raw: string): unknown {
  if (schema.type === 'number' || schema.type === 'integer') return DECIMAL.test(raw) ? Number(raw) : raw;
  return schema.anyOf ? raw.toLowerCase() : raw;
}

/** The environment checked against CONFIG_SCHEMA; unset and empty variables take the defaults. */
function readEnvironment(env: Record<string, string | undefined>) {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, schema] of Object.entries(CONFIG_SCHEMA.properties) as [string, TSchema][]) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') {
      if (schema.default !== undefined) values[name] = schema.default;
      continue;
    }
    // Free text (a secret, a URL) is taken as it is; numbers, names and spans without stray blanks.
    const value = convert(schema, schema.type === 'string' && !schema.format ? raw : raw.trim());
    if (Value.Check(schema, value)) values[name] = value;
    else problems.push(`${name} must be ${schema.expects ?? 'text'}, got ${JSON.stringify(env[name])}`);
  }
  const v = values as typeof CONFIG_SCHEMA.static;
  if (v.MONITOR_HEALTH_DEGRADED_PERCENT > v.MONITOR_HEALTH_DOWN_PERCENT) {
    problems.push(`MONITOR_HEALTH_DEGRADED_PERCENT (${v.MONITOR_HEALTH_DEGRADED_PERCENT}) must not exceed MONITOR_HEALTH_DOWN_PERCENT (${v.MONITOR_HEALTH_DOWN_PERCENT})`);
  }
  if (problems.length) throw new ConfigError(problems.join('; '));
  return v;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const v = readEnvironment(env);
  return {
    databaseUrl: v.DATABASE_URL,
    apiDatabaseUrl: v.MONITOR_API_DATABASE_URL,
    host: v.HOST,
    port: v.PORT,
    jwtSecret: v.MONITOR_JWT_SECRET,
    jwksUrl: v.MONITOR_JWKS_URL,
    readClaim: v.MONITOR_READ_CLAIM,
    dataDir: path.resolve(v.MONITOR_DATA_DIR),
    rawRetention: v.MONITOR_RAW_RETENTION,
    rollupRetention: v.MONITOR_ROLLUP_RETENTION,
    dbTimeoutMs: v.MONITOR_DB_TIMEOUT_MS,
    cacheMaxBytes: v.MONITOR_API_CACHE_MAX_BYTES,
    cacheTtlMs: v.MONITOR_API_CACHE_MS,
    jwt: {
      maxTtlSeconds: parseSpanSeconds(v.MONITOR_JWT_MAX_TTL)!,
      issuer: v.MONITOR_JWT_ISSUER,
      audience: v.MONITOR_JWT_AUDIENCE,
    },
    logLevel: v.LOG_LEVEL,
    health: resolveHealthThresholds({
      minRequests: v.MONITOR_HEALTH_MIN_REQUESTS,
      degradedFailureRatePercent: v.MONITOR_HEALTH_DEGRADED_PERCENT,
      downFailureRatePercent: v.MONITOR_HEALTH_DOWN_PERCENT,
      degradedP95Ms: v.MONITOR_HEALTH_DEGRADED_P95_MS,
    }),
    timeZone: v.MONITOR_TIMEZONE,
    demoRate: v.MONITOR_DEMO_RATE,
  };
}
