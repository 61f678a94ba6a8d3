/**
 * Where the JWT secret comes from, and minting tokens with it. A configured secret always wins; the
 * embedded database (a single-machine setup) may mint and keep its own; an external database must
 * be given one, because a secret generated on one API instance would not match the others'.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import type { Config } from './config';
import { isRole, Role } from './store/role-transaction';

const JWT_SECRET_FILE = 'jwt-secret';
/** HS256 with fewer than 32 bytes of key is guessable; Supabase's own secrets are longer. */
const MIN_SECRET_LENGTH = 32;

export class SecretConfigError extends Error {}

const jwtSecretPath = (config: Pick<Config, 'dataDir'>): string => path.join(config.dataDir, JWT_SECRET_FILE);

export interface ResolvedSecret {
  secret: string;
  /** true when the secret is this installation's own (kept in `path`), not MONITOR_JWT_SECRET. */
  generated: boolean;
  /** The file holding a generated secret. */
  path?: string;
}

/**
 * MONITOR_JWT_SECRET if set; otherwise, on the embedded database, the secret kept in
 * `<dataDir>/jwt-secret` (created, mode 0600, on first use); with DATABASE_URL and no secret, an error.
 */
export function resolveJwtSecret(config: Pick<Config, 'jwtSecret' | 'databaseUrl' | 'dataDir'>): ResolvedSecret {
  if (config.jwtSecret) {
    if (config.jwtSecret.length < MIN_SECRET_LENGTH) {
      throw new SecretConfigError(`MONITOR_JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters (got ${config.jwtSecret.length})`);
    }
    return { secret: config.jwtSecret, generated: false };
  }
  if (config.databaseUrl) {
    throw new SecretConfigError(
      'MONITOR_JWT_SECRET is not set. With DATABASE_URL the API cannot invent a secret: set MONITOR_JWT_SECRET to the ' +
        'JWT secret your tokens are signed with (on Supabase: Project Settings → API → JWT secret), e.g. `export MONITOR_JWT_SECRET=$(openssl rand -base64 48)`.',
    );
  }
  const file = jwtSecretPath(config);
  const kept = readKept(file);
  if (kept !== undefined) return { secret: kept, generated: true, path: file };
  fs.mkdirSync(config.dataDir, { recursive: true });
  const secret = crypto.randomBytes(48).toString('base64url');
  try {
    // 'wx': if another process created it a moment ago, keep theirs.
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return { secret, generated: true, path: file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { secret: readKept(file) ?? secret, generated: true, path: file };
    throw err;
  }
}

function readKept(file: string): string | undefined {
  let kept: string;
  try {
    kept = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (kept.length < MIN_SECRET_LENGTH) {
    throw new SecretConfigError(`${file} holds a secret shorter than ${MIN_SECRET_LENGTH} characters; delete it to generate a new one`);
  }
  return kept;
}

/**
 * A Supabase-style token for `role`. `ttl` is seconds (number) or a span like '2h', '30d', '1y';
 * default 365 days (a Grafana data source token is long-lived; rotate the secret to revoke). The
 * issuer is MONITOR_JWT_ISSUER's value when the API checks one (`claims.iss`), and `claims.aud`
 * likewise; other claims are added as given.
 */
export async function signToken(secret: string, role: Role, ttl: number | string = '365d', extra: Record<string, unknown> & { iss?: string; aud?: string } = {}): Promise<string> {
  if (!isRole(role)) throw new Error(`unknown role ${String(role)}`);
  const now = Math.floor(Date.now() / 1000);
  const exp = typeof ttl === 'number' ? now + Math.floor(ttl) : ttl;
  const { iss, aud, ...claims } = extra;
  const jwt = new SignJWT({ ...claims, role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(now)
    .setIssuer(iss ?? 'integration-monitor')
    .setSubject(`integration-monitor:${role}`)
    .setExpirationTime(exp);
  if (aud) jwt.setAudience(aud);
  return jwt.sign(new TextEncoder().encode(secret));
}
