/**
 * Writes batches of COPY lines into integration_logs as a role RLS lets write (service_role).
 *
 * Two paths in one transaction:
 *  - fresh rows (first and only version of a call, never sent before): plain COPY into the table —
 *    the fastest way Postgres ingests. Postgres refuses COPY FROM into a table with row-level
 *    security for a role that does not bypass RLS (stock `service_role` here; Supabase's own
 *    service_role has BYPASSRLS), so on that error the writer switches for good to COPY into a
 *    temp table + plain INSERT … SELECT, which the RLS policies do allow;
 *  - everything else (pending/retrying rows and their updates, spool replays, batches whose commit
 *    we could not confirm): COPY into a session temp table, then INSERT … SELECT … ON CONFLICT
 *    (id, created_at) DO UPDATE … WHERE the stored version is older. That makes any replay land
 *    exactly once on the row id, and makes a late replay of an older version (pending) unable to
 *    overwrite a newer one (success) — rows of one call end in order whatever order they arrive in.
 * The recorder's SQL lives here because COPY needs a client of its own; it touches nothing but
 * integration_logs and a temp table.
 */
import type { Pool } from 'pg';
export type WriteErrorKind = 'transient' | 'duplicate' | 'data';
/** Classifies a failed write: retry later (transient), retry via merge (duplicate), or bad rows (data). */
export declare function classifyWriteError(err: unknown): WriteErrorKind;
export declare class PgWriter {
    private readonly pool;
    private readonly role;
    /** Whether plain COPY into integration_logs is allowed for our role (learned on first refusal). */
    directCopy: boolean;
    constructor(pool: Pool, role: string | null);
    /** One transaction: `fresh` lines by plain COPY, `merge` lines by the idempotent path. */
    write(fresh: string, merge: string): Promise<void>;
    private writeOnce;
}
