/**
 * Writes batches of COPY lines into integration_logs as a role RLS lets write (service_role).
 *
 * Two paths in one transaction:
 *  - fresh rows (first and only version of a call, never sent before): plain COPY into the table —
 *    the fastest way Postgres ingests. Postgres refuses COPY FROM into a table with row-level
 *    security for a role that does not bypass RLS (Supabase's service_role, and the one our
 *    migrations create when they may, have BYPASSRLS; one created otherwise does not), so on
 *    that error the writer switches for good to COPY into a temp table + plain INSERT … SELECT,
 *    which the RLS policies do allow;
 *  - everything else (pending/retrying rows and their updates, spool replays, batches whose commit
 *    we could not confirm): COPY into a session temp table, then INSERT … SELECT … ON CONFLICT
 *    (id, created_at) DO UPDATE … WHERE the stored version is older. That makes any replay land
 *    exactly once on the row id, and makes a late replay of an older version (pending) unable to
 *    overwrite a newer one (success) — rows of one call end in order whatever order they arrive in.
 * Short-lived handlers (`closeAfterWrite`) end the connection after each transaction, before the
 * write resolves: a Lambda or edge instance frozen right after its flush holds no connection.
 * Nothing is kept in the session between transactions (the role is SET LOCAL, temp tables are
 * created IF NOT EXISTS in every transaction and emptied ON COMMIT, statements are unnamed simple
 * queries), so a transaction-mode pooler (Supavisor on 6543, PgBouncer) may hand each transaction
 * to another server connection.
 * Every write is bounded by `timeoutMs`: a frozen server or a half-open connection would otherwise
 * hang the COPY forever. On timeout the connection is destroyed (never returned to the pool) and
 * the write fails with code INTMON_WRITE_TIMEOUT, which the recorder treats as "database down".
 * The recorder's SQL lives here because COPY needs a client of its own; it touches nothing but
 * integration_logs and a temp table.
 */
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { COLUMNS } from './copy-format';
import { classifyWriteError, WRITE_TIMEOUT_CODE } from './write-errors';

const COLS = COLUMNS.join(', ');
const STAGE = 'intmon_recorder_stage';

const CREATE_STAGE = `CREATE TEMP TABLE IF NOT EXISTS ${STAGE} (
  id uuid NOT NULL, service_name text NOT NULL, action text NOT NULL, status text NOT NULL,
  related_entity_type text, related_entity_id uuid, request_payload jsonb, response_payload jsonb,
  error_message text, error_code text, duration_ms integer, retry_count integer NOT NULL,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL) ON COMMIT DELETE ROWS`;

const CREATE_FRESH = `CREATE TEMP TABLE IF NOT EXISTS intmon_recorder_fresh (LIKE ${STAGE}) ON COMMIT DELETE ROWS`;
const INSERT_FRESH = `INSERT INTO integration_logs (${COLS}) SELECT ${COLS} FROM intmon_recorder_fresh`;

const MERGE = `INSERT INTO integration_logs (${COLS})
  SELECT DISTINCT ON (id, created_at) ${COLS} FROM ${STAGE} ORDER BY id, created_at, updated_at DESC
  ON CONFLICT (id, created_at) DO UPDATE SET
    ${COLUMNS.filter((c) => c !== 'id' && c !== 'created_at')
      .map((c) => `${c} = EXCLUDED.${c}`)
      .join(', ')}
  WHERE integration_logs.updated_at < EXCLUDED.updated_at`;

/** "COPY FROM not supported with row-level security" (SQLSTATE 0A000). */
function isRlsCopyRefusal(err: unknown): boolean {
  return (err as { code?: unknown }).code === '0A000' && /row-level security/i.test(String((err as Error).message));
}

export class PgWriter {
  /** Whether plain COPY into integration_logs is allowed for our role (learned on first refusal). */
  directCopy = true;

  constructor(
    private readonly pool: Pool,
    private readonly role: string | null,
    private readonly timeoutMs: number,
    private readonly closeAfterWrite = false,
  ) {}

  /** One transaction: `fresh` lines by plain COPY, `merge` lines by the idempotent path. */
  async write(fresh: string, merge: string): Promise<void> {
    try {
      await this.bounded(fresh, merge);
    } catch (err) {
      if (!this.directCopy || !isRlsCopyRefusal(err)) throw err;
      this.directCopy = false;
      await this.bounded(fresh, merge);
    }
  }

  /** The transaction, failed after `timeoutMs` whatever the server or the network does. */
  private bounded(fresh: string, merge: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let client: PoolClient | undefined;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(Object.assign(new Error(`write timed out after ${this.timeoutMs} ms`), { code: WRITE_TIMEOUT_CODE }));
        if (client) destroyConnection(client);
      }, this.timeoutMs);
      this.transaction(fresh, merge, (c) => {
        client = c;
        if (timedOut) destroyConnection(c); // connected only after the deadline
      }).then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  private async transaction(fresh: string, merge: string, connected: (c: PoolClient) => void): Promise<void> {
    const client = await this.pool.connect();
    connected(client);
    // A server that goes away mid-COPY makes the client emit 'error'; without a listener that
    // would crash the host process.
    const onError = () => undefined;
    client.on('error', onError);
    let broken: Error | undefined;
    try {
      await client.query(this.role ? `BEGIN; SET LOCAL ROLE ${quoteIdent(this.role)}` : 'BEGIN');
      try {
        if (merge.length > 0 || (fresh.length > 0 && !this.directCopy)) await client.query(CREATE_STAGE);
        if (fresh.length > 0 && this.directCopy) await copyInto(client, `COPY integration_logs (${COLS}) FROM STDIN`, fresh);
        else if (fresh.length > 0) {
          await client.query(CREATE_FRESH);
          await copyInto(client, `COPY intmon_recorder_fresh (${COLS}) FROM STDIN`, fresh);
          await client.query(INSERT_FRESH);
        }
        if (merge.length > 0) {
          await copyInto(client, `COPY ${STAGE} (${COLS}) FROM STDIN`, merge);
          await client.query(MERGE);
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        throw err;
      }
    } catch (err) {
      if (classifyWriteError(err) === 'down') broken ??= err as Error;
      throw err;
    } finally {
      client.removeListener('error', onError);
      // A connection that failed mid-transaction is discarded rather than reused.
      if (this.closeAfterWrite && !broken) await closeConnection(client);
      else client.release(broken);
    }
  }
}

/**
 * Ends the connection under a write that timed out: its pending query fails at once, and the
 * client, released with an error, is dropped by the pool instead of being handed out again.
 */
function destroyConnection(client: PoolClient): void {
  const stream = (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream;
  stream?.destroy?.();
}

/** Releases the client for good and waits (at most 1 s) until its connection has ended. */
function closeConnection(client: PoolClient): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      destroyConnection(client);
      resolve();
    }, 1000);
    client.once('end', () => {
      clearTimeout(t);
      resolve();
    });
    client.release(true);
  });
}

function copyInto(client: PoolClient, sql: string, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = client.query(copyFrom(sql));
    let settled = false;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve();
    };
    stream.on('error', done);
    stream.on('finish', () => done());
    stream.end(data);
  });
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
