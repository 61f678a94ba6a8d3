/**
 * `npm run bench`: the seed's design against ours on the same generated rows, at each size of
 * BENCH_SIZES (default "1000000,10000000"; BENCH_SIZES=100000 is a quick run).
 *
 * Starts an embedded Postgres in a temp dir unless DATABASE_URL is set, creates database
 * `intmon_bench`, migrates ours into public and builds the seed's literal design in schema `seed`,
 * generates rows server-side (bench/data.ts) into both, compacts the closed weeks' indexes as the
 * daily job would (storage printed before and after: the steady state), then times every dashboard query
 * (bench/queries.ts; p50/p95 over repeated runs, as the client sees it and in the database, see
 * bench/db-time.ts) and ingestion (COPY batches by one and by two writers, with and without rollup
 * upkeep). Then runs the recorder and API benches (bench/recorder.ts, bench/api.ts) on the same
 * database. Prints one table; writes bench/results/<date>.md and .json.
 * BENCH_LAYOUT=history: history loaded into the DEFAULT partition rather than into weeks made first.
 * BENCH_ONLY=writes: load and UPDATE/DELETE of N rows with and without the rollup triggers (bench/writes.ts).
 * BENCH_ONLY=dashboards: load and the dashboard bench only (with BENCH_DASHBOARDS_BEFORE_COMPACTION=1
 * also before the compaction); BENCH_ONLY=zones: load and the views and
 * /stats per time zone against UTC only (the zones made day zones first, as `start` does).
 * test/bench/ checks that the seed's and our form of each query answer the same on the same rows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client, type ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { EmbeddedDatabase, startEmbedded } from '../src/db/embedded';
import { addDayZone } from '../src/store/queries';
import { migrate } from '../src/db/migrate';
import { run as runAdoption } from './adoption';
import { run as runApi } from './api';
import { setBenchNow } from './clock';
import { COLUMNS, generateSql, LOAD_COLUMNS, ROLLUP_BACKFILL_SQL, STAGING_TABLE } from './data';
import { dbTimer } from './db-time';
import { benchDashboards, benchFloors, dashboardRows, dashboardsMarkdown, floorsMarkdown, type PanelResult } from './dashboards';
import { dashboardQueries, zoneQueries } from './queries';
import { run as runRecorder } from './recorder';
import { SEED_SCHEMA_SQL } from './seed-schema';
import { withDatabase } from './database';
import { human, ms, pct, round } from './stats';
import { compactionMarkdown, rawIndexBytes, storageBreakdown, storageMarkdown } from './storage';
import { writeCosts } from './writes';
import type { BenchContext, BenchRow } from './types';

const DAYS = 120;
/**
 * BENCH_LAYOUT=history: the rows before the current week are loaded into the DEFAULT partition
 * (no week exists for them) instead of weekly partitions made first (the default, `weeks`).
 */
const LAYOUT = process.env.BENCH_LAYOUT === 'history' ? 'history' : 'weeks';
const BENCH_DB = 'intmon_bench';
const OURS_RUNS = Number(process.env.BENCH_RUNS ?? 30);
/** The seed's queries take seconds at 10M rows: at most this many runs or this much time each. */
const SEED_MAX_RUNS = 10;
const SEED_BUDGET_MS = 30_000;
const INGEST_BATCHES = 20;
const INGEST_BATCH_ROWS = 10_000;
const INGEST_ROUNDS = 3;

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Repeats `run` (which returns one run's ms) up to maxRuns times, at least 3, within budgetMs. */
async function repeatRuns(run: () => Promise<number>, maxRuns: number, budgetMs: number): Promise<number[]> {
  const times: number[] = [];
  const started = Date.now();
  while (times.length < maxRuns && (times.length < 3 || Date.now() - started < budgetMs)) times.push(await run());
  return times;
}

/** Wall-clock ms of each run of fn, as the client sees it. */
function timeRuns(fn: () => Promise<unknown>, maxRuns: number, budgetMs: number): Promise<number[]> {
  return repeatRuns(
    async () => {
      const t = process.hrtime.bigint();
      await fn();
      return ms(t);
    },
    maxRuns,
    budgetMs,
  );
}

/** Ours runs as the API runs it: in a transaction as `authenticated`, so RLS is in the price. */
async function asAuthenticated<T>(c: Client, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    await c.query(`SELECT set_config('request.jwt.claims', '{"role":"authenticated"}', true)`);
    await c.query('SET LOCAL ROLE authenticated');
    return await fn();
  } finally {
    await c.query('ROLLBACK');
  }
}

