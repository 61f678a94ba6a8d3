/**
 * Our plpgsql functions never JIT-compile. Their statements carry huge row estimates
 * (generate_series over timestamps, lateral scans of rollup levels) though they read a few hundred
 * rows, so on a server with JIT (Debian's and Supabase's PostgreSQL; the embedded test server has
 * none) the planner compiled them with LLVM on every call: integration_zone_pieces took 1.7 s for
 * 6 rows, the hourly view in Asia/Almaty 1.4 s at 10M calls against 1.7 ms in UTC
 * (bench/results/2026-12-02-10M.md). Each function says `SET jit = off`.
 */
import { Pool } from 'pg';
import { migrate } from '../../src/db/migrate';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { Cluster, DEBIAN_PG15, debianPg15JitAvailable, debianPg15Suite, startCluster } from '../helpers/pg-cluster';

/**
 * plpgsql functions that run no query of their own (per-bucket arithmetic, the read check, the text
 * of the triggers' histogram statements): a SET would only cost each call.
 */
const NO_QUERIES = ['integration_hist_percentile', 'integration_hist_statements', 'integration_read_allowed'];

describe('every plpgsql function of ours turns JIT off', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('has jit=off in its settings, except the few that run no query', async () => {
    const { rows } = await db.pool.query(
      `SELECT p.proname, coalesce('jit=off' = ANY (p.proconfig), false) AS off
       FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE l.lanname = 'plpgsql' AND n.nspname = current_schema() ORDER BY 1`,
    );
    expect(rows.length).toBeGreaterThan(20);
    expect(rows.filter((r) => !r.off).map((r) => r.proname)).toEqual(NO_QUERIES);
  });
});

const suite = debianPg15Suite(debianPg15JitAvailable(), 'JIT suite (PostgreSQL 15 with llvmjit.so)', 'postgresql-15');

jest.setTimeout(180_000);

suite('on PostgreSQL 15 with JIT available, at its default settings', () => {
  let cluster: Cluster;
  let pool: Pool;
  beforeAll(async () => {
    cluster = await startCluster(DEBIAN_PG15, { jit: 'on' });
    await migrate(cluster.url());
    pool = new Pool({ connectionString: cluster.url(), max: 1 });
  });
  afterAll(async () => {
    await pool?.end();
    await cluster?.stop();
  });

  /** Runs sql with every plan (nested ones too) logged by auto_explain, and returns the log lines it added. */
  async function planLog(sql: string): Promise<string> {
    const before = cluster.log().length;
    const c = await pool.connect();
    try {
      await c.query(`LOAD 'auto_explain'`);
      await c.query('SET auto_explain.log_min_duration = 0');
      await c.query('SET auto_explain.log_nested_statements = on');
      await c.query('SET auto_explain.log_analyze = on');
      await c.query(sql);
    } finally {
      c.release(true);
    }
    return cluster.log().slice(before);
  }

  it('the control: a statement estimated as costly is JIT-compiled (so the check below can see it)', async () => {
    expect((await pool.query('SELECT pg_jit_available() AS a')).rows[0].a).toBe(true);
    const log = await planLog('SELECT count(*) FROM generate_series(1, (SELECT 2)) a, generate_series(1, (SELECT 2)) b, generate_series(1, (SELECT 2)) c');
    expect(log).toMatch(/JIT:/);
  });

  it.each([
    ['zone pieces', "SELECT count(*) FROM integration_zone_pieces(now() - interval '24 hours', now(), interval '1 hour', 'Asia/Almaty')"],
    ['hourly view in Asia/Kolkata', "SET TimeZone = 'Asia/Kolkata'; SELECT count(*) FROM integration_stats_hourly"],
    ['daily view in Europe/Moscow', "SET TimeZone = 'Europe/Moscow'; SELECT count(*) FROM integration_stats_daily"],
    ['percentile series', "SELECT count(*) FROM integration_hist_percentile_series_service_zone(now() - interval '7 days', now(), interval '6 hours', 0.95, 'Asia/Kolkata')"],
  ])('%s: no statement inside is JIT-compiled', async (_name, sql) => {
    const log = await planLog(sql);
    // auto_explain logged the function's own statements (so the check has something to look at) ...
    expect(log).toMatch(/Query Text:[\s\S]*(integration_logs|integration_rollup_|generate_series)/);
    // ... and none of them was compiled.
    expect(log).not.toMatch(/JIT:/);
  });
});
