import crypto from 'node:crypto';
import { Client, Pool, PoolClient } from 'pg';
import { readTestEnv, urlForDatabase } from '../setup/test-env';

export interface TestDatabase {
  name: string;
  /** Superuser URL of this database (the role migrations run as). */
  url: string;
  /** Superuser pool on this database. */
  pool: Pool;
  /** This database as the API's least-privileged login (NOINHERIT, granted anon/authenticated/service_role). */
  apiUrl: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: readTestEnv().adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * A database of its own for one test file: a clone of the migrated template, or empty
 * (`migrated: false`) for tests of the migrator itself.
 */
export async function createTestDatabase(opts: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const env = readTestEnv();
  const name = `intmon_t_${process.env.JEST_RUN_ID ?? 'x'}_${crypto.randomBytes(4).toString('hex')}`;
  const template = opts.migrated === false ? 'template0' : env.templateDb;
  await admin(async (c) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
        return;
      } catch (err) {
        // Two files cloning the template at the same instant: one waits and tries again.
        if (attempt < 20 && /being accessed by other users/.test((err as Error).message)) {
          await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
          continue;
        }
        throw err;
      }
    }
  });
  const url = urlForDatabase(env.adminUrl, name);
  const pool = new Pool({ connectionString: url, max: 10 });
  const api = new URL(url);
  api.username = env.apiRole;
  api.password = env.apiPassword;
  return {
    name,
    url,
    pool,
    apiUrl: api.toString(),
    async drop() {
      await pool.end();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/**
 * Runs `fn` in a transaction as `role` with Supabase-style JWT claims set, the way the API does,
 * and rolls back unless `commit` is true.
 */
export async function asRole<T>(pool: Pool, role: string, fn: (c: PoolClient) => Promise<T>, commit = false): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify({ role })]);
    await c.query(`SET LOCAL ROLE ${role}`);
    const out = await fn(c);
    await c.query(commit ? 'COMMIT' : 'ROLLBACK');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}
