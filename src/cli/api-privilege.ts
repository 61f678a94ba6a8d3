/**
 * Said loudly at start-up when the API's own login is more than it should be (a superuser, a
 * BYPASSRLS role or an owner): the API would then read whatever a forgotten SET ROLE allows, and
 * nothing else would tell the operator. Same check as doctor's ✘ (checkLeastPrivilege).
 */
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { withClient } from '../store/db-session';
import { checkLeastPrivilege } from './doctor';

/** Checks the pool's login; on a ✘ writes a WARNING banner line and a warn log entry. Never throws. */
export async function warnIfPrivileged(pool: Pool, timeoutMs: number, app: FastifyInstance, log: (line: string) => void): Promise<boolean> {
  const found: Array<{ name: string; ok: boolean; detail?: string }> = [];
  try {
    await withClient(pool, timeoutMs, (c) => checkLeastPrivilege(c, (name, ok, detail) => found.push({ name, ok, detail })));
  } catch (err) {
    app.log.warn({ event: 'api_role_unchecked', err: { message: (err as Error).message } }, 'could not check the API login’s privileges');
    return false;
  }
  const bad = found.find((f) => !f.ok);
  if (!bad) return false;
  const line = `WARNING   the API connects as a privileged login — ${bad.name.replace(/ is least-privileged$/, '')}: ${bad.detail ?? ''}`;
  log(line);
  app.log.warn({ event: 'api_role_privileged' }, line);
  return true;
}
