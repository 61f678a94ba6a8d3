/**
 * The embedded runner's credentials: a generated superuser password kept 0600 beside the data, and
 * clusters made before that (superuser postgres/postgres) moved to a generated password on their
 * next start, after which the old well-known one no longer works.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbedded, SUPERUSER_PASSWORD_FILE } from '../../src/db/embedded';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-embedded-'));
  fs.chmodSync(dir, 0o755);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function canLogin(port: number, password: string): Promise<boolean> {
  const c = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

it('generates the superuser password (0600), and upgrades a cluster still on postgres/postgres', async () => {
  const data = path.join(dir, 'data');
  const db = await startEmbedded(data, { quiet: true, settings: { fsync: 'off' } });
  const file = path.join(dir, SUPERUSER_PASSWORD_FILE);
  const first = fs.readFileSync(file, 'utf8').trim();
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(first).toMatch(/^[A-Za-z0-9_-]{32}$/);
  expect(db.url).toContain(`:${first}@`);
  expect(await canLogin(db.port, 'postgres')).toBe(false);
  expect(await canLogin(db.port, first)).toBe(true);

  // Make it look like a cluster from before: the old password, no kept file.
  const c = new Client({ connectionString: db.url });
  await c.connect();
  await c.query(`ALTER ROLE postgres PASSWORD 'postgres'`);
  await c.end();
  await db.stop();
  fs.rmSync(file);

  const lines: string[] = [];
  const again = await startEmbedded(data, { quiet: true, settings: { fsync: 'off' }, log: (l) => lines.push(l) });
  try {
    const second = fs.readFileSync(file, 'utf8').trim();
    expect(second).not.toBe(first);
    expect(lines).toContain('postgres  superuser password changed from the old default to a generated one');
    expect(await canLogin(again.port, 'postgres')).toBe(false);
    expect(await canLogin(again.port, second)).toBe(true);
    // Only TCP on 127.0.0.1: no Unix socket file left for local users.
    const c2 = new Client({ connectionString: again.url });
    await c2.connect();
    const { rows } = await c2.query(`SELECT current_setting('unix_socket_directories') AS s, current_setting('listen_addresses') AS l`);
    await c2.end();
    expect(rows[0]).toEqual({ s: '', l: '127.0.0.1' });
  } finally {
    await again.stop();
  }
}, 120_000);

it("the server gets none of Node's secrets: /proc/<postmaster>/environ and COPY … FROM PROGRAM see only the allow-listed variables", async () => {
  const marker = 'env-secret-marker-0123456789abcdefghijklmnop';
  const saved = { secret: process.env.MONITOR_JWT_SECRET, other: process.env.SOME_APP_TOKEN, db: process.env.DATABASE_URL };
  process.env.MONITOR_JWT_SECRET = marker;
  process.env.SOME_APP_TOKEN = marker;
  process.env.DATABASE_URL = `postgres://u:${marker}@127.0.0.1/x`;
  let db: Awaited<ReturnType<typeof startEmbedded>> | undefined;
  try {
    db = await startEmbedded(path.join(dir, 'env-data'), { quiet: true, settings: { fsync: 'off' } });
    const environ = fs.readFileSync(`/proc/${db.pid()}/environ`, 'utf8').split('\0').filter(Boolean);
    expect(environ.join('\n')).not.toContain(marker);
    const names = environ.map((e) => e.slice(0, e.indexOf('=')));
    expect(names.filter((n) => !/^(PATH|LANG|LANGUAGE|LC_[A-Z]+|TZ|TZDIR|PGDATA|PG_GRANDPARENT_PID|PGLOCALEDIR|PGSYSCONFDIR)$/.test(n))).toEqual([]);
    // What a database superuser could read by running a program as the server.
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query('CREATE TEMP TABLE e (line text)');
      await c.query(`COPY e FROM PROGRAM 'env'`);
      const { rows } = await c.query<{ line: string }>('SELECT line FROM e');
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.map((r) => r.line).join('\n')).not.toContain(marker);
    } finally {
      await c.end();
    }
  } finally {
    await db?.stop();
    for (const [k, v] of [
      ['MONITOR_JWT_SECRET', saved.secret],
      ['SOME_APP_TOKEN', saved.other],
      ['DATABASE_URL', saved.db],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}, 60_000);