/**
 * BENCH_KEEP=1 keeps the bench database and its staging rows after the run; BENCH_REUSE=1 then
 * runs the sections again on them without generating and loading anew (a 10M load takes most of an
 * hour; the migrations are applied first, so a changed function or index is what gets measured).
 */
const KEEP = process.env.BENCH_KEEP === '1' || process.env.BENCH_REUSE === '1';
const REUSE = process.env.BENCH_REUSE === '1';

/** With BENCH_REUSE=1: whether the kept database holds exactly `size` rows on both sides. */
async function loadedAlready(c: Client, size: number): Promise<boolean> {
  const { rows } = await c.query(`SELECT to_regclass('${STAGING_TABLE}') IS NOT NULL AS staged, to_regclass('seed.integration_logs') IS NOT NULL AS seeded`);
  if (!rows[0].staged || !rows[0].seeded) return false;
  const { rows: n } = await c.query(`SELECT (SELECT count(*) FROM integration_logs) AS ours, (SELECT count(*) FROM seed.integration_logs) AS seed`);
  return Number(n[0].ours) === size && Number(n[0].seed) === size;
}

async function load(c: Client, size: number): Promise<BenchRow[]> {
  const out: BenchRow[] = [];
  const tag = `@${human(size)}`;
  if (REUSE && (await loadedAlready(c, size))) {
    const { rows: end } = await c.query(`SELECT max(created_at) + interval '1 second' AS t FROM ${STAGING_TABLE}`);
    setBenchNow(end[0].t);
    log(`[${tag}] reusing the kept database (BENCH_REUSE=1): ${size} rows on both sides, ending ${end[0].t.toISOString()}`);
    return out.concat(await storageRows(c, `${tag} before compaction`, 'the kept database of an earlier run (BENCH_REUSE=1)'));
  }
  if (REUSE) throw new Error(`BENCH_REUSE=1 needs the database of an earlier run with BENCH_KEEP=1 holding ${size} rows`);
  log(`[${tag}] resetting both schemas`);
  // Day zones too: zoneRows adds them after the load through integration_add_day_zone, so both load
  // paths (triggers, or BENCH_FAST_LOAD's triggers-off load and ROLLUP_BACKFILL_SQL) leave zone days
  // and zone hours exact.
  await c.query(`TRUNCATE integration_logs, integration_rollup_minute, integration_rollup_hour, integration_rollup_day,
                 integration_latency_hist_hour, integration_latency_hist_day, integration_service_actions,
                 integration_latency_hist_service_hour, integration_latency_hist_service_day,
                 integration_rollup_service_hour, integration_rollup_service_day,
                 integration_rollup_zone_day, integration_rollup_zone_hour, integration_monitor_day_zones, integration_slowest_day`);
  await c.query('TRUNCATE seed.integration_logs');
  if (LAYOUT === 'history') {
    // History loaded before any week was made for it: every week before the current one is
    // dropped (empty after the TRUNCATE), so those rows land in the DEFAULT partition, as when a
    // user bulk-loads an export into a fresh install; the scheduler would move them into weeks
    // later (ensure_integration_log_partitions), which the bench does not do.
    const { rows } = await c.query<{ name: string }>(`SELECT partition_name AS name FROM integration_log_partitions() WHERE hi <= date_trunc('week', now())`);
    for (const r of rows) await c.query(`DROP TABLE ${c.escapeIdentifier(r.name)}`);
    log(`[${tag}] BENCH_LAYOUT=history: ${rows.length} weeks dropped, history goes to the default partition`);
  } else {
    await c.query(`SELECT count(*) FROM ensure_integration_log_partitions(7, ${DAYS + 2})`);
  }

  log(`[${tag}] generating ${size} rows over ${DAYS} days (server-side, seeded)`);
  let t = process.hrtime.bigint();
  for (const sql of generateSql(size, DAYS)) await c.query(sql);
  log(`[${tag}]   generated in ${(ms(t) / 1000).toFixed(1)} s`);

  t = process.hrtime.bigint();
  await c.query(`INSERT INTO seed.integration_logs (${LOAD_COLUMNS}) SELECT ${LOAD_COLUMNS} FROM ${STAGING_TABLE}`);
  const seedLoad = ms(t);
  log(`[${tag}]   seed loaded in ${(seedLoad / 1000).toFixed(1)} s`);

  t = process.hrtime.bigint();
  const fast = process.env.BENCH_FAST_LOAD === '1';
  if (fast) {
    // Raw rows with triggers off, then the rollups rebuilt in one pass per level.
    await c.query('BEGIN');
    await c.query('SET LOCAL session_replication_role = replica');
    await c.query(`INSERT INTO integration_logs (${LOAD_COLUMNS}) SELECT ${LOAD_COLUMNS} FROM ${STAGING_TABLE}`);
    await c.query('COMMIT');
    for (const sql of ROLLUP_BACKFILL_SQL) await c.query(sql);
  } else {
    // Ours day by day (as a day of traffic would arrive), rollups maintained by the triggers.
    const { rows: days } = await c.query(`SELECT min(created_at) AS lo, max(created_at) AS hi FROM ${STAGING_TABLE}`);
    for (let d = new Date(days[0].lo).getTime(); d <= new Date(days[0].hi).getTime(); d += 86400e3) {
      await c.query(`INSERT INTO integration_logs (${LOAD_COLUMNS}) SELECT ${LOAD_COLUMNS} FROM ${STAGING_TABLE} WHERE created_at >= $1 AND created_at < $2`, [new Date(d), new Date(d + 86400e3)]);
    }
  }
  const oursLoad = ms(t);
  // Guard: the rollups the queries read must account for every raw row.
  const { rows: check } = await c.query(`SELECT
      (SELECT count(*) FROM integration_logs) AS raw, (SELECT sum(calls) FROM integration_rollup_day) AS day_calls,
      (SELECT count(duration_ms) FROM integration_logs) AS raw_n, (SELECT sum(u.n) FROM integration_latency_hist_day h, integration_hist_bins(h.bins, h.ns) u) AS hist_n,
      (SELECT sum(u.n) FROM integration_latency_hist_service_day h, integration_hist_bins(h.bins, h.ns) u) AS svc_n, (SELECT sum(calls) FROM integration_rollup_service_day) AS svc_calls`);
  const k = check[0];
  if (k.raw !== k.day_calls || k.raw_n !== k.hist_n || k.raw_n !== k.svc_n || k.raw !== k.svc_calls) throw new Error(`rollups do not match raw rows: ${JSON.stringify(k)}`);
  log(`[${tag}]   ours loaded (${fast ? 'raw, then rollups rebuilt' : 'through the rollup triggers'}) in ${(oursLoad / 1000).toFixed(1)} s`);
  out.push({
    section: 'ingest',
    name: `bulk load INSERT…SELECT ${tag}`,
    seed: round(size / (seedLoad / 1000)),
    ours: round(size / (oursLoad / 1000)),
    unit: 'rows/s',
    ratio: round(seedLoad / oursLoad),
    note: fast ? 'ours: raw rows with triggers off, then rollups rebuilt in one pass (BENCH_FAST_LOAD=1)' : 'ours: one INSERT per day of data through the rollup triggers',
  });

  return out.concat(await storageRows(c, `${tag} before compaction`, fast ? 'ours: raw rows with triggers off, then rollups rebuilt in one pass' : 'ours: through the rollup triggers'));
}

