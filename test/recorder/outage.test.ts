/**
 * Database outage: Postgres is stopped while 10,000 calls are being tracked and started again;
 * every call ends up as exactly one row. Uses its own real PostgreSQL (the harness's shared server
 * cannot be stopped), controlled in a child process (fixtures/pg-control.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { createRecorder } from '../../src/index';
import { ControlledPostgres, startControlledPostgres } from './controlled-postgres';

let server: ControlledPostgres;
let url: string;
let dir: string;
const command = (cmd: 'stop' | 'start') => server.command(cmd);

beforeAll(async () => {
  server = await startControlledPostgres('intmon-outage-');
  ({ url, dir } = server);
}, 120_000);

afterAll(() => server.close());

async function count(): Promise<{ n: number; d: number }> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string; d: string }>('SELECT count(*) n, count(DISTINCT id) d FROM integration_logs');
    return { n: Number(rows[0].n), d: Number(rows[0].d) };
  } finally {
    await c.end();
  }
}

it('stop Postgres while 10,000 calls are tracked, start it again: exactly 10,000 rows', async () => {
  const errors: string[] = [];
  const rec = createRecorder({ databaseUrl: url, spoolDir: path.join(dir, 'spool'), flushIntervalMs: 50, maxBatchRows: 500, onError: (e) => errors.push(e.message) });
  const N = 10_000;
  let tracked = 0;
  let stoppedAt = -1;
  let startedAt = -1;
  const calls: Promise<unknown>[] = [];

  // 10,000 calls over ~2.5 s; Postgres goes down after ~20 % of them and comes back after ~70 %.
  const producer = (async () => {
    while (tracked < N) {
      for (let i = 0; i < 40 && tracked < N; i++) {
        const k = tracked++;
        calls.push(rec.track('mobizon', 'send_sms', async () => k));
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const outage = (async () => {
    while (tracked < N * 0.2) await new Promise((r) => setTimeout(r, 5));
    await command('stop');
    stoppedAt = tracked;
    while (tracked < N * 0.7) await new Promise((r) => setTimeout(r, 5));
    await command('start');
    startedAt = tracked;
  })();
  await Promise.all([producer, outage]);
  await Promise.all(calls);
  expect(stoppedAt).toBeLessThan(N * 0.7);
  expect(startedAt).toBeLessThan(N); // the server was down while calls were being tracked

  await rec.close();
  const stats = rec.stats();
  expect(stats.spooled).toBeGreaterThan(0); // the outage was real: rows went to disk
  expect(stats.dropped).toBe(0);
  expect(stats.written).toBeGreaterThan(0); // written directly before/after the outage
  expect(stats.replayed).toBeGreaterThan(0); // and from the spool once it was back
  expect(errors.some((m) => m.includes('database unavailable'))).toBe(true);
  expect(await count()).toEqual({ n: N, d: N });
  expect(fs.readdirSync(path.join(dir, 'spool'))).toEqual([]);
}, 120_000);
