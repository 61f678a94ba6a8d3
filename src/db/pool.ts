import { Pool } from 'pg';

/**
 * The API's pool: connecting gives up after `timeoutMs` (a frozen or unreachable server must not
 * queue requests forever), TCP keepalive notices a silently vanished server, and idle connections
 * are closed after 30 s so a restarted server is met with fresh ones.
 *
 * Every client carries an 'error' listener for its whole life, attached on the pool's 'connect'
 * (emitted for each new client before it is handed out). pg-pool listens only while a client is
 * idle and the per-request guard (src/store/db-session.ts) only once the borrower holds it; between
 * the two — a new connection whose ReadyForQuery and the server's FATAL 57P01 (shutdown) arrive in
 * one read, so the error is parsed before the borrower's promise resumes — nobody listened and the
 * process died on an unhandled 'error'. The error itself needs no handling here: the client is
 * marked unqueryable, its next query fails, and the pool discards it on release.
 */
export function createApiPool(connectionString: string, timeoutMs: number, max = 20): Pool {
  const pool = new Pool({
    connectionString,
    max,
    application_name: 'integration-monitor api',
    connectionTimeoutMillis: timeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  return guardClients(pool);
}

/** The lifelong 'error' listener on every client of `pool` (see createApiPool for why). */
export function guardClients(pool: Pool): Pool {
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}
