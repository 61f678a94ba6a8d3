/**
 * The least-privileged login the API connects as: not a superuser, owns nothing, NOINHERIT (so by
 * itself it can read nothing) and a member of exactly the roles a token may name, so each request's
 * `SET LOCAL ROLE` is the only way it reads anything and RLS always applies. `start` makes it on the
 * embedded database; on any other database the operator runs the same statements (docs/production.md).
 */
import { Client } from 'pg';
import { ROLES } from '../store/role-transaction';

export const DEFAULT_API_ROLE = 'integration_monitor_api';
export const API_PASSWORD_FILE = 'postgres-api-password';

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
const PASSWORD = /^[A-Za-z0-9_-]{16,}$/;

/** The statements, for a role name and password already checked against IDENT/PASSWORD. */
export function apiRoleSql(role: string, password: string): string[] {
  if (!IDENT.test(role)) throw new Error(`API role name must match ${IDENT}, got ${JSON.stringify(role)}`);
  if (!PASSWORD.test(password)) throw new Error('API role password must be 16+ characters of [A-Za-z0-9_-]');
  return [
    `DO $$ BEGIN
       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN
         CREATE ROLE ${role} LOGIN NOINHERIT;
       END IF;
     END $$`,
    `ALTER ROLE ${role} LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION PASSWORD '${password}'`,
    `GRANT ${ROLES.join(', ')} TO ${role}`,
  ];
}

/** Creates (or brings back in line) the API role with `password`, connected as a superuser at `adminUrl`. */
export async function ensureApiRole(adminUrl: string, password: string, role = DEFAULT_API_ROLE): Promise<void> {
  const c = new Client({ connectionString: adminUrl, application_name: 'integration-monitor setup', connectionTimeoutMillis: 10_000 });
  c.on('error', () => undefined); // a connection lost mid-setup surfaces as the failed query below
  await c.connect();
  try {
    for (const sql of apiRoleSql(role, password)) await c.query(sql);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** `url` with another user and password (same server and database). */
export function urlWithLogin(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}
