import { Pool } from 'pg';

/**
 * The API's pool: connecting gives up after `timeoutMs` (a frozen or unreachable server must not
 * queue requests forever), TCP keepalive notices a silently vanished server, and idle connections
 * are closed after 30 s so a restarted server is met with fresh ones.
 */
export function createApiPool(connectionString: string, timeoutMs: number, max = 20): Pool {
  return new Pool({
    connectionString,
    max,
    application_name: 'integration-monitor api',
    connectionTimeoutMillis: timeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
}
