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
