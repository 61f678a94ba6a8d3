/**
 * Recorder benchmark (`npm run bench`, section "recorder"), beside the seed's design in the same run:
 *  - ingest: rows/s through createRecorder → COPY → integration_logs, until every row is committed
 *    (as service_role under RLS, the default; and as a BYPASSRLS role, where plain COPY is allowed);
 *  - overhead: per-call time of `await recorder.track(…, fn)` minus `await fn()` (median, p99);
 *  - the seed: each call awaiting its own single-row INSERT — its rows/s and its per-call cost.
 * Ingestion goes into a fresh migrated database of its own on the bench server, dropped afterwards.
 * Standalone: `node -r ./test/recorder/fixtures/ts-register.js bench/recorder.ts` (DATABASE_URL, or
 * an embedded server is started); instrumentHttp's part alone: `npm run bench:http`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { migrate } from '../src/db/migrate';
import { createRecorder } from '../src/recorder/recorder';
import { admin, withBenchServer, withDatabase } from './database';
import { distinguishable, httpOverhead } from './instrument-http';
import type { MedianCI } from './stats';
import type { BenchContext, BenchRow } from './types';

// Sizes can be lowered for a quick run (BENCH_RECORDER_ROWS, BENCH_RECORDER_CALLS).
const INGEST_ROWS = Number(process.env.BENCH_RECORDER_ROWS ?? 300_000);
const OVERHEAD_CALLS = Number(process.env.BENCH_RECORDER_CALLS ?? 200_000);
const SEED_CALLS = 5_000;

const RLS_WRITER = 'intmon_bench_rls_writer';

export async function run(ctx: BenchContext & { benchDbUrl?: string }): Promise<BenchRow[]> {
  const server = ctx.benchDbUrl ?? ctx.databaseUrl;
  const name = `intmon_bench_recorder_${process.pid}`;
  await admin(server, `DROP DATABASE IF EXISTS ${name}`);
  await admin(server, `CREATE DATABASE ${name}`);
  const url = withDatabase(server, name);
  const spoolRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-bench-spool-'));
  try {
    await migrate(url);
    const pool = new Pool({ connectionString: url, max: 4 });
    try {
      ctx.log(`recorder: ingest ${INGEST_ROWS} rows as service_role (BYPASSRLS, plain COPY)`);
      const direct = await ingest(url, pool, 'service_role', path.join(spoolRoot, 'a'));
      // A member of service_role without BYPASSRLS (role attributes are not inherited): what a
      // service_role created without the attribute gets — the temp table + INSERT path.
      await admin(url, `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${RLS_WRITER}') THEN CREATE ROLE ${RLS_WRITER} NOLOGIN NOBYPASSRLS; END IF; END $$`);
      await admin(url, `GRANT service_role TO ${RLS_WRITER}`);
      ctx.log(`recorder: ingest ${INGEST_ROWS} rows as a service_role member under RLS (temp table + INSERT)`);
      const rls = await ingest(url, pool, RLS_WRITER, path.join(spoolRoot, 'b'));
      ctx.log(`recorder: track() overhead over ${OVERHEAD_CALLS} calls`);
      const oh = await overhead(url, path.join(spoolRoot, 'c'));
      ctx.log(`recorder: the seed's awaited INSERT, ${SEED_CALLS} calls`);
      const seed = await seedInserts(pool);
      ctx.log('recorder: instrumentHttp, requests side by side with it off');
      const httpRec = createRecorder({ databaseUrl: url, spoolDir: path.join(spoolRoot, 'd') });
      const http = await httpOverhead(httpRec, ctx.log).finally(() => httpRec.close());
      const r = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
      const ci = (x: MedianCI) => `${r(x.median)} [${r(x.lo)}, ${r(x.hi)}] µs`;
      return [
        {
          section: 'recorder',
          name: 'ingest rows/s, service_role with BYPASSRLS (plain COPY; as Supabase and our migrations create it)',
          seed: r(seed.rowsPerSec, 0),
          ours: r(direct, 0),
          unit: 'rows/s',
          ratio: r(direct / seed.rowsPerSec),
          note: `${INGEST_ROWS} rows until committed; seed = one awaited INSERT per call`,
        },
        { section: 'recorder', name: 'ingest rows/s, writer under RLS (temp table + INSERT)', seed: r(seed.rowsPerSec, 0), ours: r(rls, 0), unit: 'rows/s', ratio: r(rls / seed.rowsPerSec) },
        {
          section: 'recorder',
          name: 'per-call overhead, median',
          seed: r(seed.medianUs),
          ours: r(oh.medianUs, 2),
          unit: 'µs',
          ratio: r(seed.medianUs / Math.max(oh.medianUs, 0.01)),
          note: `track() vs un-instrumented call; bare call median ${r(oh.bareMedianUs, 2)} µs`,
        },
        {
          section: 'recorder',
          name: 'per-call overhead, p99',
          seed: r(seed.p99Us),
          ours: r(oh.p99Us, 2),
          unit: 'µs',
          ratio: r(seed.p99Us / Math.max(oh.p99Us, 0.01)),
          note: `bare call p99 ${r(oh.bareP99Us, 2)} µs`,
        },
        ...http.flatMap((h) => [
          {
            section: 'recorder' as const,
            name: `instrumentHttp, added per recorded request (${h.client}), median`,
            ours: r(h.handlersUs, 2),
            unit: 'µs',
            note: `time in its channel handlers, median of ${h.runs} runs; whole request ${r(h.offUs)} µs off → ${r(h.providerUs)} µs on (wall), ${r(h.offCpuUs)} → ${r(h.providerCpuUs)} µs CPU; per-run added wall ${r(h.addedProvider.min)} … ${r(h.addedProvider.max)} µs`,
          },
          {
            section: 'recorder' as const,
            name: `instrumentHttp, added per request to another host (${h.client}), median of paired blocks`,
            ours: r(h.other.vsOff.on.wall.median, 2),
            unit: 'µs',
            note: `whole request, on − off, wall ${ci(h.other.vsOff.on.wall)} (A/A off − off ${ci(h.other.vsOff.offAgain.wall)}), CPU ${ci(h.other.vsOff.on.cpu)} (A/A ${ci(h.other.vsOff.offAgain.cpu)}); ${distinguishable(h.other.vsOff.on.wall, h.other.vsOff.offAgain.wall) || distinguishable(h.other.vsOff.on.cpu, h.other.vsOff.offAgain.cpu) ? '' : 'not '}distinguishable from A/A; while a track() call runs CPU ${ci(h.other.vsOff.duringTrack.cpu)}; channel traffic replayed ${r(h.replayOtherUs, 2)} µs, handlers ${r(h.handlersOtherUs, 2)} µs; load ${r(h.other.load[0])}→${r(h.other.load[1])}`,
          },
        ]),
      ];
    } finally {
      await pool.end();
    }
  } finally {
    fs.rmSync(spoolRoot, { recursive: true, force: true });
    await admin(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin(server, `DROP ROLE IF EXISTS ${RLS_WRITER}`).catch(() => undefined);
  }
}

/** Tracks INGEST_ROWS calls as fast as the event loop allows; rows/s until all are committed. */
async function ingest(url: string, pool: Pool, role: string | null, spoolDir: string): Promise<number> {
  await pool.query('TRUNCATE integration_logs');
  const rec = createRecorder({ databaseUrl: url, spoolDir, role, maxBatchRows: 10_000, maxMemoryBytes: 256 * 1024 * 1024 });
  const fn = () => 1;
  const t0 = performance.now();
  for (let i = 0; i < INGEST_ROWS; i += 2_000) {
    for (let j = 0; j < 2_000; j++) void rec.track('telegram', 'send_message', fn);
    await new Promise((r) => setImmediate(r)); // let the writer run, as a real server's I/O would
  }
  await rec.close();
  const elapsed = (performance.now() - t0) / 1000;
  const stats = rec.stats();
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) n FROM integration_logs');
  if (Number(rows[0].n) !== INGEST_ROWS || stats.spooled !== 0) {
    throw new Error(`recorder bench: expected ${INGEST_ROWS} rows written directly, got ${rows[0].n} (spooled ${stats.spooled})`);
  }
  return INGEST_ROWS / elapsed;
}

