/**
 * src/store/sql-functions.json is what a freshly migrated database says: regenerated here from the
 * test run's migrated template, it must equal the checked-in file, or the test names the command
 * that rewrites it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readSqlSignatures, renderSqlSignatures, SQL_SIGNATURES_COMMAND, SQL_SIGNATURES_FILE, type SqlFunction } from '../../src/store/sql-signatures';
import { createTestDatabase, TestDatabase } from '../helpers/db';

const ROOT = path.resolve(__dirname, '../..');
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** What differs between two lists, one line per function, for the failure message. */
function differences(checkedIn: SqlFunction[], migrated: SqlFunction[]): string[] {
  const bySig = (xs: SqlFunction[]) => new Map(xs.map((f) => [f.signature, JSON.stringify(f)]));
  const a = bySig(checkedIn);
  const b = bySig(migrated);
  const out: string[] = [];
  for (const [sig, text] of b) {
    if (!a.has(sig)) out.push(`+ ${sig}`);
    else if (a.get(sig) !== text) out.push(`~ ${sig}`);
  }
  for (const sig of a.keys()) if (!b.has(sig)) out.push(`- ${sig}`);
  return out;
}

test('the checked-in list of SQL functions is the migrated database’s', async () => {
  const c = await db.pool.connect();
  let migrated: SqlFunction[];
  try {
    migrated = await readSqlSignatures(c);
  } finally {
    c.release();
  }
  const text = fs.readFileSync(path.join(ROOT, SQL_SIGNATURES_FILE), 'utf8');
  if (text !== renderSqlSignatures(migrated)) {
    const diff = differences(JSON.parse(text) as SqlFunction[], migrated);
    throw new Error(`${SQL_SIGNATURES_FILE} is out of date (${diff.length ? diff.join(', ') : 'formatting'}): run \`${SQL_SIGNATURES_COMMAND}\` and commit the file`);
  }
  // The list is not vacuous: the readers every consumer calls are in it, and no trigger function is.
  const names = new Set(migrated.map((f) => f.name));
  for (const reader of ['integration_range_agg', 'integration_hist_percentile_series_service_zone', 'integration_known_services']) expect(names.has(reader)).toBe(true);
  expect(names.has('integration_rollup_on_insert')).toBe(false);
});

test('arguments carry their names, types and defaults; roles their EXECUTE right', async () => {
  const c = await db.pool.connect();
  try {
    const fns = await readSqlSignatures(c);
    const agg = fns.find((f) => f.name === 'integration_range_agg');
    expect(agg).toEqual({
      name: 'integration_range_agg',
      signature: 'integration_range_agg(timestamp with time zone,timestamp with time zone,interval,text)',
      arguments: [
        { name: 'p_from', type: 'timestamp with time zone', default: null },
        { name: 'p_to', type: 'timestamp with time zone', default: null },
        { name: 'p_width', type: 'interval', default: 'NULL::interval' },
        { name: 'p_zone', type: 'text', default: "'UTC'::text" },
      ],
      result: expect.stringMatching(/^TABLE\(bucket timestamp with time zone, service_name text, /),
      executableBy: ['authenticated', 'integration_monitor_reader', 'service_role'],
    });
    // An internal helper: in the list, but no reader may call it.
    expect(fns.find((f) => f.name === 'integration_minute_kept_from')?.executableBy).toEqual([]);
    // A function made after migrating shows up (the list is read, not remembered).
    await c.query('BEGIN');
    await c.query('CREATE FUNCTION integration_probe(a int, VARIADIC b text[]) RETURNS int LANGUAGE sql AS $$ SELECT a $$');
    const probe = (await readSqlSignatures(c)).find((f) => f.name === 'integration_probe');
    await c.query('ROLLBACK');
    expect(probe?.arguments).toEqual([
      { name: 'a', type: 'integer', default: null },
      { name: 'b', type: 'text[]', default: null, variadic: true },
    ]);
  } finally {
    c.release();
  }
});
