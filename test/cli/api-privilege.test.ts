/**
 * The API's own login: `serve`/`start` with a superuser DATABASE_URL say so loudly (a WARNING
 * banner line and a warn log entry, as doctor marks it ✘); `start` with MONITOR_API_DATABASE_URL
 * migrates and maintains as DATABASE_URL but serves as that least-privileged login (made with the
 * URL's password); and the compose stack is wired that way.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import YAML from 'yaml';
import { urlWithLogin } from '../../src/db/api-role';
import { startApiProcess } from '../api/serve-process';
import { createTestDatabase, TestDatabase } from '../helpers/db';

const SECRET = 'api-privilege-test-secret-0123456789abcdef';
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

const env = (url: string) => ({ DATABASE_URL: url, MONITOR_JWT_SECRET: SECRET, LOG_LEVEL: 'info' });
const warned = (stdout: string) => /^WARNING +the API connects as a privileged login .*superuser/m.test(stdout);
const privilegedEvents = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event?: string; level?: number })
    .filter((l) => l.event === 'api_role_privileged');

async function untilBanner(api: { stdout(): string }, re: RegExp): Promise<void> {
  for (let i = 0; i < 100 && !re.test(api.stdout()); i++) await new Promise((r) => setTimeout(r, 100));
}

it('serve with a superuser DATABASE_URL: a WARNING line and a warn log entry; with the API login: none', async () => {
  const su = await startApiProcess('serve', env(db.url));
  try {
    await untilBanner(su, /^WARNING /m);
    expect(warned(su.stdout())).toBe(true);
    expect(privilegedEvents(su.stdout()).map((e) => e.level)).toEqual([40]);
  } finally {
    await su.stop();
  }
  const least = await startApiProcess('serve', env(db.apiUrl));
  try {
    await untilBanner(least, /^database /m);
    await new Promise((r) => setTimeout(r, 300));
    expect(warned(least.stdout())).toBe(false);
    expect(privilegedEvents(least.stdout())).toEqual([]);
  } finally {
    await least.stop();
  }
}, 60_000);

it('start with MONITOR_API_DATABASE_URL: the API connects as that login (created with its password), no warning', async () => {
  const role = `intmon_api_priv_${process.pid}`;
  const apiUrl = urlWithLogin(db.url, role, 'priv-test-password-0123456789');
  const api = await startApiProcess('start', { ...env(db.url), MONITOR_API_DATABASE_URL: apiUrl });
  const admin = new Client({ connectionString: db.url });
  await admin.connect();
  try {
    await untilBanner(api, /^scheduler /m);
    expect(api.stdout()).toMatch(new RegExp(`^api role +${role} \\(MONITOR_API_DATABASE_URL`, 'm'));
    const r = await fetch(`${api.url}/readyz`);
    expect(r.status).toBe(200);
    const { rows } = await admin.query<{ usename: string }>(`SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = $1 AND application_name = 'integration-monitor api'`, [db.name]);
    expect(rows.map((x) => x.usename)).toEqual([role]);
    expect(warned(api.stdout())).toBe(false);
  } finally {
    await api.stop();
    await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin.end();
  }
}, 90_000);

it('start with only a superuser DATABASE_URL (what the compose file did): the WARNING', async () => {
  const api = await startApiProcess('start', env(db.url));
  try {
    await untilBanner(api, /^WARNING /m);
    expect(warned(api.stdout())).toBe(true);
  } finally {
    await api.stop();
  }
}, 90_000);

it('docker-compose: the API serves as integration_monitor_api, the superuser only migrates and maintains', () => {
  const compose = YAML.parse(fs.readFileSync(path.resolve(__dirname, '../../docker-compose.yml'), 'utf8')) as { services: Record<string, { environment?: Record<string, string> }> };
  const e = compose.services.api.environment!;
  const user = (url: string) => /^postgres:\/\/([^:@/]+)/.exec(url)?.[1];
  expect(user(e.MONITOR_API_DATABASE_URL)).toBe('integration_monitor_api');
  expect(user(e.DATABASE_URL)).toBe('postgres');
});
