/**
 * The API against a PostgreSQL of its own that the tests stop, restart and freeze: `serve` runs as
 * a child process (so "the process survives" means exactly that), connected as the
 * least-privileged API role, with MONITOR_DB_TIMEOUT_MS=1000.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signToken } from '../../src/secret';
import { ensureApiRole, urlWithLogin } from '../../src/db/api-role';
import { EmbeddedDatabase, startEmbedded } from '../../src/db/embedded';
import { migrate } from '../../src/db/migrate';
import { API_PREFIX } from '../../src/contract';
import { ApiProcess, get, startApiProcess } from './serve-process';

const SECRET = 'resilience-test-secret-0123456789abcdefghij';
const TIMEOUT_MS = 1000;
const API_PASSWORD = 'resilience-api-password-0123';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let db: EmbeddedDatabase;
let token: string;
let apiUrl: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-resilience-'));
  fs.chmodSync(dir, 0o755); // the server runs as the `postgres` OS user when we are root
  db = await startEmbedded(path.join(dir, 'data'), { quiet: true, settings: { fsync: 'off' } });
  await migrate(db.url);
  await ensureApiRole(db.url, API_PASSWORD);
  apiUrl = urlWithLogin(db.url, 'integration_monitor_api', API_PASSWORD);
  token = await signToken(SECRET, 'authenticated', 3600);
}, 120_000);

afterAll(async () => {
  await db?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ DATABASE_URL: apiUrl, MONITOR_JWT_SECRET: SECRET, MONITOR_DB_TIMEOUT_MS: String(TIMEOUT_MS), MONITOR_API_CACHE_MS: '0', LOG_LEVEL: 'info' });

describe('serve against a database that goes away', () => {
  let api: ApiProcess;
  beforeAll(async () => {
    api = await startApiProcess('serve', env());
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('answers every endpoint as the least-privileged role', async () => {
    for (const p of ['/stats', '/failures', '/health', '/timeseries?metric=volume', '/services', '/logs', `/logs/00000000-0000-4000-8000-000000000000`]) {
      const r = await get(`${api.url}${API_PREFIX}${p}`, token);
      expect({ p, status: r.status }).toEqual({ p, status: p.startsWith('/logs/') ? 404 : 200 });
    }
    expect((await get(`${api.url}/readyz`)).status).toBe(200);
  });

  it('a frozen (SIGSTOPped) server: 503 {error} within the timeout, /readyz 503; 200 again after SIGCONT', async () => {
    // The postmaster and its backends: a pooled connection's backend would otherwise keep answering.
    const pids = [
      db.pid()!,
      ...execFileSync('pgrep', ['-P', String(db.pid())], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number),
    ];
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    try {
      // Twice: once with connections pooled from before, once needing a new one.
      for (let i = 0; i < 2; i++) {
        const r = await get(`${api.url}${API_PREFIX}/services`, token);
        expect(r.status).toBe(503);
        expect(Object.keys(JSON.parse(r.body))).toEqual(['error']);
        expect(r.ms).toBeLessThan(TIMEOUT_MS + 700);
      }
      const ready = await get(`${api.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.ms).toBeLessThan(TIMEOUT_MS + 700);
    } finally {
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    }
    const back = Date.now();
    let r = await get(`${api.url}${API_PREFIX}/services`, token);
    while (r.status !== 200 && Date.now() - back < 5000) r = await get(`${api.url}${API_PREFIX}/services`, token);
    expect(r.status).toBe(200);
    expect(Date.now() - back).toBeLessThan(1000);
    expect(api.alive()).toBe(true);
  });

  it('restarts under concurrent load: the process survives each, 503 while away, 200 within 1 s of the return', async () => {
    const seen: Array<{ at: number; status: number; body: string }> = [];
    let running = true;
    const paths = ['/services', '/stats', '/health', '/failures?limit=5'];
    const worker = async (n: number) => {
      for (let i = 0; running; i++) {
        const r = await get(`${api.url}${API_PREFIX}${paths[(n + i) % paths.length]}`, token, 10_000);
        seen.push({ at: Date.now(), status: r.status, body: r.body });
        await sleep(10);
      }
    };
    const workers = Array.from({ length: 8 }, (_, n) => worker(n));
    const restarts: Array<{ stoppedAt: number; startedAt: number }> = [];
    try {
      for (let i = 0; i < 4; i++) {
        await sleep(700);
        await db.stop();
        const stoppedAt = Date.now();
        await sleep(1200);
        await db.start();
        restarts.push({ stoppedAt, startedAt: Date.now() });
        expect(api.alive()).toBe(true);
      }
      await sleep(1500);
    } finally {
      running = false;
      await Promise.all(workers);
    }
    expect(api.alive()).toBe(true);
    // Only 200s and 503s, and every answer arrived (a dead process would show as status 0).
    const odd = seen.filter((s) => s.status !== 200 && s.status !== 503);
    expect(odd.slice(0, 5)).toEqual([]);
    for (const s of seen.filter((x) => x.status === 503)) expect(Object.keys(JSON.parse(s.body))).toEqual(['error']);
    for (const { stoppedAt, startedAt } of restarts) {
      // Answers that began after the stop completed and ended before the restart: all 503.
      const away = seen.filter((s) => s.at > stoppedAt + 200 && s.at < startedAt);
      expect(away.length).toBeGreaterThan(10);
      expect(away.filter((s) => s.status !== 503)).toEqual([]);
      const firstOk = seen.find((s) => s.at >= startedAt && s.status === 200);
      expect(firstOk).toBeDefined();
      expect(firstOk!.at - startedAt).toBeLessThan(1000);
    }
    // The outage and the recovery were logged (once per outage, not per request).
    const events = api
      .logs()
      .map((l) => l.event)
      .filter(Boolean);
    expect(events.filter((e) => e === 'database_lost').length).toBeGreaterThanOrEqual(4);
    expect(events.filter((e) => e === 'database_recovered').length).toBeGreaterThanOrEqual(4);
    expect(events.filter((e) => e === 'database_lost').length).toBeLessThan(20);
    // Each 503 has its request line (at warn), and the token is nowhere in the log.
    const unavailable = api.logs().filter((l) => l.msg === 'request' && l.status === 503 && l.route !== '/readyz');
    expect(unavailable.length).toBeGreaterThan(10);
    expect(unavailable.every((l) => l.level === 40 && typeof l.duration_ms === 'number' && l.role === 'authenticated')).toBe(true);
    expect(api.stdout()).not.toContain(token.split('.')[2]);
  }, 90_000);
});

describe('restarts with heavy requests in flight, after a freeze', () => {
  let api: ApiProcess;
  const HOUR = 3_600_000;
  const to = Math.floor(Date.now() / HOUR) * HOUR;
  beforeAll(async () => {
    // Every hour of the last 400 days for 3 services: an hourly /stats over it in a zone without
    // zone rollups is the heaviest read a token can ask for (seconds of database work each).
    const { Client } = await import('pg');
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(
        `INSERT INTO integration_logs (service_name, action, status, created_at, updated_at, duration_ms)
         SELECT s, 'send', 'success', h, h, 100
         FROM generate_series($1::timestamptz - interval '400 days', $1::timestamptz - interval '1 hour', interval '1 hour') h,
              unnest(ARRAY['amocrm', 'resend', 'stripe']) s`,
        [new Date(to).toISOString()],
      );
    } finally {
      await c.end();
    }
    api = await startApiProcess('serve', { ...env(), MONITOR_DB_TIMEOUT_MS: '5000' });
  }, 120_000);
  afterAll(async () => {
    await api?.stop();
  });

  it('90 uncached hourly 400-day /stats in flight across 5 fast restarts after a 5 s freeze: the process lives and answers after', async () => {
    const postmasterAndChildren = () => [
      db.pid()!,
      ...execFileSync('pgrep', ['-P', String(db.pid())], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number),
    ];
    let n = 0;
    // 30 callers (issuers, so subjects), so the per-token read bound lets all 90 reach the pool at once.
    const tokens = await Promise.all(Array.from({ length: 30 }, (_, i) => signToken(SECRET, 'authenticated', 3600, { iss: `caller-${i}` })));
    // Each URL differs (a `to` one second apart), so no answer comes from the cache.
    const heavy = () => {
      n++;
      const from = new Date(to - 400 * 86_400_000 + n * 1000).toISOString();
      return get(`${api.url}${API_PREFIX}/stats?interval=hour&tz=Pacific/Chatham&from=${from}&to=${new Date(to + n * 1000).toISOString()}`, tokens[n % tokens.length], 60_000);
    };
    const inFlight: Array<Promise<{ status: number }>> = [];
    const frozen = postmasterAndChildren();
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    try {
      for (let i = 0; i < 30; i++) inFlight.push(heavy());
      await sleep(5000);
    } finally {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
    }
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 90; i++) inFlight.push(heavy());
      await sleep(400 + round * 150);
      await db.stop();
      await sleep(300);
      await db.start();
      expect({ round, alive: api.alive(), stderr: api.stderr().slice(-3000) }).toEqual({ round, alive: true, stderr: '' });
    }
    const answers = await Promise.all(inFlight);
    expect(api.alive()).toBe(true);
    // Every request got an HTTP answer (status 0 would be a dropped connection), only 200/503/429.
    expect(answers.filter((a) => ![200, 429, 503].includes(a.status)).map((a) => a.status)).toEqual([]);
    const back = Date.now();
    let r = await get(`${api.url}${API_PREFIX}/services`, token);
    while (r.status !== 200 && Date.now() - back < 10_000) r = await get(`${api.url}${API_PREFIX}/services`, token);
    expect(r.status).toBe(200);
    expect(api.alive()).toBe(true);
  }, 180_000);
});

it('serve started while the database is down: 503 and /readyz false, then recovers without a restart', async () => {
  await db.stop();
  let api: ApiProcess | undefined;
  try {
    api = await startApiProcess('serve', env());
    for (let i = 0; i < 50 && !/^database /m.test(api.stdout()); i++) await sleep(100);
    expect(api.stdout()).toMatch(/^database +does not answer yet/m);
    const r = await get(`${api.url}${API_PREFIX}/services`, token);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toEqual({ error: expect.any(String) });
    expect((await get(`${api.url}/readyz`)).status).toBe(503);
    await db.start();
    const back = Date.now();
    let ok = await get(`${api.url}${API_PREFIX}/services`, token);
    while (ok.status !== 200 && Date.now() - back < 5000) ok = await get(`${api.url}${API_PREFIX}/services`, token);
    expect(ok.status).toBe(200);
    expect((await get(`${api.url}/readyz`)).status).toBe(200);
    expect(api.alive()).toBe(true);
  } finally {
    if (db.pid() === undefined) await db.start();
    expect(await api?.stop()).toBe(0);
  }
}, 60_000);

it('start (external DATABASE_URL) while the database is down: the API answers 503, then migrations and maintenance run when it is back', async () => {
  await db.stop();
  let api: ApiProcess | undefined;
  try {
    api = await startApiProcess('start', { ...env(), DATABASE_URL: db.url });
    expect(api.stdout()).toMatch(/^database +does not answer .*migrations and maintenance run then/m);
    expect((await get(`${api.url}${API_PREFIX}/services`, token)).status).toBe(503);
    expect((await get(`${api.url}/readyz`)).status).toBe(503);
    await db.start();
    const back = Date.now();
    while (!/^scheduler /m.test(api.stdout()) && Date.now() - back < 10_000) await sleep(100);
    expect(api.stdout()).toMatch(/^schema +up to date/m);
    expect(api.stdout()).toMatch(/^scheduler in-process/m);
    expect((await get(`${api.url}${API_PREFIX}/services`, token)).status).toBe(200);
    expect(api.alive()).toBe(true);
  } finally {
    if (db.pid() === undefined) await db.start();
    expect(await api?.stop()).toBe(0);
  }
}, 60_000);
