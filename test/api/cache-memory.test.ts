/**
 * The response cache's byte bound under the flood from the issue: hundreds of distinct
 * `/stats?interval=hour&from=…` answers of ~0.7 MB each, all within the cache's TTL. `serve` runs
 * as a child process so its resident memory (VmRSS) is the API's alone. Without the bound the
 * cache would keep every answer (plain + gzip, ~230 MB for 300 of them).
 */
import fs from 'node:fs';
import { signToken } from '../../src/secret';
import { API_PREFIX } from '../../src/contract';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { ApiProcess, get, startApiProcess } from './serve-process';

const SECRET = 'cache-memory-test-secret-0123456789abcdefgh';
const BOUND = Number(process.env.CACHE_TEST_BOUND ?? 16 * 1024 * 1024);
const FLOOD = 300;

let db: TestDatabase;
let api: ApiProcess;
let token: string;
const to = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);

const rssBytes = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

beforeAll(async () => {
  db = await createTestDatabase();
  // Every hour of the last 30 days: 2 services × (success, failed) → ~2,900 hourly stats rows.
  await db.pool.query(
    `INSERT INTO integration_logs (service_name, action, status, created_at, updated_at, duration_ms, error_message)
     SELECT s, 'send', st, h, h, 100, CASE WHEN st = 'failed' THEN 'boom' END
     FROM generate_series($1::timestamptz - interval '30 days', $1::timestamptz - interval '1 hour', interval '1 hour') h,
          unnest(ARRAY['amocrm', 'resend']) s, unnest(ARRAY['success', 'failed']) st`,
    [to.toISOString()],
  );
  token = await signToken(SECRET, 'authenticated', 3600);
  api = await startApiProcess('serve', {
    DATABASE_URL: db.apiUrl,
    MONITOR_JWT_SECRET: SECRET,
    MONITOR_API_CACHE_MS: '600000',
    MONITOR_API_CACHE_MAX_BYTES: String(BOUND),
    LOG_LEVEL: 'warn',
  });
}, 60_000);

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

const url = (i: number) => `${api.url}${API_PREFIX}/stats?interval=hour&to=${to.toISOString()}&from=${new Date(to.getTime() - 30 * 86_400_000 + i * 1000).toISOString()}`;

it(`${FLOOD} distinct 0.7 MB answers keep the API's memory within the cache bound`, async () => {
  const first = await get(url(0), token);
  expect(first.status).toBe(200);
  expect(first.body.length).toBeGreaterThan(600_000);
  // Warm up (code paths, pools, heap) before the baseline.
  for (let i = 1; i <= 20; i++) expect((await get(url(i), token)).status).toBe(200);
  const before = rssBytes(api.child.pid!);
  for (let i = 21; i < 21 + FLOOD; i += 4) {
    const batch = await Promise.all([0, 1, 2, 3].map((k) => get(url(i + k), token)));
    for (const r of batch) expect(r.status).toBe(200);
  }
  const after = rssBytes(api.child.pid!);
  const grew = after - before;
  console.log(`RSS ${Math.round(before / 2 ** 20)} MiB → ${Math.round(after / 2 ** 20)} MiB (+${Math.round(grew / 2 ** 20)} MiB) for ${FLOOD} answers, bound ${BOUND / 2 ** 20} MiB`);
  // The bound plus room for the heap's own slack (measured: +63 MiB with a 16 MiB bound); an
  // unbounded cache adds ~230 MiB here (CACHE_TEST_BOUND=4000000000 shows it).
  expect(grew).toBeLessThan(BOUND + 80 * 2 ** 20);
  // And the cache still works: a recent URL is answered from it (same bytes, no new query needed).
  const again = await get(url(20 + FLOOD), token);
  expect(again.status).toBe(200);
}, 180_000);
