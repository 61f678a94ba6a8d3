/**
 * Adopting a database that already ran the seed's MIGRATION 004 (README.md "Already ran MIGRATION
 * 004?"): its plain `integration_logs`, seven indexes, two views, two policies and void cleanup
 * function become ours under the same names, every row kept, while its writers carry on.
 *
 * Chosen by measurement (docs/production.md): copying through the rollup triggers runs at ~15k
 * rows/s on 2 cores, so copying a million rows under a lock would stop writers for about a minute.
 * Instead, in one short transaction: lock the seed's table, rename it aside
 * (integration_logs_seed004) with its indexes, drop its views and cleanup function, apply every
 * migration (ours is created under the name), and copy the rows writers may still touch
 * (integration_adopt_seed_begin). Writers wait on the lock for that second or so and then, their
 * statements re-resolving the name, write to ours. The rest of the history is copied afterwards in
 * committed batches (integration_adopt_seed_copy), resumable from the position each records; the old
 * table is kept until the operator drops it.
 */
import type { ClientBase } from 'pg';

/** Where the seed's table goes: kept until the operator drops it. */
export const SEED_ASIDE = 'integration_logs_seed004';
/** Rows created this recently are copied in the swap itself… */
export const DEFAULT_RECENT = '10 minutes';
/** …and pending/retrying ones this recent (older ones are abandoned calls: they come with the history). */
export const DEFAULT_PENDING = '1 day';
/** Rows per committed batch of the history copy (~0.3 s each on 2 cores). */
export const DEFAULT_BATCH_ROWS = 5_000;

/** The seed's columns: name, type as format_type prints it, NOT NULL. */
const SEED_COLUMNS: Array<[string, string, boolean]> = [
  ['id', 'uuid', true],
  ['service_name', 'text', true],
  ['action', 'text', true],
  ['status', 'text', true],
  ['related_entity_type', 'text', false],
  ['related_entity_id', 'uuid', false],
  ['request_payload', 'jsonb', false],
  ['response_payload', 'jsonb', false],
  ['error_message', 'text', false],
  ['error_code', 'text', false],
  ['duration_ms', 'integer', false],
  ['retry_count', 'integer', false],
  ['created_at', 'timestamp with time zone', false],
  ['updated_at', 'timestamp with time zone', false],
];
const SEED_STATUSES = ['success', 'failed', 'pending', 'retrying'];
/** The seed's indexes, renamed with the table (index names share the schema's namespace with ours). */
const SEED_INDEXES = [
  'integration_logs_pkey',
  'idx_integration_logs_service_name',
  'idx_integration_logs_status',
  'idx_integration_logs_created_at',
  'idx_integration_logs_service_status',
  'idx_integration_logs_entity',
  'idx_integration_logs_failed',
];

export type Found = { kind: 'none' } | { kind: 'ours' } | { kind: 'seed' } | { kind: 'other'; differences: string[] };

/** What `integration_logs` is in the current schema: nothing, ours (partitioned), the seed's, or something else (and how it differs). */
export async function inspectIntegrationLogs(c: ClientBase): Promise<Found> {
  const rel = await c.query<{ relkind: string }>(`SELECT relkind FROM pg_class WHERE oid = to_regclass('integration_logs')`);
  if (rel.rows.length === 0) return { kind: 'none' };
  const kind = rel.rows[0].relkind;
  if (kind === 'p') return { kind: 'ours' };
  if (kind !== 'r') return { kind: 'other', differences: [`it is not a table (relkind ${kind})`] };
  const differences: string[] = [];
  const { rows: cols } = await c.query<{ name: string; type: string; notnull: boolean }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attnotnull AS notnull FROM pg_attribute
     WHERE attrelid = 'integration_logs'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
  );
  const have = new Map(cols.map((r) => [r.name, r]));
  for (const [name, type, notnull] of SEED_COLUMNS) {
    const col = have.get(name);
    if (!col) differences.push(`column ${name} missing`);
    else if (col.type !== type) differences.push(`column ${name} is ${col.type}, the seed's is ${type}`);
    else if (col.notnull !== notnull) differences.push(`column ${name} is ${col.notnull ? 'NOT NULL' : 'nullable'}, the seed's is ${notnull ? 'NOT NULL' : 'nullable'}`);
  }
  for (const col of cols) if (!SEED_COLUMNS.some(([n]) => n === col.name)) differences.push(`extra column ${col.name}`);
  const { rows: cons } = await c.query<{ contype: string; cols: string[]; def: string }>(
    `SELECT k.contype, array(SELECT a.attname::text FROM unnest(k.conkey) u(n) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY 1) AS cols,
            pg_get_constraintdef(k.oid) AS def
     FROM pg_constraint k WHERE k.conrelid = 'integration_logs'::regclass AND k.contype IN ('p', 'c')`,
  );
  const pk = cons.find((k) => k.contype === 'p');
  if (!pk) differences.push('no primary key (the seed has one on id)');
  else if (pk.cols.join(',') !== 'id') differences.push(`primary key on (${pk.cols.join(', ')}), the seed's is on (id)`);
  const statusCheck = cons.find((k) => k.contype === 'c' && k.cols.join(',') === 'status' && SEED_STATUSES.every((s) => k.def.includes(`'${s}'`)));
  if (!statusCheck) differences.push(`no CHECK on status allowing ${SEED_STATUSES.join(', ')}`);
  return differences.length ? { kind: 'other', differences } : { kind: 'seed' };
}

