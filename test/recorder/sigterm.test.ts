/**
 * Process death. SIGTERM: with the documented hook (stop new work, let running calls end,
 * `await recorder.close()`), every call the child started is a row — none lost. SIGKILL: rows
 * already spooled survive the kill and are replayed by the next recorder on the same spool dir.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createRecorder } from '../../src/index';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { removeTempDirs, tempDir } from './helpers';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
  removeTempDirs();
});

it('loses nothing when the process is sent SIGTERM mid-load', async () => {
  const child = spawn(process.execPath, ['-r', path.join(__dirname, 'fixtures/ts-register.js'), path.join(__dirname, 'fixtures/sigterm-child.ts')], {
    env: { ...process.env, DB_URL: db.url, SPOOL_DIR: tempDir('intmon-spool-') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`child never loaded: ${err}`)), 30_000);
    child.stdout.on('data', () => {
      if (out.includes('loaded')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  // Mid-load: rows are being written while more calls start every few milliseconds.
  const before = Number((await db.pool.query('SELECT count(*) n FROM integration_logs')).rows[0].n);
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect({ code, err }).toEqual({ code: 0, err: '' });
  const started = Number(/done (\d+)/.exec(out)?.[1]);
  expect(started).toBeGreaterThanOrEqual(2000);
  const { rows } = await db.pool.query<{ n: string; d: string; ok: string }>("SELECT count(*) n, count(DISTINCT id) d, count(*) FILTER (WHERE status = 'success') ok FROM integration_logs");
  expect(rows[0]).toEqual({ n: String(started), d: String(started), ok: String(started) });
  expect(before).toBeLessThan(started);
}, 60_000);

it('rows spooled before a SIGKILL survive it and are replayed by the next recorder', async () => {
  const spoolDir = tempDir('intmon-spool-');
  const child = spawn(process.execPath, ['-r', path.join(__dirname, 'fixtures/ts-register.js'), path.join(__dirname, 'fixtures/sigkill-child.ts')], {
    env: { ...process.env, DB_URL: 'postgres://x:y@127.0.0.1:1/unreachable', SPOOL_DIR: spoolDir, CALLS: '1000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('child never spooled')), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('spooled')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('exit', resolve));
  const rec = createRecorder({ databaseUrl: db.url, spoolDir });
  await rec.flush();
  await rec.close();
  const { rows } = await db.pool.query<{ n: string }>("SELECT count(*) n FROM integration_logs WHERE service_name = 'resend'");
  expect(rows[0].n).toBe('1000');
  expect(rec.stats().replayed).toBe(1000);
}, 60_000);

it('a script that ends without calling close() still writes its rows (beforeExit)', async () => {
  const child = spawn(process.execPath, ['-r', path.join(__dirname, 'fixtures/ts-register.js'), path.join(__dirname, 'fixtures/natural-exit-child.ts')], {
    env: { ...process.env, DB_URL: db.url, SPOOL_DIR: tempDir('intmon-spool-') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect({ code, err }).toEqual({ code: 0, err: '' });
  const { rows } = await db.pool.query<{ n: string }>("SELECT count(*) n FROM integration_logs WHERE service_name = 'whapi'");
  expect(rows[0].n).toBe('300');
}, 60_000);
