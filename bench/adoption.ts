/**
 * Bench of issue 25's adoption: a database that ran the seed's MIGRATION 004 (bench/seed-schema.ts)
 * holding BENCH_ADOPTION_ROWS (default 1M) generated calls over 120 days (bench/data.ts), adopted by
 * `migrate` while two writers keep writing the seed's way (as service_role: insert a pending call,
 * then update it by id to success). Reports the whole adoption's time, how long the seed's table was
 * locked (the writers' pause) and the longest single writer request.
 * Part of `npm run bench` (bench/main.ts); alone: `node lib/bench/adoption.js` with DATABASE_URL set
 * to a server it may create a database on.
 */
import { Client } from 'pg';
import { migrate } from '../src/db/migrate';
import { COLUMNS, generateSql, STAGING_TABLE } from './data';
import { withDatabase } from './database';
import { seedMigration004Sql } from './seed-schema';
import { human } from './stats';
import type { BenchContext, BenchRow } from './types';

const DB = 'intmon_bench_adopt';
const DAYS = 120;

/** Inserts a pending call and updates it by id, each its own transaction as service_role, until stopped. */
function writer(url: string, stats: { longest: number; pairs: number; deadlocks: number; errors: string[] }, stopped: () => boolean): Promise<void> {
  const c = new Client({ connectionString: url });
  c.on('error', () => undefined); // a dropped connection fails the request in progress instead
  const request = async (sql: string, params: unknown[]) => {
    const t = process.hrtime.bigint();
    for (;;) {
      try {
        await c.query('BEGIN');
        await c.query(`SELECT set_config('role', 'service_role', true), set_config('request.jwt.claims', '{"role":"service_role"}', true)`);
        const { rows } = await c.query(sql, params);
        await c.query('COMMIT');
        stats.longest = Math.max(stats.longest, Number(process.hrtime.bigint() - t) / 1e6);
        return rows;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        if ((err as { code?: string }).code !== '40P01') throw err;
        stats.deadlocks++;
      }
    }
  };
  return (async () => {
    await c.connect();
    try {
      while (!stopped()) {
        const [row] = await request(`INSERT INTO integration_logs (service_name, action, status) VALUES ('amocrm', 'sync_lead', 'pending') RETURNING id`, []);
        await request(`UPDATE integration_logs SET status = 'success', duration_ms = 120, updated_at = now() WHERE id = $1`, [row.id]);
        stats.pairs++;
      }
    } catch (err) {
      stats.errors.push((err as Error).message);
    } finally {
      await c.end();
    }
  })();
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const rows = Number(process.env.BENCH_ADOPTION_ROWS ?? 1_000_000);
  const admin = new Client({ connectionString: ctx.databaseUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB}`);
  const url = withDatabase(ctx.databaseUrl, DB);
  try {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      // The seed's policies name Supabase's roles; on a server that has none yet, make them as 001 would.
      await c.query(`DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN; END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN CREATE ROLE authenticated NOLOGIN; END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN CREATE ROLE service_role NOLOGIN; END IF;
      END $$`);
      await c.query(seedMigration004Sql('public', { rls: true }));
      await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON integration_logs TO service_role`);
      const t = Date.now();
      for (const sql of generateSql(rows, DAYS)) await c.query(sql);
      await c.query(`INSERT INTO integration_logs (${COLUMNS}, request_payload) SELECT ${COLUMNS}, jsonb_build_object('entity', related_entity_id) FROM ${STAGING_TABLE}`);
      await c.query(`DROP TABLE ${STAGING_TABLE}`);
      await c.query(`VACUUM ANALYZE integration_logs`);
      ctx.log(`[adoption] ${human(rows)} rows in the seed's MIGRATION 004 table (${Date.now() - t} ms)`);
    } finally {
      await c.end();
    }

    const stats = { longest: 0, pairs: 0, deadlocks: 0, errors: [] as string[] };
    let stop = false;
    const writers = [writer(url, stats, () => stop), writer(url, stats, () => stop)];
    await new Promise((r) => setTimeout(r, 1000));
    const started = Date.now();
    const result = await migrate(url, { log: (l) => ctx.log(`[adoption] ${l}`) });
    const totalMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await Promise.all(writers);
    // The same writers for 10 s more with no adoption running: what they see of each other alone.
    const after = { longest: 0, pairs: 0, deadlocks: 0, errors: [] as string[] };
    let stopAfter = false;
    const alone = [writer(url, after, () => stopAfter), writer(url, after, () => stopAfter)];
    await new Promise((r) => setTimeout(r, 10_000));
    stopAfter = true;
    await Promise.all(alone);
    if (stats.errors.length || after.errors.length) throw new Error(`a writer failed: ${[...stats.errors, ...after.errors][0]}`);
    const locked = result.adoption?.lockedMs ?? NaN;
    const line = `adoption of ${human(rows)} rows: ${totalMs} ms in all, writers paused ${locked} ms (seed table locked), longest writer request ${Math.round(stats.longest)} ms`;
    ctx.log(`[adoption] ${line}`);
    const tag = `@${human(rows)}`;
    return [
      { section: 'adoption', name: `adopt MIGRATION 004 ${tag}: total`, ours: totalMs, unit: 'ms', note: `${Math.round(rows / (totalMs / 1000))} rows/s` },
      { section: 'adoption', name: `adopt MIGRATION 004 ${tag}: writers paused`, ours: locked, unit: 'ms', note: 'the swap: seed table locked' },
      {
        section: 'adoption',
        name: `adopt MIGRATION 004 ${tag}: longest writer request`,
        ours: Math.round(stats.longest),
        unit: 'ms',
        note: `2 writers, ${stats.pairs} insert+update pairs, ${stats.deadlocks} deadlocks retried`,
      },
      {
        section: 'adoption',
        name: `the same writers after adoption ${tag}: longest request`,
        ours: Math.round(after.longest),
        unit: 'ms',
        note: `10 s, ${after.pairs} insert+update pairs, ${after.deadlocks} deadlocks retried (writer against writer in the rollup triggers)`,
      },
    ];
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

if (require.main === module) {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('set DATABASE_URL to a server the bench may create a database on');
  const log = (l: string) => process.stderr.write(`${l}\n`);
  run({ databaseUrl, sizes: [], log }).then(
    (rows) => process.stdout.write(`${rows.map((r) => `${r.name}\t${r.ours} ${r.unit}\t${r.note ?? ''}`).join('\n')}\n`),
    (err) => {
      log((err as Error).message);
      process.exit(1);
    },
  );
}