/** Per-call time of an awaited no-op vs the same call through track(), interleaved in blocks. */
async function overhead(url: string, spoolDir: string): Promise<{ medianUs: number; p99Us: number; bareMedianUs: number; bareP99Us: number }> {
  const rec = createRecorder({ databaseUrl: url, spoolDir });
  const fn = async () => 1;
  const bare = new Float64Array(OVERHEAD_CALLS);
  const tracked = new Float64Array(OVERHEAD_CALLS);
  const block = 1_000;
  // Warm-up so both paths are optimised before measuring.
  for (let i = 0; i < 20_000; i++) {
    await fn();
    await rec.track('resend', 'send_email', fn);
    if (i % block === 0) await new Promise((r) => setImmediate(r));
  }
  for (let b = 0; b < OVERHEAD_CALLS; b += block) {
    for (let i = b; i < b + block; i++) {
      const t = performance.now();
      await fn();
      bare[i] = performance.now() - t;
    }
    for (let i = b; i < b + block; i++) {
      const t = performance.now();
      await rec.track('resend', 'send_email', fn);
      tracked[i] = performance.now() - t;
    }
    await new Promise((r) => setImmediate(r)); // the writer's turn, outside the timed calls
  }
  await rec.close();
  const q = (a: Float64Array, p: number) => {
    const s = Float64Array.from(a).sort();
    return s[Math.min(s.length - 1, Math.floor(p * s.length))] * 1000;
  };
  const bm = q(bare, 0.5);
  const bp = q(bare, 0.99);
  return { medianUs: Math.max(0, q(tracked, 0.5) - bm), p99Us: Math.max(0, q(tracked, 0.99) - bp), bareMedianUs: bm, bareP99Us: bp };
}

/** The seed's way: every call awaits its own single-row INSERT before returning. */
async function seedInserts(pool: Pool): Promise<{ rowsPerSec: number; medianUs: number; p99Us: number }> {
  const times = new Float64Array(SEED_CALLS);
  const c = await pool.connect();
  try {
    const t0 = performance.now();
    for (let i = 0; i < SEED_CALLS; i++) {
      const t = performance.now();
      await c.query('INSERT INTO integration_logs (service_name, action, status, duration_ms) VALUES ($1, $2, $3, $4)', ['telegram', 'send_message', 'success', 12]);
      times[i] = performance.now() - t;
    }
    const elapsed = (performance.now() - t0) / 1000;
    times.sort();
    return { rowsPerSec: SEED_CALLS / elapsed, medianUs: times[SEED_CALLS >> 1] * 1000, p99Us: times[Math.floor(SEED_CALLS * 0.99)] * 1000 };
  } finally {
    c.release();
  }
}

if (require.main === module) {
  void withBenchServer(async (url) => {
    const rows = await run({ databaseUrl: url, sizes: [], log: (l) => process.stderr.write(`${l}\n`) });
    console.table(rows);
  });
}
