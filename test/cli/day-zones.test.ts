/**
 * MONITOR_TIMEZONE as a day zone (migration 011): `start` and `migrate` add it (backfilled),
 * `serve` adds it as service_role or, when its login may not, logs one structured line saying what
 * to run; `integration-monitor day-zones` lists, adds and removes zones.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { serveApi } from '../../src/cli/serve';
import { loadConfig } from '../../src/config';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { startMonitorProcess } from '../helpers/monitor-process';

const BIN = path.resolve(__dirname, '../../bin/integration-monitor.js');
const SECRET = 'day-zones-test-secret-'.padEnd(40, 'x');

function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, MONITOR_TIMEZONE: 'UTC', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let db: TestDatabase;
const zones = async () => (await db.pool.query(`SELECT zone FROM integration_day_zones()`)).rows.map((r) => r.zone as string);

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at) VALUES ('amocrm', 'sync_lead', 'success', 120, now() - interval '2 days')`);
});
afterAll(() => db.drop());

test('start keeps MONITOR_TIMEZONE’s days, backfilled, and says so; a second start only finds them', async () => {
  for (const expected of [/^day zone\s+Asia\/Almaty: added, its days backfilled in \d+ ms$/m, /^day zone\s+Asia\/Almaty: days kept whole$/m]) {
    const m = await startMonitorProcess({ DATABASE_URL: db.url, MONITOR_JWT_SECRET: SECRET, MONITOR_TIMEZONE: 'Asia/Almaty' });
    try {
      expect(m.output()).toMatch(expected);
    } finally {
      await m.stop();
    }
  }
  expect(await zones()).toEqual(['Asia/Almaty']);
  const { rows } = await db.pool.query(`SELECT sum(calls)::int AS n FROM integration_rollup_zone_day WHERE zone = 'Asia/Almaty'`);
  expect(rows[0].n).toBe(1);
});

test('migrate adds MONITOR_TIMEZONE; UTC adds nothing', () => {
  const r = cli(['migrate'], { DATABASE_URL: db.url, MONITOR_TIMEZONE: 'Europe/Moscow' });
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^day zone\s+Europe\/Moscow: added/m);
  const utc = cli(['migrate'], { DATABASE_URL: db.url, MONITOR_TIMEZONE: 'UTC' });
  expect(utc.code).toBe(0);
  expect(utc.stdout).not.toMatch(/day zone/);
});

test('day-zones list / add / remove; an unknown zone exits 1 with one line; bad usage exits 2', async () => {
  const env = { DATABASE_URL: db.url };
  const add = cli(['day-zones', 'add', 'asia/kolkata'], env);
  expect(add).toMatchObject({ code: 0, stderr: '' });
  expect(add.stdout).toMatch(/^Asia\/Kolkata: days kept \(backfilled in \d+ ms\)$/m);
  const list = cli(['day-zones', 'list'], env);
  expect(list.code).toBe(0);
  expect(
    list.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t')[0]),
  ).toEqual(['Asia/Almaty', 'Asia/Kolkata', 'Europe/Moscow']);
  expect(cli(['day-zones', 'add', 'UTC'], env).stdout).toMatch(/nothing to add/);
  const unknown = cli(['day-zones', 'add', 'Mars/Olympus'], env);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^integration-monitor day-zones add: .*Mars\/Olympus/)]);
  expect(cli(['day-zones', 'remove', 'Asia/Kolkata'], env)).toMatchObject({ code: 0, stdout: 'Asia/Kolkata: days no longer kept\n' });
  expect(await zones()).toEqual(['Asia/Almaty', 'Europe/Moscow']);
  expect(cli(['day-zones', 'add'], env).code).toBe(2);
  expect(cli(['day-zones', 'frobnicate'], env).code).toBe(2);
});

describe('serve', () => {
  async function serveLog(databaseUrl: string, zone: string): Promise<Array<Record<string, unknown>>> {
    let text = '';
    const logStream = new Writable({
      write(chunk, _enc, done) {
        text += chunk.toString();
        done();
      },
    });
    const config = loadConfig({ DATABASE_URL: databaseUrl, MONITOR_JWT_SECRET: SECRET, MONITOR_TIMEZONE: zone, PORT: '0', HOST: '127.0.0.1' });
    const api = await serveApi(config, { log: () => undefined, logStream });
    await api.stop();
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.component === 'day-zones');
  }

  test('as the API’s login (which may take service_role) it adds the zone', async () => {
    const lines = await serveLog(db.apiUrl, 'Asia/Tokyo');
    expect(lines).toEqual([expect.objectContaining({ level: 30, zone: 'Asia/Tokyo', state: 'added' })]);
    expect(await zones()).toContain('Asia/Tokyo');
  });

  test('as a login that may not, one warning saying what to run', async () => {
    const role = `intmon_t_ro_${crypto.randomBytes(4).toString('hex')}`;
    await db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw' NOINHERIT IN ROLE authenticated`);
    try {
      const url = new URL(db.url);
      url.username = role;
      url.password = 'pw';
      const lines = await serveLog(url.toString(), 'Asia/Dubai');
      expect(lines).toEqual([expect.objectContaining({ level: 40, zone: 'Asia/Dubai', state: 'not-permitted', msg: expect.stringMatching(/integration-monitor day-zones add Asia\/Dubai/) })]);
      expect(await zones()).not.toContain('Asia/Dubai');
    } finally {
      await db.pool.query(`DROP ROLE ${role}`);
    }
  });
});
