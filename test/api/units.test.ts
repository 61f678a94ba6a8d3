import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeCursor, encodeCursor, isTimestamp } from '../../src/api/cursor';
import { HttpError } from '../../src/api/errors';
import { healthState } from '../../src/api/health-state';
import { list, parseDuration, resolveRange } from '../../src/api/params';
import { createVerifier } from '../../src/api/auth';
import { DEFAULT_CACHE_MAX_BYTES, DEFAULT_HEALTH_THRESHOLDS, loadConfig, parseSpanSeconds, resolveHealthThresholds } from '../../src/config';
import { resolveJwtSecret, signToken } from '../../src/secret';
import { bucketWidthMs } from '../../src/api/routes/timeseries';

const fieldOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).statusCode).toBe(400);
    return (err as HttpError).field;
  }
  throw new Error('expected a 400');
};

describe('cursor', () => {
  it('round-trips created_at text with microseconds and the id', () => {
    const c = { createdAt: '2026-11-27 20:38:59.123456+00', id: '0b6f3a3e-6f55-4d5e-9d7a-3c1c2a8e9f10' };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
  });

  it.each([
    ['not base64', '!!!'],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['wrong arity', Buffer.from(JSON.stringify(['2026-01-01T00:00:00Z'])).toString('base64url')],
    ['bad uuid', Buffer.from(JSON.stringify(['2026-01-01T00:00:00Z', 'x'])).toString('base64url')],
    ['bad date', Buffer.from(JSON.stringify(['2026-02-30T00:00:00Z', '0b6f3a3e-6f55-4d5e-9d7a-3c1c2a8e9f10'])).toString('base64url')],
    ['SQL in date', Buffer.from(JSON.stringify(["2026-01-01'; drop table x;--", '0b6f3a3e-6f55-4d5e-9d7a-3c1c2a8e9f10'])).toString('base64url')],
  ])('rejects %s with a 400 naming the field', (_label, value) => {
    expect(fieldOf(() => decodeCursor(value))).toBe('before');
  });

  it('knows real calendar days', () => {
    expect(isTimestamp('2024-02-29T00:00:00Z')).toBe(true);
    expect(isTimestamp('2023-02-29T00:00:00Z')).toBe(false);
    expect(isTimestamp('2026-04-31T00:00:00Z')).toBe(false);
    expect(isTimestamp('2026-04-30 23:59:59.999999+05:30')).toBe(true);
  });
});

describe('health state', () => {
  const t = { ...DEFAULT_HEALTH_THRESHOLDS, minRequests: 10, degradedFailureRatePercent: 5, downFailureRatePercent: 50, degradedP95Ms: 2000 };
  const row = (total: number, rate: number, p95: number | null = 100) => ({ total_requests: total, failure_rate_percent: rate, p95_duration_ms: p95 });

  it('one failure out of one call is not down (minimum-volume guard)', () => {
    expect(healthState(row(1, 100), t)).toBe('degraded');
    expect(healthState(row(9, 100), t)).toBe('degraded');
    expect(healthState(row(9, 11.11), t)).toBe('ok');
    expect(healthState(row(0, 0, null), t)).toBe('ok');
  });

  it('judges the rate once there is enough volume', () => {
    expect(healthState(row(10, 50), t)).toBe('down');
    expect(healthState(row(10, 49.99), t)).toBe('degraded');
    expect(healthState(row(100, 5), t)).toBe('degraded');
    expect(healthState(row(100, 4.99), t)).toBe('ok');
  });

  it('slow p95 degrades when a latency threshold is set, and only then', () => {
    expect(healthState(row(100, 0, 2500), t)).toBe('degraded');
    expect(healthState(row(100, 0, 2500), { ...t, degradedP95Ms: 0 })).toBe('ok');
  });

  it('thresholds come from MONITOR_HEALTH_* and nonsense is refused', () => {
    expect(loadConfig({ MONITOR_HEALTH_MIN_REQUESTS: '3', MONITOR_HEALTH_DOWN_PERCENT: '80' }).health).toEqual({
      ...DEFAULT_HEALTH_THRESHOLDS,
      minRequests: 3,
      downFailureRatePercent: 80,
    });
    expect(() => loadConfig({ MONITOR_HEALTH_DOWN_PERCENT: 'lots' })).toThrow(/^MONITOR_HEALTH_DOWN_PERCENT must be a number 0-100, got "lots"$/);
    expect(() => loadConfig({ MONITOR_HEALTH_DEGRADED_PERCENT: '60', MONITOR_HEALTH_DOWN_PERCENT: '50' })).toThrow(
      /^MONITOR_HEALTH_DEGRADED_PERCENT \(60\) must not exceed MONITOR_HEALTH_DOWN_PERCENT \(50\)$/,
    );
    expect(() => resolveHealthThresholds({ degradedFailureRatePercent: 60, downFailureRatePercent: 50 })).toThrow(/must not exceed/);
    expect(() => resolveHealthThresholds({ minRequests: -1 })).toThrow(/non-negative/);
  });
});