/**
 * The daily job's compaction (repeatable/15_compaction.sql) on the loaded weeks, as maintenance
 * would run it the day after: closed weeks' B-tree indexes packed full. Then storage again: the
 * steady state a user's database reaches, which `storage @<size>` reports.
 */
async function compaction(c: Client, size: number): Promise<BenchRow[]> {
  const tag = `@${human(size)}`;
  const before = await rawIndexBytes(c);
  const t = process.hrtime.bigint();
  const { rows } = await c.query(`SELECT count(bytes_after)::int AS done, (count(*) - count(bytes_after))::int AS busy FROM integration_compact_partitions()`);
  const took = ms(t);
  const after = await rawIndexBytes(c);
  const total = (m: Map<string, number>) => Math.round([...m.values()].reduce((a, b) => a + b, 0) / 1048576);
  log(`[${tag}]   compaction: ${rows[0].done} indexes rebuilt (${rows[0].busy} busy) in ${(took / 1000).toFixed(1)} s, raw indexes ${total(before)} -> ${total(after)} MB`);
  extraMarkdown.push(compactionMarkdown(before, after, tag));
  const row: BenchRow = {
    section: 'storage',
    name: `compaction ${tag}`,
    ours: round(took / 1000),
    unit: 's',
    note: `${rows[0].done} indexes of closed weeks rebuilt with fillfactor 100 (${rows[0].busy} busy); raw indexes ${total(before)} -> ${total(after)} MB`,
  };
  return [row, ...(await storageRows(c, tag, 'after the daily compaction of closed weeks'))];
}

