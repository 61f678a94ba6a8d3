import fs from 'node:fs';
import { Client } from 'pg';
import type { EmbeddedDatabase } from '../../src/db/embedded';
import { readTestEnv, TEST_ENV_FILE } from './test-env';

export default async function globalTeardown(): Promise<void> {
  const embedded = (globalThis as Record<string, unknown>).__INTMON_EMBEDDED__ as { db: EmbeddedDatabase; dir: string } | undefined;
  if (embedded) {
    await embedded.db.stop();
    fs.rmSync(embedded.dir, { recursive: true, force: true });
  } else {
    // An external server outlives the run: leave it as we found it.
    const env = readTestEnv();
    const admin = new Client({ connectionString: env.adminUrl });
    await admin.connect();
    const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'intmon\\_%' AND datname LIKE $1", [`%${process.env.JEST_RUN_ID}%`]);
    for (const r of rows) await admin.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS ${env.apiRole}`);
    await admin.end();
  }
  fs.rmSync(TEST_ENV_FILE, { force: true });
}