/** The one line `migrate` fails with when `integration_logs` is something else. */
export function refusal(differences: string[]): string {
  return (
    `integration_logs exists but is not the seed's MIGRATION 004 table (${differences.join('; ')}); nothing was changed. ` +
    `Rename it (ALTER TABLE integration_logs RENAME TO …) or make it match the seed's, then run migrate again`
  );
}

/** The bookkeeping row of integration_monitor_adoption (016). */
export interface Adoption {
  source: string;
  swappedAt: Date;
  recentFrom: Date;
  copiedInSwap: number;
  nullCreatedAt: number;
  nullCreatedAndUpdatedAt: number;
  copied: number;
  sourceRows: number | null;
  finishedAt: Date | null;
}

function toAdoption(r: Record<string, unknown>): Adoption {
  return {
    source: r.source as string,
    swappedAt: r.swapped_at as Date,
    recentFrom: r.recent_from as Date,
    copiedInSwap: Number(r.copied_in_swap),
    nullCreatedAt: Number(r.null_created_at),
    nullCreatedAndUpdatedAt: Number(r.null_created_and_updated_at),
    copied: Number(r.copied),
    sourceRows: r.source_rows === null ? null : Number(r.source_rows),
    finishedAt: (r.finished_at as Date | null) ?? null,
  };
}

