import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { Adoption, continueAdoption, inspectIntegrationLogs, refusal, swapSeedTable } from './adopt-seed';

/** Arbitrary but fixed: every migrating process contends for this one advisory lock. */
const LOCK_KEY = 7_414_202_604;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  /** Numbered migrations applied by this run. */
  applied: string[];
  /** Numbered migrations applied before. */
  skipped: string[];
  /** Repeatable files (re-)applied by this run, named `repeatable/<file>`. */
  reapplied: string[];
  /** When this run adopted (or went on adopting) a database that ran the seed's MIGRATION 004. */
  adoption?: { swapped: boolean; lockedMs?: number; finished?: Adoption };
}

export interface MigrateOptions {
  dir?: string;
  log?: (line: string) => void;
  /** Adoption of a MIGRATION 004 table (src/db/adopt-seed.ts): the swap's recent window, rows per batch. */
  adoption?: { recent?: string; batchRows?: number; lockTimeoutMs?: number };
}

/** A repeatable file whose first line says this is applied after the others, and whenever any of them is. */
const REAPPLY_LAST = /^-- reapply: after any other file\n/;

/**
 * A numbered migration whose first line says the repeatable files are applied in its own transaction
 * (after it): one that changes a table so that today's functions over it fail until they are
 * re-created (017's histogram shape), so that no writer or reader runs the old functions against
 * the new table. Only when it is the last pending migration: a repeatable file may depend on a
 * later one, and the run re-applies them all after the last anyway.
 */
const WITH_REPEATABLES = /^-- with: the repeatable files\n/;

/** Where the repeatable files live, and the prefix their bookkeeping rows carry. */
const REPEATABLE_DIR = 'repeatable';

/** The numbered, run-once migrations (NNN_name.sql), in name order. */
export function readMigrations(dir = resolveMigrationsDir()): Migration[] {
  return readSqlFiles(dir, /^\d{3,}_.+\.sql$/, '');
}

/**
 * The repeatable files (repeatable/NN_name.sql), in name order: the current definition of every
 * function, view and policy, re-applied whenever their text changes. Named `repeatable/<file>`.
 */
export function readRepeatables(dir = resolveMigrationsDir()): Migration[] {
  const sub = path.join(dir, REPEATABLE_DIR);
  return fs.existsSync(sub) ? readSqlFiles(sub, /^\d{2,}_.+\.sql$/, `${REPEATABLE_DIR}/`) : [];
}

function readSqlFiles(dir: string, pattern: RegExp, prefix: string): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort()
    .map((file) => {
      const sql = fs.readFileSync(path.join(dir, file), 'utf8');
      return { name: prefix + file, sql, checksum: crypto.createHash('sha256').update(sql).digest('hex') };
    });
}

/** src/db → repo root when run from source (jest), lib/src/db → repo root when built. */
export function resolveMigrationsDir(): string {
  const candidates = ['../..', '../../..'].map((up) => path.resolve(__dirname, up, 'migrations'));
  const dir = candidates.find((d) => fs.existsSync(d));
  if (!dir) throw new Error(`migrations folder not found (looked in ${candidates.join(', ')})`);
  return dir;
}

/**
 * Applies pending migrations in name order, each in its own transaction, under a session advisory
 * lock so that two processes starting at once apply each file exactly once. A file already applied
 * but changed since is an error: migrations are append-only.
 * Then the repeatable files, in name order, each in its own transaction under the same lock: those
 * whose checksum differs from the one recorded (or that were never applied), and all of them when
 * this run applied a numbered migration, since a run-once change (say, a dropped column and the
 * view over it) may have removed what a repeatable file defines. A file starting
 * `-- reapply: after any other file` runs last, and whenever any other file ran. A numbered file
 * starting `-- with: the repeatable files` gets them all in its own transaction too, when it is the
 * last pending one (WITH_REPEATABLES).
 * A database that ran the seed's MIGRATION 004 (a plain integration_logs of the seed's shape) is
 * adopted (src/db/adopt-seed.ts): every file is applied inside the one transaction that renames the
 * seed's table aside, and its history is then copied in batches, here or by the next run if this one
 * is interrupted. Any other table called integration_logs is refused before anything is created.
 */
