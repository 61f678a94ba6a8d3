"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.PgWriter = void 0;
exports.classifyWriteError = classifyWriteError;
const pg_copy_streams_1 = require("pg-copy-streams");
const copy_format_1 = require("./copy-format");
const COLS = copy_format_1.COLUMNS.join(', ');
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
    ${copy_format_1.COLUMNS.filter((c) => c !== 'id' && c !== 'created_at').map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
  WHERE integration_logs.updated_at < EXCLUDED.updated_at`;
/** Classifies a failed write: retry later (transient), retry via merge (duplicate), or bad rows (data). */
function classifyWriteError(err) {
    const code = err.code;
    if (isRlsCopyRefusal(err))
        return 'transient';
    if (code === '23505')
        return 'duplicate';
    // Class 22 (data exception) and 23 (integrity, e.g. a CHECK) are about the rows, not the server.
    if (typeof code === 'string' && /^2[23]/.test(code))
        return 'data';
    return 'transient';
}
/** "COPY FROM not supported with row-level security" (SQLSTATE 0A000). */
function isRlsCopyRefusal(err) {
    return err.code === '0A000' && /row-level security/i.test(String(err.message));
}
class PgWriter {
    pool;
    role;
    /** Whether plain COPY into integration_logs is allowed for our role (learned on first refusal). */
    directCopy = true;
    constructor(pool, role) {
        this.pool = pool;
        this.role = role;
    }
    /** One transaction: `fresh` lines by plain COPY, `merge` lines by the idempotent path. */
    async write(fresh, merge) {
        try {
            await this.writeOnce(fresh, merge);
        }
        catch (err) {
            if (!this.directCopy || !isRlsCopyRefusal(err))
                throw err;
            this.directCopy = false;
            await this.writeOnce(fresh, merge);
        }
    }
    async writeOnce(fresh, merge) {
        const client = await this.pool.connect();
        // A server that goes away mid-COPY makes the client emit 'error'; without a listener that
        // would crash the host process.
        const onError = () => undefined;
        client.on('error', onError);
        let broken;
        try {
            await client.query(this.role ? `BEGIN; SET LOCAL ROLE ${quoteIdent(this.role)}` : 'BEGIN');
            try {
                if (merge.length > 0 || (fresh.length > 0 && !this.directCopy))
                    await client.query(CREATE_STAGE);
                if (fresh.length > 0 && this.directCopy)
                    await copyInto(client, `COPY integration_logs (${COLS}) FROM STDIN`, fresh);
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
            }
            catch (err) {
                await client.query('ROLLBACK').catch((e) => (broken = e));
                throw err;
            }
        }
        catch (err) {
            if (classifyWriteError(err) === 'transient')
                broken ??= err;
            throw err;
        }
        finally {
            client.removeListener('error', onError);
            // A connection that failed mid-transaction is discarded rather than reused.
            client.release(broken);
        }
    }
}
exports.PgWriter = PgWriter;
function copyInto(client, sql, data) {
    return new Promise((resolve, reject) => {
        const stream = client.query((0, pg_copy_streams_1.from)(sql));
        let settled = false;
        const done = (err) => {
            if (settled)
                return;
            settled = true;
            if (err)
                reject(err);
            else
                resolve();
        };
        stream.on('error', done);
        stream.on('finish', () => done());
        stream.end(data);
    });
}
function quoteIdent(s) {
    return `"${s.replace(/"/g, '""')}"`;
}
//# sourceMappingURL=writer.js.map