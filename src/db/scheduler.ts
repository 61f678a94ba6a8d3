import { Cron } from 'croner';
import type { Pool } from 'pg';

export interface SchedulerOptions {
  /** Raw-row retention, a Postgres interval, e.g. '90 days'. Also caps the minute rollups, which keep 8 days at most (015). */
  rawRetention: string;
  /** Hour/day rollup retention, e.g. '400 days'. */
  rollupRetention: string;
  /** Every run's outcome: 'info' when it ran, 'error' when it failed. */
  log: (line: string, level?: 'info' | 'error') => void;
}

export interface Scheduler {
  mode: 'pg_cron' | 'in-process';
  stop(): Promise<void>;
}

export const CRON_JOB_NAME = 'integration-monitor-maintenance';
/**
 * 00:05 UTC daily, just after the UTC day turns: expired weeks leave by partition drop; in the one
 * weekly partition straddling the raw cutoff, a day's expired rows are DELETEd (see 001's header).
 */
export const CRON_SCHEDULE = '5 0 * * *';

/**
 * The closed weeks' index compaction under pg_cron: a job of its own, hourly, one week per run.
 * pg_cron runs a job's command as one transaction, and a rebuilt week's indexes stay locked (readers
 * planning over every partition wait) until it ends: one week an hour keeps that wait to a single
 * week's rebuild, and the weeks closed before an upgrade are all packed within a day.
 */
export const CRON_COMPACTION_JOB_NAME = 'integration-monitor-compaction';
export const CRON_COMPACTION_SCHEDULE = '35 * * * *';

/** The maintenance transaction: partitions ahead, raw retention, rollup retention. */
function maintenanceSql(): string {
  return `SELECT
    (SELECT count(*) FROM ensure_integration_log_partitions(7, 0)) AS partitions_created,
    cleanup_old_integration_logs($1::interval) AS raw_rows_removed,
    cleanup_integration_rollups($2::interval, $1::interval) AS rollup_rows_removed`;
}

/**
 * Closed weeks' B-tree indexes packed full (repeatable/15_compaction.sql), after retention so that
 * no week about to be dropped is rebuilt: one partition per call, each call a transaction of its
 * own, so a rebuilt partition's locks (which readers planning over every partition wait on) end
 * with it rather than with the last week's. Indexes of a busy partition are left for the next run
 * (bytes_after NULL).
 */
const COMPACTION_SQL = `SELECT count(bytes_after) AS compacted, count(*) - count(bytes_after) AS busy,
    coalesce(sum(bytes_before - bytes_after), 0) AS bytes_freed
  FROM integration_compact_partitions(p_max_partitions => 1)`;

/** Calls COMPACTION_SQL until a call rebuilds nothing; the busy indexes are those the last call still found busy. */
async function compactClosedWeeks(pool: Pool) {
  let compacted = 0;
  let bytesFreed = 0;
  for (;;) {
    const r = (await pool.query(COMPACTION_SQL)).rows[0] as { compacted: string; busy: string; bytes_freed: string };
    compacted += Number(r.compacted);
    bytesFreed += Number(r.bytes_freed);
    if (Number(r.compacted) === 0) return { indexesCompacted: compacted, indexesBusy: Number(r.busy), bytesFreed };
  }
}

/** Runs the maintenance once; minute rollups are trimmed to their window (015) or raw retention, whichever is shorter. */
async function runMaintenance(pool: Pool, opts: Pick<SchedulerOptions, 'rawRetention' | 'rollupRetention'>) {
  const { rows } = await pool.query(maintenanceSql(), [opts.rawRetention, opts.rollupRetention]);
  const r = rows[0] as { partitions_created: string; raw_rows_removed: string; rollup_rows_removed: string };
  return {
    partitionsCreated: Number(r.partitions_created),
    rawRowsRemoved: Number(r.raw_rows_removed),
    rollupRowsRemoved: Number(r.rollup_rows_removed),
    ...(await compactClosedWeeks(pool)),
  };
}

async function pgCronAvailable(pool: Pool): Promise<boolean> {
  const { rows } = await pool.query(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron')
        AND has_function_privilege('cron.schedule(text, text, text)', 'EXECUTE') AS ok`,
  );
  return rows[0].ok === true;
}

/** A literal for the job's SQL text: pg_cron stores a command, it cannot take bind parameters. */
function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * Schedules partition creation, both retentions and the closed weeks' index compaction: inside
 * Postgres via pg_cron when the extension is installed in this database (jobs keep running without
 * this process), otherwise in this process with croner, running once right away so a fresh database
 * gets its partitions immediately.
 */
export async function startScheduler(pool: Pool, opts: SchedulerOptions): Promise<Scheduler> {
  // Validate the intervals once, with the database's own parser, before anything is scheduled.
  // Rollups kept for less time than raw rows would leave days that range reads answer from the
  // (deleted) rollups as empty while their calls are still stored.
  const { rows } = await pool.query<{ ok: boolean }>('SELECT $2::interval >= $1::interval AS ok', [opts.rawRetention, opts.rollupRetention]);
  if (!rows[0].ok) {
    throw new Error(
      `MONITOR_ROLLUP_RETENTION (${opts.rollupRetention}) is shorter than MONITOR_RAW_RETENTION (${opts.rawRetention}): set it to at least the raw retention, or dashboards lose days whose calls are still stored`,
    );
  }

  if (await pgCronAvailable(pool)) {
    const raw = quoteLiteral(opts.rawRetention);
    const command = `SELECT count(*) FROM ensure_integration_log_partitions(7, 0);
SELECT cleanup_old_integration_logs(${raw}::interval);
SELECT cleanup_integration_rollups(${quoteLiteral(opts.rollupRetention)}::interval, ${raw}::interval);`;
    // cron.schedule with a job name replaces an earlier job of that name: restarts do not pile up.
    await pool.query('SELECT cron.schedule($1, $2, $3)', [CRON_JOB_NAME, CRON_SCHEDULE, command]);
    await pool.query('SELECT cron.schedule($1, $2, $3)', [CRON_COMPACTION_JOB_NAME, CRON_COMPACTION_SCHEDULE, 'SELECT count(*) FROM integration_compact_partitions(p_max_partitions => 1);']);
    opts.log(`scheduler pg_cron jobs "${CRON_JOB_NAME}" at "${CRON_SCHEDULE}" and "${CRON_COMPACTION_JOB_NAME}" at "${CRON_COMPACTION_SCHEDULE}" (UTC)`);
    return { mode: 'pg_cron', stop: async () => undefined };
  }

  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = runMaintenance(pool, opts)
      .then((r) =>
        opts.log(
          `maintenance: ${r.partitionsCreated} partitions created, ${r.rawRowsRemoved} raw rows and ${r.rollupRowsRemoved} rollup rows past retention removed, ` +
            `${r.indexesCompacted} indexes of closed weeks compacted (${(r.bytesFreed / 1048576).toFixed(1)} MB freed)` +
            (r.indexesBusy ? `, ${r.indexesBusy} busy ones left for the next run` : ''),
        ),
      )
      .catch((err) => opts.log(`maintenance failed: ${(err as Error).message}`, 'error'));
    return running;
  };
  await tick();
  const job = new Cron(CRON_SCHEDULE, { timezone: 'UTC', protect: true }, () => {
    void tick();
  });
  return {
    mode: 'in-process',
    async stop() {
      job.stop();
      await running;
    },
  };
}
