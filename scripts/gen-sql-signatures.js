#!/usr/bin/env node
/**
 * `npm run gen:sql-signatures`: rewrites src/store/sql-functions.json, the list of the monitor's SQL
 * functions and their signatures (src/store/sql-signatures.ts), from a database migrated afresh.
 * Uses the server at DATABASE_URL when set (it needs CREATEDB; a throw-away database is made and
 * dropped), otherwise the embedded PostgreSQL in a temporary directory, as the tests do. Run it after
 * changing a function's arguments, result or grants; test/store/sql-signatures.test.ts fails until then.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Client } = require('pg');

const ROOT = path.join(__dirname, '..');
// The compiled server code (`npm run build:server`, which the npm script runs first).
const { startEmbedded } = require(path.join(ROOT, 'lib/src/db/embedded'));
const { migrate } = require(path.join(ROOT, 'lib/src/db/migrate'));
const { readSqlSignatures, renderSqlSignatures, SQL_SIGNATURES_FILE } = require(path.join(ROOT, 'lib/src/store/sql-signatures'));

const withDatabase = (url, name) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

async function main() {
  let embedded;
  let tmp;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-sig-'));
    fs.chmodSync(tmp, 0o777);
    embedded = await startEmbedded(path.join(tmp, 'data'), { quiet: true });
    adminUrl = embedded.url;
  }
  const name = `intmon_signatures_${process.pid}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      await migrate(withDatabase(adminUrl, name));
      const db = new Client({ connectionString: withDatabase(adminUrl, name) });
      await db.connect();
      try {
        const functions = await readSqlSignatures(db);
        fs.writeFileSync(path.join(ROOT, SQL_SIGNATURES_FILE), renderSqlSignatures(functions));
        process.stderr.write(`wrote ${SQL_SIGNATURES_FILE}: ${functions.length} functions\n`);
      } finally {
        await db.end();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
    if (embedded) await embedded.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