/** VACUUM ANALYZE both sides, then the storage rows (total and per relation). */
async function storageRows(c: Client, tag: string, how: string): Promise<BenchRow[]> {
  const out: BenchRow[] = [];
  const t = process.hrtime.bigint();
  await c.query('VACUUM ANALYZE seed.integration_logs');
  await c.query('VACUUM ANALYZE integration_logs');
  for (const r of [
    'integration_rollup_minute',
    'integration_rollup_hour',
    'integration_rollup_day',
    'integration_latency_hist_hour',
    'integration_latency_hist_day',
    'integration_latency_hist_service_hour',
    'integration_latency_hist_service_day',
    'integration_rollup_service_hour',
    'integration_rollup_service_day',
    'integration_service_actions',
    'integration_slowest_day',
  ]) {
    await c.query(`VACUUM ANALYZE ${r}`);
  }
  log(`[${tag}]   vacuum analyze ${(ms(t) / 1000).toFixed(1)} s`);
  const sizes = await c.query(`SELECT
      pg_total_relation_size('seed.integration_logs') AS seed_bytes,
      (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'integration_logs'::regclass) AS raw_bytes,
      -- tables only: pg_total_relation_size already counts their indexes (runs before 2026-12-02 also
      -- matched the indexes by name, counting them twice)
      -- every other table of ours (rollups, histograms, 019's slowest calls, the small lists)
      (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
       WHERE c.relkind = 'r' AND NOT c.relispartition AND c.relnamespace = 'public'::regnamespace
         AND c.relname LIKE 'integration\\_%' AND c.relname <> 'integration_logs') AS rollup_bytes,
      (SELECT count(*) FROM integration_rollup_minute) AS minute_rows,
      (SELECT count(*) FROM integration_latency_hist_hour) AS hist_hour_rows`);
  const z = sizes.rows[0];
  const mb = (b: string) => Math.round(Number(b) / 1048576);
  out.push({
    section: 'ingest',
    name: `storage ${tag}`,
    seed: mb(z.seed_bytes),
    ours: mb(z.raw_bytes) + mb(z.rollup_bytes),
    unit: 'MB',
    note: `ours = raw ${mb(z.raw_bytes)} MB + rollups and slowest calls ${mb(z.rollup_bytes)} MB (${z.minute_rows} minute rows, ${z.hist_hour_rows} hour histogram rows); ${how}`,
  });
  const breakdown = await storageBreakdown(c);
  extraMarkdown.push(storageMarkdown(breakdown, tag));
  for (const r of breakdown) {
    out.push({
      section: 'storage',
      name: `${r.schema}.${r.relation} ${tag}`,
      ours: r.totalMb,
      unit: 'MB',
      note: `heap ${r.heapMb} + indexes ${r.indexMb} + TOAST ${r.toastMb} MB; ~${r.rows} rows${r.partitions ? ` in ${r.partitions} partitions` : ''}`,
    });
  }
  return out;
}

/** Long per-relation and per-panel tables, written after the main table in the results file. */
const extraMarkdown: string[] = [];
const dashboardResults: Array<{ size: number; stage: string; results: PanelResult[] }> = [];

/** The provisioned dashboards as Grafana runs them, beside the hand-made one on the seed schema. */
async function dashboards(c: Client, size: number, stage = ''): Promise<BenchRow[]> {
  const tag = `@${human(size)}${stage}`;
  const { rows: ent } = await c.query(`SELECT related_entity_type AS type, related_entity_id::text AS id FROM ${STAGING_TABLE} WHERE related_entity_id IS NOT NULL ORDER BY created_at DESC LIMIT 1`);
  log(`[${tag}] dashboards as Grafana runs them (reader role)`);
  const results = await benchDashboards(c, (l) => log(`[${tag}]${l}`), ent[0]);
  extraMarkdown.push(dashboardsMarkdown(results, tag));
  const floors = await benchFloors(c, (l) => log(`[${tag}]${l}`));
  extraMarkdown.push(floorsMarkdown(floors, tag));
  dashboardResults.push({ size, stage, results: [...results, ...floors] });
  return dashboardRows(results, tag);
}

type DbRuns = (fn: (x: ClientBase) => Promise<unknown>, maxRuns: number, budgetMs: number) => Promise<number[]>;

