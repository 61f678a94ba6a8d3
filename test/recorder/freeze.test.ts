/**
 * A frozen database: the postmaster and every backend stopped with SIGSTOP (as a hung VM, a
 * stalled disk or a half-open connection look to a client). Writes must time out, the connection
 * be discarded, rows go to the spool — and after SIGCONT everything lands exactly once. Uses a
 * dedicated embedded server (fixtures/pg-control.ts) so no other test sees the freeze.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { createRecorder } from '../../src/index';
import type { RecorderError } from '../../src/recorder/report';
import { ControlledPostgres, startControlledPostgres } from './controlled-postgres';

let server: ControlledPostgres;
let dir: string;
let url: string;

beforeAll(async () => {
  server = await startControlledPostgres('intmon-freeze-');
  ({ dir, url } = server);
}, 120_000);

afterAll(async () => {
  signalServer('SIGCONT');
  await server.close();
});

/** The postmaster (first line of postmaster.pid) and all its descendants: the whole server. */
function serverPids(): number[] {
  const postmaster = Number(fs.readFileSync(path.join(dir, 'pg', 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const parent = new Map<number, number>();
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      parent.set(Number(p), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const pids = [postmaster];
  for (let i = 0; i < pids.length; i++) for (const [pid, ppid] of parent) if (ppid === pids[i]) pids.push(pid);
  return pids;
}

function signalServer(sig: NodeJS.Signals): void {
  try {
    for (const pid of serverPids()) process.kill(pid, sig);
  } catch {
    /* server not started */
  }
}

it('with the server frozen by SIGSTOP, spools within the write timeout; after SIGCONT replays everything exactly once', async () => {
  const errors: RecorderError[] = [];
  const writeTimeoutMs = 1000;
  const rec = createRecorder({ databaseUrl: url, spoolDir: path.join(dir, 'spool'), flushIntervalMs: 50, maxBatchRows: 500, writeTimeoutMs, onError: (e) => errors.push(e as RecorderError) });
  let n = 0;
  const calls: Promise<unknown>[] = [];
  const burst = () => {
    for (let i = 0; i < 20; i++) calls.push(rec.track('telegram', 'send_message', async () => n++));
  };
  // Steady load, ~2,000 calls/s.
  const load = setInterval(burst, 10);
  try {
    await new Promise((r) => setTimeout(r, 500));
    await rec.flush();
    expect(rec.stats().written).toBeGreaterThan(0);

    signalServer('SIGSTOP');
    const frozenAt = Date.now();
    const trackedAtFreeze = rec.stats().tracked;
    // The hung write times out, the recorder says the database is down and spools.
    while (rec.stats().databaseUp && Date.now() - frozenAt < 10_000) await new Promise((r) => setTimeout(r, 20));
    const detectedMs = Date.now() - frozenAt;
    expect(rec.stats().databaseUp).toBe(false);
    expect(detectedMs).toBeLessThan(writeTimeoutMs + 1500); // the write in flight times out; margin for a loaded machine
    await new Promise((r) => setTimeout(r, 3000)); // frozen for ~4 s in all, load going on
    const during = rec.stats();
    expect(during.spooled).toBeGreaterThan(1000);
    // Rows do not pile up in memory: at most the calls of about one write timeout wait there (a
    // loaded machine stretches that), far fewer than the calls made while frozen, which all would.
    expect(during.queuedRows).toBeLessThan((during.tracked - trackedAtFreeze) / 2);
    expect(errors.some((e) => e.kind === 'write-timeout')).toBe(true);

    signalServer('SIGCONT');
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    clearInterval(load);
    signalServer('SIGCONT');
  }
  await Promise.all(calls);
  await rec.flush();
  await rec.close();
  const s = rec.stats();
  expect(s.dropped).toBe(0);
  expect(s.replayed).toBeGreaterThan(1000);
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string; d: string }>('SELECT count(*) n, count(DISTINCT id) d FROM integration_logs');
    expect(rows[0]).toEqual({ n: String(n), d: String(n) });
  } finally {
    await c.end();
  }
  expect(fs.readdirSync(path.join(dir, 'spool')).filter((f) => f.endsWith('.copy'))).toEqual([]);
}, 120_000);
