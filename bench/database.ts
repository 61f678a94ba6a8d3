/** Bench databases: a server to run on, and fresh migrated databases on it. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbedded } from '../src/db/embedded';
import { migrate } from '../src/db/migrate';

export async function admin(url: string, sql: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Runs fn against DATABASE_URL's server, or else an embedded one started (and removed) for it. */
export async function withBenchServer<T>(fn: (serverUrl: string) => Promise<T>): Promise<T> {
  if (process.env.DATABASE_URL) return fn(process.env.DATABASE_URL);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-bench-pg-'));
  fs.chmodSync(dir, 0o777);
  const db = await startEmbedded(path.join(dir, 'data'), { quiet: true });
  try {
    return await fn(db.url);
  } finally {
    await db.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs fn on a freshly migrated database `name` of the server, dropped afterwards. */
export async function withFreshDatabase<T>(server: string, name: string, fn: (url: string) => Promise<T>): Promise<T> {
  await admin(server, `DROP DATABASE IF EXISTS ${name}`);
  await admin(server, `CREATE DATABASE ${name}`);
  try {
    const url = withDatabase(server, name);
    await migrate(url);
    return await fn(url);
  } finally {
    await admin(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  }
}