/** Database-side ms of each run (see bench/db-time.ts). */
function dbRunsOn(c: Client): DbRuns {
  const timer = dbTimer(c);
  return (fn, maxRuns, budgetMs) =>
    repeatRuns(
      async () => {
        await fn(timer.client);
        return timer.take();
      },
      maxRuns,
      budgetMs,
    );
}

async function queries(c: Client, size: number): Promise<BenchRow[]> {
  const out: BenchRow[] = [];
  const tag = `@${human(size)}`;
  const { rows: ent } = await c.query(`SELECT related_entity_type AS type, related_entity_id::text AS id FROM ${STAGING_TABLE} WHERE related_entity_id IS NOT NULL ORDER BY created_at DESC LIMIT 1`);
  const dbRuns = dbRunsOn(c);
  const row = (name: string, unit: string, seed: number[], ours: number[]): BenchRow => ({
    section: 'queries',
    name,
    seed: round(pct(seed, 0.95)),
    ours: round(pct(ours, 0.95)),
    unit,
    ratio: round(pct(seed, 0.95) / pct(ours, 0.95)),
    note: `p50 seed ${round(pct(seed, 0.5))} / ours ${round(pct(ours, 0.5))} ms; runs ${seed.length}/${ours.length}`,
  });
  for (const q of dashboardQueries(ent[0])) {
    await q.seed(c); // warm-up
    const seed = await timeRuns(() => q.seed(c), SEED_MAX_RUNS, SEED_BUDGET_MS);
    const seedDb = await dbRuns(q.seed, SEED_MAX_RUNS, SEED_BUDGET_MS);
    const [ours, oursDb] = await asAuthenticated(c, async () => {
      await q.ours(c);
      await q.ours(c);
      return [await timeRuns(() => q.ours(c), OURS_RUNS, 60_000), await dbRuns(q.ours, OURS_RUNS, 60_000)];
    });
    const client = row(`${q.name} ${tag}`, 'ms p95', seed, ours);
    const db = row(`${q.name} ${tag}, in the database`, 'ms p95 db', seedDb, oursDb);
    log(`[${tag}] ${q.name}: client p95 seed ${client.seed} / ours ${client.ours} ms (×${client.ratio}); db p95 seed ${db.seed} / ours ${db.ours} ms (×${db.ratio})`);
    out.push(client, db);
  }
  out.push(...(await zoneRows(c, tag, dbRuns)));
  return out;
}

/** In a transaction with the session's TimeZone set to `zone`; ours as `authenticated`, the seed's as is. */
async function inZone<T>(c: Client, zone: string, ours: boolean, fn: () => Promise<T>): Promise<T> {
  const body = async () => {
    await c.query(`SELECT set_config('TimeZone', $1, true)`, [zone]);
    return fn();
  };
  if (ours) return asAuthenticated(c, body);
  await c.query('BEGIN');
  try {
    return await body();
  } finally {
    await c.query('ROLLBACK');
  }
}

/** The zones zoneRows measures: a whole-hour one and a half-hour one. */
const BENCH_ZONES = ['Asia/Almaty', 'Asia/Kolkata'];

/**
 * The views and /stats in other zones than UTC (migration 009), each beside the same query in UTC
 * (target: at most 2× the UTC time) and the seed's view in that zone. The zones are first made day
 * zones (migration 011), as `start` does for MONITOR_TIMEZONE, so the times are the product's as
 * configured.
 */
async function zoneRows(c: Client, tag: string, dbRuns: DbRuns): Promise<BenchRow[]> {
  const out: BenchRow[] = [];
  const backfillMs: Record<string, number> = {};
  for (const zone of BENCH_ZONES) {
    const t = process.hrtime.bigint();
    await addDayZone(c, zone);
    backfillMs[zone] = ms(t);
    log(`[${tag}] ${zone} added as a day zone (backfill ${round(backfillMs[zone])} ms)`);
  }
  await c.query('VACUUM ANALYZE integration_rollup_zone_day, integration_rollup_zone_hour');
  const time = async (zone: string, fn: (x: ClientBase) => Promise<unknown>, runs: number, budget: number, ours = true) =>
    inZone(c, zone, ours, async () => {
      await fn(c);
      await fn(c);
      return { client: await timeRuns(() => fn(c), runs, budget), db: await dbRuns(fn, runs, budget) };
    });
  for (const q of zoneQueries()) {
    const utc = await time('UTC', (x) => q.ours(x, 'UTC'), OURS_RUNS, 60_000);
    for (const zone of BENCH_ZONES) {
      const ours = await time(zone, (x) => q.ours(x, zone), OURS_RUNS, 60_000);
      const seed = q.seed ? await time(zone, q.seed, SEED_MAX_RUNS, SEED_BUDGET_MS, false) : undefined;
      for (const [kind, unit] of [
        ['client', 'ms p95'],
        ['db', 'ms p95 db'],
      ] as const) {
        const z = pct(ours[kind], 0.95);
        const u = pct(utc[kind], 0.95);
        const sd = seed ? pct(seed[kind], 0.95) : undefined;
        const row: BenchRow = {
          section: 'queries',
          name: `${q.name} in ${zone} ${tag}${kind === 'db' ? ', in the database' : ''}`,
          ...(sd !== undefined ? { seed: round(sd), ratio: round(sd / z) } : {}),
          ours: round(z),
          unit,
          note: `UTC ${round(u)} ms → ${round(z / u)}× UTC (target ≤ 2×); p50 ${round(pct(ours[kind], 0.5))} ms; ${zone} kept as a day zone (backfill ${round(backfillMs[zone])} ms)`,
        };
        log(`[${tag}] ${row.name}: ${row.ours} ms, ${row.note}`);
        out.push(row);
      }
    }
  }
  return out;
}