describe('parameters', () => {
  const now = new Date('2026-06-15T12:00:00Z');
  it('defaults the range to the span before now', () => {
    expect(resolveRange({}, 86_400_000, now)).toEqual({ from: new Date('2026-06-14T12:00:00Z'), to: now });
  });
  it('names the field for from > to, a range over 400 days and impossible instants', () => {
    expect(fieldOf(() => resolveRange({ from: '2026-06-02T00:00:00Z', to: '2026-06-01T00:00:00Z' }, 1, now))).toBe('from');
    expect(fieldOf(() => resolveRange({ from: '2024-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 1, now))).toBe('from');
    expect(fieldOf(() => resolveRange({ to: '2026-01-01T23:59:60Z' }, 1, now))).toBe('to');
    expect(fieldOf(() => resolveRange({ from: '1900-01-01T00:00:00Z' }, 1, now))).toBe('from');
  });
  it('parses durations and de-duplicates repeated parameters', () => {
    expect(parseDuration('15m', 'window')).toBe(900_000);
    expect(parseDuration('7d', 'window')).toBe(604_800_000);
    expect(list(['a', 'b', 'a'])).toEqual(['a', 'b']);
    expect(list('a')).toEqual(['a']);
    expect(list(undefined)).toBeUndefined();
  });
  it('picks whole-minute buckets, at most 5,000 per series', () => {
    expect(bucketWidthMs(3_600_000, 30_000)).toBe(60_000);
    expect(bucketWidthMs(86_400_000, 3_600_000)).toBe(3_600_000);
    expect(bucketWidthMs(86_400_000)).toBe(300_000);
    expect(bucketWidthMs(400 * 86_400_000, 60_000)).toBe(Math.ceil((400 * 86_400_000) / 5000 / 60_000) * 60_000);
    expect(bucketWidthMs(90_000, 90_000)).toBe(120_000);
  });
});

describe('secret', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-secret-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('MONITOR_JWT_SECRET wins', () => {
    const s = 'k'.repeat(40);
    expect(resolveJwtSecret({ jwtSecret: s, databaseUrl: 'postgres://x', dataDir: dir })).toEqual({ secret: s, generated: false });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuses a short secret', () => {
    expect(() => resolveJwtSecret({ jwtSecret: 'short', dataDir: dir })).toThrow(/at least 32/);
  });

  it('with DATABASE_URL and no secret, refuses with a message naming MONITOR_JWT_SECRET', () => {
    expect(() => resolveJwtSecret({ databaseUrl: 'postgres://db/x', dataDir: dir })).toThrow(/MONITOR_JWT_SECRET is not set/);
  });

  it('on the embedded database, generates once, keeps it mode 0600, reuses it', () => {
    const first = resolveJwtSecret({ dataDir: path.join(dir, 'data') });
    expect(first.generated).toBe(true);
    expect(first.secret.length).toBeGreaterThanOrEqual(32);
    expect(first.path).toBe(path.join(dir, 'data', 'jwt-secret'));
    expect(fs.statSync(first.path!).mode & 0o777).toBe(0o600);
    expect(resolveJwtSecret({ dataDir: path.join(dir, 'data') })).toEqual(first);
  });

  it('signs tokens that the verifier accepts with their role, and not with another secret', async () => {
    const secret = 's'.repeat(40);
    const token = await signToken(secret, 'authenticated', '1h');
    await expect(createVerifier(secret)(`Bearer ${token}`)).resolves.toMatchObject({ role: 'authenticated' });
    await expect(createVerifier('t'.repeat(40))(`Bearer ${token}`)).rejects.toMatchObject({ statusCode: 401 });
    const expired = await signToken(secret, 'authenticated', -10);
    await expect(createVerifier(secret)(`Bearer ${expired}`)).rejects.toMatchObject({ statusCode: 401, message: 'token expired' });
  });
});

describe('configuration of timeouts, cache bound, tokens and logs', () => {
  it('defaults: 5 s database budget, at most 64 MiB of cache, one-year tokens, info logs', () => {
    const c = loadConfig({});
    expect(c.dbTimeoutMs).toBe(5000);
    expect(c.cacheMaxBytes).toBe(DEFAULT_CACHE_MAX_BYTES);
    expect(DEFAULT_CACHE_MAX_BYTES).toBeLessThanOrEqual(64 * 2 ** 20);
    expect(c.jwt).toEqual({ maxTtlSeconds: 31_557_600, issuer: undefined, audience: undefined });
    expect(c.logLevel).toBe('info');
  });

  it('reads the variables and refuses nonsense with a message naming the variable', () => {
    const c = loadConfig({ MONITOR_DB_TIMEOUT_MS: '1500', MONITOR_API_CACHE_MAX_BYTES: '0', MONITOR_JWT_MAX_TTL: '30d', MONITOR_JWT_ISSUER: 'i', MONITOR_JWT_AUDIENCE: 'a', LOG_LEVEL: 'WARN' });
    expect([c.dbTimeoutMs, c.cacheMaxBytes, c.jwt, c.logLevel]).toEqual([1500, 0, { maxTtlSeconds: 30 * 86_400, issuer: 'i', audience: 'a' }, 'warn']);
    expect(() => loadConfig({ MONITOR_DB_TIMEOUT_MS: 'Infinity' })).toThrow(/MONITOR_DB_TIMEOUT_MS/);
    expect(() => loadConfig({ MONITOR_DB_TIMEOUT_MS: '5' })).toThrow(/MONITOR_DB_TIMEOUT_MS/);
    expect(() => loadConfig({ MONITOR_API_CACHE_MAX_BYTES: '-1' })).toThrow(/MONITOR_API_CACHE_MAX_BYTES/);
    expect(() => loadConfig({ MONITOR_JWT_MAX_TTL: 'forever' })).toThrow(/MONITOR_JWT_MAX_TTL/);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
    expect([parseSpanSeconds('3600'), parseSpanSeconds('12h'), parseSpanSeconds('1y'), parseSpanSeconds('0'), parseSpanSeconds('1.5h')]).toEqual([3600, 43_200, 31_557_600, undefined, undefined]);
  });
});
