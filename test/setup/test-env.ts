import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What global setup hands to the test workers. */
export interface TestEnv {
  /** Superuser connection to the maintenance database of the test server. */
  adminUrl: string;
  /** A migrated database that each test file clones with CREATE DATABASE … TEMPLATE. */
  templateDb: string;
  /** The least-privileged login the API connects as in tests (src/db/api-role.ts), and its password. */
  apiRole: string;
  apiPassword: string;
}

export const TEST_ENV_FILE = path.join(os.tmpdir(), `intmon-test-env-${process.env.JEST_RUN_ID ?? 'default'}.json`);

export function readTestEnv(): TestEnv {
  return JSON.parse(fs.readFileSync(TEST_ENV_FILE, 'utf8')) as TestEnv;
}

/** Same server and credentials, another database. */
export function urlForDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