/** Live-like COPY batches (timestamps of the last minutes), into each design; rolled back after. */
async function ingest(c: Client, url: string, size: number): Promise<BenchRow[]> {
  const tag = `@${human(size)}`;
  const services = ['amocrm', 'resend', 'telegram', 'mobizon', 'whapi'];
  const actions: Record<string, string[]> = {
    amocrm: ['sync_lead', 'update_contact'],
    resend: ['send_email'],
    telegram: ['send_message'],
    mobizon: ['send_sms'],
    whapi: ['send_message', 'check_contact'],
  };
  const start = Date.now() - INGEST_BATCHES * 30e3;
  let x = 12345;
  const rnd = () => (x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const batches: string[] = [];
  for (let b = 0; b < INGEST_BATCHES; b++) {
    const lines: string[] = [];
    for (let i = 0; i < INGEST_BATCH_ROWS; i++) {
      const s = services[Math.floor(rnd() * 5)];
      const a = actions[s][Math.floor(rnd() * actions[s].length)];
      const st = rnd() < 0.03 ? 'failed' : 'success';
      const at = new Date(start + b * 30e3 + Math.floor((i / INGEST_BATCH_ROWS) * 30e3)).toISOString();
      lines.push(`${s}\t${a}\t${st}\t\\N\t\\N\t\\N\t\\N\t${Math.floor(50 * Math.exp(rnd() * 4))}\t0\t${at}\t${at}`);
    }
    batches.push(lines.join('\n') + '\n');
  }
  const copyAll = async (table: string) => {
    const t = process.hrtime.bigint();
    for (const b of batches) await pipeline(Readable.from([b]), c.query(copyFrom(`COPY ${table} (${COLUMNS}) FROM STDIN`)));
    return ms(t);
  };
  const total = INGEST_BATCHES * INGEST_BATCH_ROWS;
  const inTx = async <T>(fn: () => Promise<T>) => {
    await c.query('BEGIN');
    try {
      return await fn();
    } finally {
      await c.query('ROLLBACK');
    }
  };
  // Interleaved rounds, median of each: on a shared machine a single run is mostly noise.
  const seedRuns: number[] = [];
  const oursRuns: number[] = [];
  const rawRuns: number[] = [];
  const refreshRuns: number[] = [];
  for (let i = 0; i < INGEST_ROUNDS; i++) {
    seedRuns.push(await inTx(() => copyAll('seed.integration_logs')));
    oursRuns.push(await inTx(() => copyAll('integration_logs')));
    // The alternative: raw COPY without triggers, then a refresh job aggregating the new rows.
    const alt = await inTx(async () => {
      await c.query('SET LOCAL session_replication_role = replica');
      const raw = await copyAll('integration_logs');
      const t = process.hrtime.bigint();
      await c.query(
        `WITH m AS (
          SELECT date_bin('1 minute', created_at, '1970-01-01 00:00:00+00') AS bucket, service_name, action, status, count(*) AS calls,
                 count(duration_ms) AS dn, coalesce(sum(duration_ms), 0) AS ds, min(duration_ms) AS mn, max(duration_ms) AS mx,
                 coalesce(sum(retry_count), 0) AS rs, count(*) FILTER (WHERE retry_count > 0) AS rt
          FROM integration_logs WHERE created_at >= $1 GROUP BY 1, 2, 3, 4)
        INSERT INTO integration_rollup_minute AS t SELECT * FROM m
        ON CONFLICT (bucket, service_name, action, status) DO UPDATE SET calls = t.calls + excluded.calls`,
        [new Date(start - 1000)],
      );
      return { raw, refresh: ms(t) };
    });
    rawRuns.push(alt.raw);
    refreshRuns.push(alt.refresh);
  }
  // Two writers (the machine has two cores), each batch its own transaction (rolled back): how far
  // the raw table and the rollup upkeep go when COPY is not the only thing a core does.
  const twoWriters = async (table: string, triggers: boolean) => {
    const second = new Client({ connectionString: url, application_name: 'integration-monitor bench writer 2' });
    await second.connect();
    try {
      const t = process.hrtime.bigint();
      await Promise.all(
        [c, second].map(async (w, k) => {
          for (let b = k; b < batches.length; b += 2) {
            await w.query('BEGIN');
            try {
              if (!triggers) await w.query('SET LOCAL session_replication_role = replica');
              await pipeline(Readable.from([batches[b]]), w.query(copyFrom(`COPY ${table} (${COLUMNS}) FROM STDIN`)));
            } finally {
              await w.query('ROLLBACK');
            }
          }
        }),
      );
      return ms(t);
    } finally {
      await second.end();
    }
  };
  const two = { seed: await twoWriters('seed.integration_logs', true), ours: await twoWriters('integration_logs', true), raw: await twoWriters('integration_logs', false) };
  const seedMs = pct(seedRuns, 0.5);
  const oursMs = pct(oursRuns, 0.5);
  const alt = { raw: pct(rawRuns, 0.5), refresh: pct(refreshRuns, 0.5) };
  const rate = (msTotal: number) => round(total / (msTotal / 1000));
  log(`[${tag}] ingest COPY ${total} rows: seed ${rate(seedMs)} rows/s, ours+rollups ${rate(oursMs)} rows/s, ours raw only ${rate(alt.raw)} rows/s (+ refresh ${round(alt.refresh)} ms)`);
  return [
    { section: 'ingest', name: `COPY ${INGEST_BATCHES}×${INGEST_BATCH_ROWS / 1000}k, rollups on ${tag}`, seed: rate(seedMs), ours: rate(oursMs), unit: 'rows/s', ratio: round(seedMs / oursMs) },
    {
      section: 'ingest',
      name: `COPY raw only (triggers off) ${tag}`,
      ours: rate(alt.raw),
      unit: 'rows/s',
      note: `median of ${INGEST_ROUNDS} interleaved rounds; rollup upkeep ${round(((oursMs - alt.raw) / total) * 1000)} µs/row; a refresh job would spend ${round(alt.refresh)} ms on the minute level alone for these rows`,
    },
    {
      section: 'ingest',
      name: `COPY by 2 writers, rollups on ${tag}`,
      seed: rate(two.seed),
      ours: rate(two.ours),
      unit: 'rows/s',
      ratio: round(two.seed / two.ours),
      note: 'one run; each 10k batch its own transaction',
    },
    { section: 'ingest', name: `COPY by 2 writers, raw only (triggers off) ${tag}`, ours: rate(two.raw), unit: 'rows/s', note: "one run; the raw table's ceiling on this machine" },
  ];
}

function table(rows: BenchRow[]): string {
  const head = ['section', 'name', 'seed', 'ours', 'unit', 'ratio', 'note'];
  const body = rows.map((r) => [r.section, r.name, r.seed ?? '', r.ours, r.unit, r.ratio !== undefined ? `${r.ratio}×` : '', r.note ?? ''].map(String));
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((b) => `| ${b.join(' | ')} |`)].join('\n');
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_SIZES ?? '1000000,10000000')
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
  if (!sizes.length) throw new Error('BENCH_SIZES must list positive row counts, e.g. 1000000,10000000');
  let embedded: EmbeddedDatabase | undefined;
  let tmp: string | undefined;
  let server = process.env.DATABASE_URL;
  if (!server) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-bench-'));
    fs.chmodSync(tmp, 0o777);
    embedded = await startEmbedded(path.join(tmp, 'data'), { quiet: true });
    server = embedded.url;
    log(`embedded postgres in ${tmp}`);
  }
  try {
    const admin = new Client({ connectionString: server });
    await admin.connect();
    const version = (await admin.query('SHOW server_version')).rows[0].server_version as string;
    if (!REUSE) {
      await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${BENCH_DB}`);
    }
    await admin.end();
    const benchDbUrl = withDatabase(server, BENCH_DB);
    await migrate(benchDbUrl);
    const c = new Client({ connectionString: benchDbUrl, application_name: 'integration-monitor bench' });
    // Without a listener, the server stopping after a failure would crash Node before the failure is logged.
    c.on('error', (err) => log(`bench connection: ${err.message}`));
    await c.connect();
    if (!REUSE) await c.query(SEED_SCHEMA_SQL);

    // BENCH_ONLY=dashboards (npm run bench:dashboards): load, storage and the dashboard bench only;
    // BENCH_ONLY=zones: load, storage and the views and /stats per time zone only.
    const only = process.env.BENCH_ONLY ?? '';
    // BENCH_ONLY=writes: load, storage and UPDATE/DELETE with and without the triggers only (bench/writes.ts).
    if (only !== '' && only !== 'dashboards' && only !== 'zones' && only !== 'writes') throw new Error('BENCH_ONLY may only be "dashboards", "zones" or "writes"');
    const rows: BenchRow[] = [];
    for (const size of sizes) {
      rows.push(...(await load(c, size)));
      // BENCH_DASHBOARDS_BEFORE_COMPACTION=1: the dashboards also timed on the indexes as loaded, to
      // compare with the compacted ones timed below (a packed index must not read slower).
      if (only === 'dashboards' && process.env.BENCH_DASHBOARDS_BEFORE_COMPACTION === '1') rows.push(...(await dashboards(c, size, ' before compaction')));
      rows.push(...(await compaction(c, size)));
      if (only === 'zones') {
        rows.push(...(await zoneRows(c, `@${human(size)}`, dbRunsOn(c))));
        continue;
      }
      if (only === 'writes') {
        rows.push(...(await writeCosts(c, size, log)));
        continue;
      }
      if (only !== 'dashboards') rows.push(...(await queries(c, size)));
      rows.push(...(await dashboards(c, size)));
      if (only !== 'dashboards') rows.push(...(await writeCosts(c, size, log)));
      if (only !== 'dashboards') rows.push(...(await ingest(c, benchDbUrl, size)));
    }
    if (!KEEP) await c.query(`DROP TABLE IF EXISTS ${STAGING_TABLE}`);
    await c.end();

    const ctx: BenchContext & { benchDbUrl: string } = { databaseUrl: server, sizes, log, benchDbUrl };
    // BENCH_STORAGE_ONLY=1 skips the recorder/API sections (e.g. for a long 10M-row run).
    const others =
      process.env.BENCH_STORAGE_ONLY === '1' || only !== ''
        ? []
        : ([
            ['recorder', runRecorder],
            ['api', runApi],
            ['adoption', runAdoption],
          ] as const);
    for (const [name, run] of others) {
      try {
        rows.push(...(await run(ctx)));
      } catch (err) {
        log(`${name} bench failed: ${(err as Error).stack ?? err}`);
        rows.push({ section: name, name: `${name} bench`, ours: NaN, unit: '', note: `failed: ${(err as Error).message}` });
      }
    }

    const md = table(rows);
    process.stdout.write(`${md}\n`);
    const date = `${new Date().toISOString().slice(0, 10)}-${sizes.map(human).join('-')}${only ? `-${only}` : ''}`;
    const outDir = path.resolve('bench/results'); // npm runs scripts from the repo root
    fs.mkdirSync(outDir, { recursive: true });
    const meta = { date: new Date().toISOString(), postgres: version, sizes, cpus: os.cpus().length, node: process.version };
    fs.writeFileSync(path.join(outDir, `${date}.json`), JSON.stringify({ ...meta, rows, dashboards: dashboardResults }, null, 2) + '\n');
    fs.writeFileSync(
      path.join(outDir, `${date}.md`),
      `# Bench ${meta.date}\n\nPostgreSQL ${version}, ${meta.cpus} CPUs, Node ${meta.node}, sizes ${sizes.map(human).join(', ')} rows over ${DAYS} days.\n` +
        `Query times are p95 (p50 in the note) of repeated runs; ours run as \`authenticated\` inside a transaction (RLS on), as the API runs them. Each query has two lines: \`ms p95\` as the Node client sees it (rows received and parsed), \`ms p95 db\` the database's planning + execution (EXPLAIN ANALYZE; rows produced, not sent).\n\n${md}\n\n${extraMarkdown.join('\n')}`,
    );
    log(`results written to ${path.join(outDir, `${date}.md`)} and .json`);
  } finally {
    if (embedded) await embedded.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  log(`bench failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
