import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { freePort } from '../../src/db/free-port';

// The CLI as a user runs it: the built launcher (npm test builds lib/ first).
const BIN = path.resolve(__dirname, '../../bin/integration-monitor.js');

function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('integration-monitor CLI', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
  });
  afterAll(() => db.drop());

  it('migrate applies every migration, then is a no-op', () => {
    const first = cli(['migrate'], { DATABASE_URL: db.url });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^applied 001_/m);
    const second = cli(['migrate'], { DATABASE_URL: db.url });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^up to date \(\d+ migrations\)$/m);
  });

  it('doctor passes on a migrated database as the least-privileged API role, and flags the superuser', () => {
    const r = cli(['doctor'], { DATABASE_URL: db.apiUrl });
    expect(r.stdout).not.toContain('✘');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^✔ API role \S+ is least-privileged/m);
    const su = cli(['doctor'], { DATABASE_URL: db.url });
    expect(su.code).toBe(1);
    expect(su.stdout).toMatch(/^✘ API role \S+ is least-privileged +superuser/m);
  });

  it.each(['migrate', 'doctor'])('%s against an unreachable server: one clear line, exit 2', async (command) => {
    const port = await freePort();
    const r = cli([command], { DATABASE_URL: `postgres://u:secret-pw@127.0.0.1:${port}/nowhere` });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`127.0.0.1:${port}/nowhere`);
    expect(lines[0]).toContain('ECONNREFUSED');
    expect(r.stderr).not.toContain('secret-pw');
  });

  it('start with a MONITOR_TIMEZONE that is no IANA zone: one clear line, before the database is touched', async () => {
    const port = await freePort(); // nothing listens there: reaching for the database would fail differently
    const r = cli(['start'], { DATABASE_URL: `postgres://u:pw@127.0.0.1:${port}/nowhere`, MONITOR_JWT_SECRET: 'x'.repeat(32), MONITOR_TIMEZONE: 'Almaty', PORT: '0' });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual(['integration-monitor start: MONITOR_TIMEZONE must be an IANA time zone name such as UTC or Asia/Almaty, got "Almaty"']);
  });

  it('migrate against a database that does not exist: exit 2, nothing created', () => {
    const url = new URL(db.url);
    url.pathname = '/intmon_no_such_database';
    const r = cli(['migrate'], { DATABASE_URL: url.toString() });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('intmon_no_such_database');
  });

  it('token prints a token the API accepts for the role asked, signed with MONITOR_JWT_SECRET', async () => {
    const secret = 'x'.repeat(40);
    const r = cli(['token', 'service_role', '1h'], { MONITOR_JWT_SECRET: secret });
    expect(r.code).toBe(0);
    const { jwtVerify } = await import('jose');
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(secret));
    expect(payload.role).toBe('service_role');
    expect(payload.exp! - payload.iat!).toBe(3600);
    const bad = cli(['token', 'postgres'], { MONITOR_JWT_SECRET: secret });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('role must be one of anon, authenticated, service_role');
  });

  it('token refuses a lifetime over MONITOR_JWT_MAX_TTL, and signs with the configured issuer and audience', async () => {
    const secret = 'x'.repeat(40);
    const over = cli(['token', 'authenticated', '400d'], { MONITOR_JWT_SECRET: secret });
    expect(over.code).toBe(2);
    expect(over.stderr).toContain('at most MONITOR_JWT_MAX_TTL');
    const capped = cli(['token', 'authenticated', '2h'], { MONITOR_JWT_SECRET: secret, MONITOR_JWT_MAX_TTL: '1h' });
    expect(capped.code).toBe(2);
    const r = cli(['token'], { MONITOR_JWT_SECRET: secret, MONITOR_JWT_ISSUER: 'https://auth.example', MONITOR_JWT_AUDIENCE: 'intmon' });
    expect(r.code).toBe(0);
    const { jwtVerify } = await import('jose');
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(secret), { issuer: 'https://auth.example', audience: 'intmon' });
    expect(payload.exp! - payload.iat!).toBe(365 * 86_400);
  });

  it('serve without DATABASE_URL: one line saying what to do, exit 2', () => {
    const r = cli(['serve'], { DATABASE_URL: '', MONITOR_JWT_SECRET: 'x'.repeat(40) });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^integration-monitor serve: serve needs DATABASE_URL/)]);
  });

  (process.getuid?.() === 0 ? it : it.skip)('start with a cluster the postgres OS user cannot reach: one clear line, no stack trace', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-hidden-'));
    try {
      fs.mkdirSync(path.join(dir, 'data', 'postgres'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'data', 'postgres', 'PG_VERSION'), '17\n');
      const r = cli(['start'], { DATABASE_URL: '', MONITOR_DATA_DIR: path.join(dir, 'data'), PORT: '0' });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^integration-monitor start: the postgres OS user cannot enter .* chmod o\+x/)]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unknown command prints usage and exits 2', () => {
    const r = cli(['frobnicate'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('usage: integration-monitor');
  });
});