/** The latest adoption (unfinished first), or undefined when this database adopted nothing. */
export async function adoptionState(c: ClientBase): Promise<Adoption | undefined> {
  const t = await c.query(`SELECT to_regclass('integration_monitor_adoption') IS NOT NULL AS present`);
  if (!t.rows[0].present) return undefined;
  const { rows } = await c.query(`SELECT * FROM integration_monitor_adoption ORDER BY finished_at DESC NULLS FIRST LIMIT 1`);
  return rows[0] ? toAdoption(rows[0]) : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SwapOptions {
  /** Rows created this recently are copied in the swap (a Postgres interval). */
  recent?: string;
  /** Pending/retrying rows created this recently are copied in the swap (a Postgres interval). */
  pending?: string;
  /** How long one attempt waits for the seed's table lock before letting writers through and retrying. */
  lockTimeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * The swap, in one transaction on `c` (which holds migrate's advisory lock): lock the seed's table
 * (waiting at most lockTimeoutMs per attempt, so a long transaction elsewhere never queues writers
 * behind us for long), rename it and its indexes aside, drop its views and void cleanup function,
 * `applyMigrations` (all of them, in this transaction), copy the rows writers may still touch.
 * Fails whole: the seed's database is then exactly as it was. Returns the bookkeeping row and how
 * long the seed's table was locked (the writers' pause).
 */
export async function swapSeedTable(c: ClientBase, applyMigrations: () => Promise<void>, opts: SwapOptions = {}): Promise<{ adoption: Adoption; lockedMs: number }> {
  const log = opts.log ?? (() => undefined);
  let lockedAt = 0;
  for (let attempt = 1; ; attempt++) {
    await c.query('BEGIN');
    try {
      await c.query(`SELECT set_config('lock_timeout', $1, true)`, [`${opts.lockTimeoutMs ?? 2000}ms`]);
      await c.query('LOCK TABLE integration_logs IN ACCESS EXCLUSIVE MODE');
      lockedAt = Date.now();
      break;
    } catch (err) {
      await c.query('ROLLBACK');
      if ((err as { code?: string }).code !== '55P03') throw err;
      if (attempt >= 30) {
        throw new Error(`another transaction held integration_logs through ${attempt} attempts to adopt it; nothing was changed. End it (see pg_stat_activity) and run migrate again`);
      }
      log(`adopt: integration_logs is busy (a long transaction holds it), trying again (${attempt})`);
      await sleep(500);
    }
  }
  try {
    await c.query(`SELECT set_config('lock_timeout', '0', true)`);
    const found = await inspectIntegrationLogs(c);
    if (found.kind !== 'seed') throw new Error(found.kind === 'other' ? refusal(found.differences) : 'integration_logs changed while adoption waited for it');
    await c.query(`ALTER TABLE integration_logs RENAME TO ${SEED_ASIDE}`);
    const { rows: idx } = await c.query<{ name: string }>(`SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass AND c.relname = ANY($2)`, [
      SEED_ASIDE,
      SEED_INDEXES,
    ]);
    for (const { name } of idx) await c.query(`ALTER INDEX "${name}" RENAME TO "${name.replace('integration_logs', SEED_ASIDE)}"`);
    // Kept for the operator to compare and drop; not for the app's users (PostgREST would serve it).
    const { rows: roles } = await c.query<{ r: string }>(`SELECT rolname AS r FROM pg_roles WHERE rolname IN ('anon', 'authenticated')`);
    if (roles.length) await c.query(`REVOKE ALL ON ${SEED_ASIDE} FROM ${roles.map((r) => r.r).join(', ')}`);
    // The seed's views (they follow the renamed table) and its cleanup function: ours replace them.
    await c.query(`DROP VIEW IF EXISTS integration_stats_hourly, integration_stats_daily`);
    await c.query(`DROP FUNCTION IF EXISTS cleanup_old_integration_logs()`);
    // Objects of the user's own that follow the renamed table (views over it, triggers on it) are
    // not ours to move: say which, so they can be recreated on the new table.
    const { rows: left } = await c.query<{ what: string }>(
      `SELECT DISTINCT 'view ' || v.oid::regclass::text AS what FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
        WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = $1::regclass AND v.oid <> $1::regclass
          AND v.relname NOT IN ('integration_stats_hourly', 'integration_stats_daily')
       UNION ALL
       SELECT 'trigger ' || t.tgname FROM pg_trigger t WHERE t.tgrelid = $1::regclass AND NOT t.tgisinternal
       ORDER BY 1`,
      [SEED_ASIDE],
    );
    if (left.length) log(`adopt: WARNING: ${left.map((r) => r.what).join(', ')} stay on ${SEED_ASIDE}; create them again on integration_logs`);
    await applyMigrations();
    const { rows } = await c.query(`SELECT * FROM integration_adopt_seed_begin($1, $2::interval, $3::interval)`, [SEED_ASIDE, opts.recent ?? DEFAULT_RECENT, opts.pending ?? DEFAULT_PENDING]);
    // PostgREST (Supabase's event trigger does this too) re-reads the changed table.
    await c.query(`NOTIFY pgrst, 'reload schema'`);
    await c.query('COMMIT');
    const lockedMs = Date.now() - lockedAt;
    const adoption = toAdoption(rows[0]);
    log(`adopt: MIGRATION 004's integration_logs renamed to ${SEED_ASIDE}, ours created in its place; ` + `${adoption.copiedInSwap} rows copied in the swap (writers waited ${lockedMs} ms)`);
    return { adoption, lockedMs };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw new Error(`adopting MIGRATION 004's integration_logs failed and was rolled back, nothing changed: ${(err as Error).message}`);
  }
}

/**
 * Copies the history the swap left, batch by committed batch, then finishes (checks the count,
 * records the end). Does nothing when no adoption is in progress. Resumes where an interrupted run
 * stopped. Returns the finished bookkeeping row, or undefined.
 */
export async function continueAdoption(c: ClientBase, opts: { batchRows?: number; log?: (line: string) => void } = {}): Promise<Adoption | undefined> {
  const log = opts.log ?? (() => undefined);
  const state = await adoptionState(c);
  if (!state || state.finishedAt) return undefined;
  const started = Date.now();
  let lastLog = started;
  let copied = state.copied;
  // A batch and a writer's update may deadlock in the rollup triggers: let the batch be the one
  // Postgres aborts (it checks for deadlocks first, the writer keeps going) and run it again. Only a
  // superuser may lower deadlock_timeout; elsewhere either side may be chosen, and the batch retries.
  const lowered = await c.query(`SET deadlock_timeout = '50ms'`).then(
    () => true,
    () => false,
  );
  let retries = 0;
  for (;;) {
    let n: number;
    try {
      const { rows } = await c.query<{ n: string }>(`SELECT integration_adopt_seed_copy($1) AS n`, [opts.batchRows ?? DEFAULT_BATCH_ROWS]);
      n = Number(rows[0].n);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if ((code !== '40P01' && code !== '40001') || ++retries > 100) throw err;
      await sleep(20 + Math.random() * 100);
      continue;
    }
    if (n === 0) break;
    copied += n;
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      log(`adopt: ${copied} rows copied from ${state.source}`);
    }
  }
  if (lowered) await c.query(`RESET deadlock_timeout`);
  const { rows } = await c.query(`SELECT * FROM integration_adopt_seed_finish()`);
  const done = toAdoption(rows[0]);
  const nulls = done.nullCreatedAt
    ? `; ${done.nullCreatedAt} rows had no created_at: given their updated_at` +
      (done.nullCreatedAndUpdatedAt ? ` (${done.nullCreatedAndUpdatedAt} without one either: the swap's time, ${done.swappedAt.toISOString()})` : '')
    : '';
  log(
    `adopt: done, ${done.copied} of ${done.sourceRows} rows of MIGRATION 004's table copied (history in ${Date.now() - started} ms)${nulls}. ` +
      `The old table stays as ${done.source}: DROP TABLE ${done.source}; once satisfied`,
  );
  return done;
}