export async function migrate(databaseUrl: string, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = readMigrations(opts.dir);
  const repeatables = readRepeatables(opts.dir);
  const client = new Client({ connectionString: databaseUrl, application_name: 'integration-monitor migrate', connectionTimeoutMillis: 30_000 });
  // A connection lost mid-run surfaces as the failing query; unheard, it would end the process.
  client.on('error', () => undefined);
  await client.connect();
  const result: MigrateResult = { applied: [], skipped: [], reapplied: [] };
  // Every pending file; in the caller's transaction when `inTransaction` (the adoption's swap).
  const applyAll = async (inTransaction: boolean) => {
    await client.query(`CREATE TABLE IF NOT EXISTS integration_monitor_migrations (
      name text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM integration_monitor_migrations');
    // Files marked REAPPLY_LAST (privileges over every function) run after all others, and again
    // whenever any other file ran: a function re-created there lost the privileges they set. Their
    // text also ends every other file's transaction, so no function is ever committed callable.
    const last = repeatables.filter((r) => REAPPLY_LAST.test(r.sql));
    const done = new Map(rows.map((r) => [r.name, r.checksum]));
    // A migration's own NOTICE/WARNING (e.g. "service_role created without BYPASSRLS") is for the
    // operator; attached only now so the bookkeeping's "already exists, skipping" stays quiet.
    client.on('notice', (n) => opts.log?.(`${n.severity ?? 'NOTICE'}: ${n.message}`));
    const pending = migrations.filter((m) => !done.has(m.name));
    for (const m of migrations) {
      const prior = done.get(m.name);
      if (prior !== undefined) {
        if (prior !== m.checksum) throw new Error(`migration ${m.name} was changed after it was applied (checksum differs)`);
        result.skipped.push(m.name);
        continue;
      }
      const withRepeatables = WITH_REPEATABLES.test(m.sql) && m === pending[pending.length - 1];
      const after = withRepeatables ? [...repeatables.filter((x) => !last.includes(x)), ...last] : last;
      await applyInTransaction(client, m, 'migration', after, inTransaction);
      result.applied.push(m.name);
      opts.log?.(`applied ${m.name}`);
    }
    for (const r of [...repeatables.filter((x) => !last.includes(x)), ...last]) {
      const changedAny = result.applied.length > 0 || (last.includes(r) && result.reapplied.length > 0);
      if (!changedAny && done.get(r.name) === r.checksum) continue;
      await applyInTransaction(client, r, 'repeatable', last.includes(r) ? [] : last, inTransaction);
      result.reapplied.push(r.name);
      opts.log?.(`applied ${r.name}`);
    }
  };
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    // Before anything is created: a table of that name that is neither ours nor the seed's is refused as it is.
    const found = await inspectIntegrationLogs(client);
    if (found.kind === 'other') throw new Error(refusal(found.differences));
    if (found.kind === 'seed') {
      const swap = await swapSeedTable(client, () => applyAll(true), { ...opts.adoption, log: opts.log });
      result.adoption = { swapped: true, lockedMs: swap.lockedMs };
    } else {
      await applyAll(false);
    }
    const finished = await continueAdoption(client, { batchRows: opts.adoption?.batchRows, log: opts.log });
    if (finished) result.adoption = { swapped: false, ...result.adoption, finished };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
  return result;
}

/**
 * One file (then `after`'s statements) and its bookkeeping row, committed together or not at all
 * (inside the caller's transaction when `inTransaction`).
 */
async function applyInTransaction(client: Client, m: Migration, kind: 'migration' | 'repeatable', after: Migration[], inTransaction = false): Promise<void> {
  if (!inTransaction) await client.query('BEGIN');
  try {
    await client.query(m.sql);
    for (const a of after) await client.query(a.sql);
    await client.query(
      `INSERT INTO integration_monitor_migrations (name, checksum) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()`,
      [m.name, m.checksum],
    );
    if (!inTransaction) await client.query('COMMIT');
  } catch (err) {
    if (!inTransaction) await client.query('ROLLBACK');
    throw new Error(`${kind} ${m.name} failed and was rolled back: ${(err as Error).message}`);
  }
}
