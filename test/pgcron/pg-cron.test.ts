/**
 * The seed's cleanup under pg_cron, as on Supabase: Debian's PostgreSQL 15 with postgresql-15-cron,
 * started with shared_preload_libraries = pg_cron. The scheduler creates its job; each job's own
 * command is then run by pg_cron (schedule switched to a short one, then restored) and must end
 * `succeeded` in cron.job_run_details, having really dropped an expired partition.
 *
 * .ci/run installs the packages, so under CI this suite always runs; elsewhere it is skipped only
 * when the binaries are absent.
 */
import { Pool } from 'pg';
import { migrate } from '../../src/db/migrate';
import { CRON_COMPACTION_JOB_NAME, CRON_COMPACTION_SCHEDULE, CRON_JOB_NAME, CRON_SCHEDULE, startScheduler } from '../../src/db/scheduler';
import { Cluster, DEBIAN_PG15, debianPg15Suite, debianPgCronAvailable, startCluster } from '../helpers/pg-cluster';

const suite = debianPg15Suite(debianPgCronAvailable(), 'pg_cron suite (PostgreSQL 15 with pg_cron)', 'postgresql-15 postgresql-15-cron');

jest.setTimeout(180_000);

suite('pg_cron on PostgreSQL 15', () => {
  let cluster: Cluster;
  let pool: Pool;

  beforeAll(async () => {
    // pg_cron runs its jobs in cron.database_name; Supabase keeps everything in `postgres`.
    cluster = await startCluster(DEBIAN_PG15, {
      shared_preload_libraries: "'pg_cron'",
      'cron.database_name': "'postgres'",
      // Jobs run in background workers: no libpq connection back to the server to authenticate.
      'cron.use_background_workers': 'on',
      max_worker_processes: '16',
    });
    pool = new Pool({ connectionString: cluster.url(), max: 3 });
    await pool.query('CREATE EXTENSION pg_cron');
    await migrate(cluster.url());
  });
  afterAll(async () => {
    await pool?.end();
    await cluster?.stop();
  });

  test("the scheduler creates its job, and each job's command run by pg_cron succeeds and drops an expired partition", async () => {
    // Weekly partitions back 70 days; one row 60 days old (past a 30-day retention) and one fresh.
    await pool.query('SELECT count(*) FROM ensure_integration_log_partitions(7, 70)');
    await pool.query(
      `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at)
       VALUES ('expired', 'x', 'success', 10, now() - interval '60 days'), ('fresh', 'x', 'success', 20, now())`,
    );
    const expiredPartition = (await pool.query(`SELECT tableoid::regclass::text AS p FROM integration_logs WHERE service_name = 'expired'`)).rows[0].p as string;
    expect(expiredPartition).toMatch(/^integration_logs_p\d{8}$/);

    const lines: string[] = [];
    const s = await startScheduler(pool, { rawRetention: '30 days', rollupRetention: '400 days', log: (l) => lines.push(l) });
    expect(s.mode).toBe('pg_cron');
    const jobs = (await pool.query(`SELECT jobid, jobname, schedule, command, database, username, active FROM cron.job ORDER BY jobid`)).rows;
    expect(jobs.map((j) => [j.jobname, j.schedule, j.database, j.active])).toEqual([
      [CRON_JOB_NAME, CRON_SCHEDULE, 'postgres', true],
      [CRON_COMPACTION_JOB_NAME, CRON_COMPACTION_SCHEDULE, 'postgres', true],
    ]);
    expect(jobs[0].command).toMatch(/cleanup_old_integration_logs\('30 days'::interval\)/);
    expect(jobs[0].command).not.toMatch(/integration_compact_partitions/);
    // one week per run, each run its own transaction
    expect(jobs[1].command).toMatch(/integration_compact_partitions\(p_max_partitions => 1\)/);

    // pg_cron 1.5+ takes interval schedules ('2 seconds'); Debian 12's 1.4 only cron syntax, whose
    // finest step is every minute.
    const version = (await pool.query(`SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'`)).rows[0].extversion as string;
    const [major, minor] = version.split(/[.-]/).map(Number);
    const fast = major > 1 || (major === 1 && minor >= 5) ? '2 seconds' : '* * * * *';

    for (const job of jobs) {
      const since = (await pool.query('SELECT now() AS t')).rows[0].t as Date;
      await pool.query('SELECT cron.alter_job($1, schedule => $2)', [job.jobid, fast]);
      let run: { status: string; return_message: string } | undefined;
      try {
        const deadline = Date.now() + 150_000;
        while (!run && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 1000));
          run = (
            await pool.query(
              `SELECT status, return_message FROM cron.job_run_details
               WHERE jobid = $1 AND start_time >= $2 AND status IN ('succeeded', 'failed') ORDER BY start_time LIMIT 1`,
              [job.jobid, since],
            )
          ).rows[0];
        }
      } finally {
        await pool.query('SELECT cron.alter_job($1, schedule => $2)', [job.jobid, job.schedule]);
      }
      if (!run) throw new Error(`pg_cron did not run job ${job.jobname} on "${fast}" within 150 s; server log:\n${cluster.log().slice(-3000)}`);
      expect(run).toMatchObject({ status: 'succeeded' });
    }

    // Restored, and the work really done: partition gone, fresh row kept, rollup history kept.
    expect((await pool.query(`SELECT jobname, schedule FROM cron.job ORDER BY jobid`)).rows).toEqual([
      { jobname: CRON_JOB_NAME, schedule: CRON_SCHEDULE },
      { jobname: CRON_COMPACTION_JOB_NAME, schedule: CRON_COMPACTION_SCHEDULE },
    ]);
    expect((await pool.query(`SELECT to_regclass($1) AS r`, [expiredPartition])).rows[0].r).toBeNull();
    expect((await pool.query(`SELECT service_name FROM integration_logs ORDER BY 1`)).rows).toEqual([{ service_name: 'fresh' }]);
    expect((await pool.query(`SELECT DISTINCT service_name FROM integration_rollup_day ORDER BY 1`)).rows.map((r) => r.service_name)).toEqual(['expired', 'fresh']);
    // One closed week kept (70 days of partitions, 30 kept) has its four B-tree indexes packed (the
    // compaction job's one run), and only one.
    const packed = await pool.query(
      `SELECT count(DISTINCT p.partition_name)::int AS weeks, count(*)::int AS n
       FROM integration_log_partitions() p JOIN pg_index x ON x.indrelid = p.partition_name::regclass JOIN pg_class c ON c.oid = x.indexrelid
       WHERE p.hi <= now() - interval '1 day' AND c.reloptions @> '{fillfactor=100}'`,
    );
    expect(packed.rows[0]).toEqual({ weeks: 1, n: 4 }); // pkey, service, entity, failed (019 dropped the slowest-calls one)
    // Partitions ahead exist (the job's first statement).
    expect((await pool.query(`SELECT count(*)::int AS n FROM integration_log_partitions() WHERE hi > now() + interval '7 days'`)).rows[0].n).toBeGreaterThan(0);
    await s.stop();
  });

  test('a second start replaces the job instead of adding one', async () => {
    await startScheduler(pool, { rawRetention: '45 days', rollupRetention: '400 days', log: () => undefined });
    const jobs = (await pool.query(`SELECT jobname, command FROM cron.job ORDER BY jobid`)).rows;
    expect(jobs.map((j) => j.jobname)).toEqual([CRON_JOB_NAME, CRON_COMPACTION_JOB_NAME]);
    expect(jobs[0].command).toMatch(/'45 days'/);
  });
});
