/**
 * API benchmark (`npm run bench`, section "api"): autocannon against GET /health and GET /stats as
 * a Grafana data source would call them (one read-only token, default ranges, gzip accepted), on the bench's
 * database. Measured twice: with the default 1 s per-token response cache (what `npm start` runs)
 * and with it off (every request a database round: BEGIN, role + claims, the query, COMMIT).
 * Target on this 2-core machine: ≥ 2,000 req/s at p99 ≤ 50 ms.
 *
 * The load generator runs in a worker thread so it does not share the server's event loop.
 * Standalone on a small database: `node -r ./test/recorder/fixtures/ts-register.js bench/api.ts`
 * (DATABASE_URL, or an embedded server is started; API_BENCH_ROWS rows are generated, default 200k).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Client, Pool } from 'pg';
import { API_PREFIX } from '../src/contract';
import { buildServer } from '../src/api/server';
import { signToken } from '../src/secret';
import { startEmbedded } from '../src/db/embedded';
import { migrate } from '../src/db/migrate';
import type { BenchContext, BenchRow } from './types';

// autocannon ships no types; the slice used here.
interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<CannonResult>;

const DURATION_S = Number(process.env.API_BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.API_BENCH_CONNECTIONS ?? 32);
const TARGET_RPS = 2000;
const TARGET_P99_MS = 50;

const ENDPOINTS = [
  { name: 'GET /health', path: `${API_PREFIX}/health` },
  { name: 'GET /stats', path: `${API_PREFIX}/stats` },
  // Days of a UTC+5 zone (migration 009: composed from hour rollups), beside UTC's above.
  { name: 'GET /stats?tz=Asia/Almaty', path: `${API_PREFIX}/stats?tz=Asia/Almaty` },
];

export async function run(ctx: BenchContext & { benchDbUrl: string }): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const cacheTtlMs of [1000, 0]) {
    const pool = new Pool({ connectionString: ctx.benchDbUrl, max: 16, application_name: 'integration-monitor bench api' });
    const secret = crypto.randomBytes(32).toString('base64url');
    const app = await buildServer({ pool, jwtSecret: secret, cacheTtlMs });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const port = (app.server.address() as AddressInfo).port;
      const token = await signToken(secret, 'authenticated', 3600);
      for (const e of ENDPOINTS) {
        const url = `http://127.0.0.1:${port}${e.path}`;
        // As Grafana's data proxy (Go's HTTP client) sends them.
        const headers = { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' };
        // Check the answer first: a fast 4xx/5xx would be a meaningless figure.
        const probe = await fetch(url, { headers });
        if (probe.status !== 200) throw new Error(`${e.name} answered ${probe.status}: ${(await probe.text()).slice(0, 200)}`);
        await autocannon({ url, headers, connections: CONNECTIONS, duration: 2, workers: 1 }); // warm-up
        const label = cacheTtlMs > 0 ? `cache ${cacheTtlMs} ms` : 'no cache';
        if (cacheTtlMs === 0) {
          // One request at a time: what a single answer costs (token check, transaction, query, JSON).
          const times: number[] = [];
          for (let i = 0; i < 30; i++) {
            const t0 = performance.now();
            const res = await fetch(url, { headers });
            await res.arrayBuffer();
            times.push(performance.now() - t0);
          }
          times.sort((a, b) => a - b);
          rows.push({
            section: 'api',
            name: `${e.name} one request at a time, median`,
            ours: Math.round(times[15] * 10) / 10,
            unit: 'ms',
            note: `p90 ${Math.round(times[27] * 10) / 10} ms over 30 sequential requests`,
          });
        }
        ctx.log(`api: ${e.name} (${label}), ${CONNECTIONS} connections, ${DURATION_S} s`);
        const elu0 = performance.eventLoopUtilization();
        const r = await autocannon({ url, headers, connections: CONNECTIONS, duration: DURATION_S, workers: 1 });
        // How busy the server's event loop was: well below 100 % means the limit was elsewhere
        // (Postgres, or the load generator itself on a shared 2-core machine).
        const elu = Math.round(performance.eventLoopUtilization(elu0).utilization * 100);
        const bad = r.non2xx + r.errors + r.timeouts;
        const note = `${CONNECTIONS} connections, ${r.requests.total} requests${bad ? `, ${bad} not 200 (!)` : ''}, API event loop ${elu} % busy; target ≥${TARGET_RPS} req/s, p99 ≤${TARGET_P99_MS} ms`;
        rows.push({ section: 'api', name: `${e.name} req/s (${label})`, ours: Math.round(r.requests.average), unit: 'req/s', note });
        rows.push({ section: 'api', name: `${e.name} p99 latency (${label})`, ours: r.latency.p99, unit: 'ms', note: `p50 ${r.latency.p50} ms` });
      }
    } finally {
      await app.close();
      await pool.end();
    }
  }
  return rows;
}

// ---- standalone: a small generated database ------------------------------------------------------

async function standalone(): Promise<void> {
  const n = Number(process.env.API_BENCH_ROWS ?? 200_000);
  let adminUrl: string | undefined = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let dir: string | undefined;
  if (!adminUrl) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-bench-api-'));
    fs.chmodSync(dir, 0o777);
    const db = await startEmbedded(path.join(dir, 'data'), { quiet: true });
    adminUrl = db.url;
    stopEmbedded = () => db.stop();
  }
  const server: string = adminUrl;
  const name = `intmon_bench_api_${process.pid}`;
  const admin = new Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(server);
  u.pathname = `/${name}`;
  const url = u.toString();
  try {
    await migrate(url);
    const c = new Client({ connectionString: url });
    await c.connect();
    // Seeded, server-side: 5 services × a few actions over the last 30 days, ~4 % failures.
    await c.query('SELECT setseed(0.42)');
    await c.query(
      `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at)
       SELECT (ARRAY['amocrm','resend','telegram','mobizon','whapi'])[1 + (i % 5)],
              (ARRAY['sync_lead','send_email','send_message','send_sms'])[1 + (i % 4)],
              CASE WHEN random() < 0.04 THEN 'failed' ELSE 'success' END,
              (20 + 400 * random() ^ 3)::int,
              now() - random() * interval '30 days'
       FROM generate_series(1, $1::int) AS i`,
      [n],
    );
    await c.end();
    const out = await run({ databaseUrl: server, benchDbUrl: url, sizes: [n], log: (l) => console.error(l) });
    console.log(`API bench on ${n} rows:`);
    for (const r of out) console.log(`  ${r.name.padEnd(40)} ${String(r.ours).padStart(8)} ${r.unit.padEnd(6)} ${r.note ?? ''}`);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    await stopEmbedded?.();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  standalone().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
