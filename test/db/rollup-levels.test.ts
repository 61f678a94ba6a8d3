/**
 * The level table (integration_rollup_levels, repeatable/04_rollup_triggers.sql) drives the
 * triggers and retention: these tests hold it to the schema (every table the triggers keep, once,
 * with the columns its row says), the generated INSERT trigger to it (every level, in write order,
 * as static statements), and retention to it (every bucketed level trimmed). Exactness of what the
 * levels hold after every kind of write is rollups.test.ts's and zone-hours.test.ts's.
 */
import { createTestDatabase, TestDatabase } from '../helpers/db';

let db: TestDatabase;

interface Level {
  write_order: number;
  tbl: string;
  kind: string;
  unit: string | null;
  zoned: boolean;
}

let levels: Level[];

beforeAll(async () => {
  db = await createTestDatabase();
  levels = (await db.pool.query<Level>('SELECT * FROM integration_rollup_levels()')).rows;
});
afterAll(async () => {
  await db.drop();
});

test('lists every table the triggers keep, once, in write order, with the columns its row says', async () => {
  const { rows: tables } = await db.pool.query<{ relname: string; cols: string[] }>(
    `SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum) AS cols
     FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
       AND (c.relname LIKE 'integration\\_rollup\\_%' OR c.relname LIKE 'integration\\_latency\\_hist\\_%' OR c.relname = 'integration_service_actions')
     GROUP BY c.relname ORDER BY c.relname`,
  );
  expect(levels.map((l) => l.tbl).sort()).toEqual(tables.map((t) => t.relname));
  expect(levels.map((l) => l.write_order)).toEqual(levels.map((_, i) => i + 1));
  for (const l of levels) {
    const cols = tables.find((t) => t.relname === l.tbl)!.cols;
    expect([l.tbl, cols.includes('bucket'), cols.includes('zone'), cols.includes('action'), cols.includes('bins')]).toEqual([
      l.tbl,
      l.unit !== null,
      l.zoned,
      !l.kind.startsWith('service'),
      l.kind.endsWith('hist'),
    ]);
  }
});

test('the INSERT trigger is generated from it: every level written, in write order, by static statements', async () => {
  const { rows } = await db.pool.query<{ def: string }>(`SELECT pg_get_functiondef('integration_rollup_on_insert()'::regprocedure) AS def`);
  const def = rows[0].def;
  const written = [...def.matchAll(/INSERT INTO (\w+)/g)].map((m) => m[1]);
  expect(written).toEqual(levels.map((l) => l.tbl));
  expect(def).not.toMatch(/\bEXECUTE\b/);
  // the one INSERT trigger of the rollups (the slowest calls keep their own, 16_slowest_calls.sql)
  const { rows: triggers } = await db.pool.query<{ tgname: string }>(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'integration_logs'::regclass AND NOT tgisinternal AND tgtype & 4 <> 0 ORDER BY 1`);
  expect(triggers.map((t) => t.tgname)).toEqual(['integration_logs_rollup_insert', 'integration_logs_slowest_insert']);
});

test('retention trims every bucketed level, minutes by their own cutoff', async () => {
  await db.pool.query(`SELECT integration_add_day_zone('Asia/Kolkata')`); // a :30 zone: zone days and zone hours
  await db.pool.query(
    `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at)
     VALUES ('resend', 'send_email', 'success', 120, now() - interval '450 days'),
            ('resend', 'send_email', 'failed', 900, now() - interval '450 days 7 hours'),
            ('amocrm', 'sync_lead', 'success', 40, now() - interval '5 minutes')`,
  );
  const bucketed = levels.filter((l) => l.unit !== null);
  // older than each level's cutoff: 400 days (a day's slack for the cutoff's rounding), minutes 1 minute
  const old = async () => {
    const out: Array<[string, number]> = [];
    for (const l of bucketed) {
      const before = l.unit === 'minute' ? "now() - interval '2 minutes'" : "now() - interval '401 days'";
      const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${l.tbl} WHERE bucket < ${before}`);
      out.push([l.tbl, rows[0].n]);
    }
    return out;
  };
  const before = await old();
  expect(before.filter(([, n]) => n === 0)).toEqual([]);
  await db.pool.query(`SELECT cleanup_integration_rollups('400 days', '1 minute')`);
  expect(await old()).toEqual(bucketed.map((l) => [l.tbl, 0]));
  // the recent call's hour is kept
  const { rows: kept } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM integration_rollup_hour WHERE bucket >= now() - interval '2 hours'`);
  expect(kept[0].n).toBe(1);
});

test('the range readers read every bucketed level and no table outside the list', async () => {
  // They name their tables in static SQL (cached plans), so this is what ties them to the list: a
  // level added without a reader, or a reader of a table the triggers do not keep, fails here.
  const readers = ['integration_range_agg', 'integration_range_agg_service', 'integration_hist_range', 'integration_hist_range_service'];
  const { rows } = await db.pool.query<{ name: string; def: string }>(
    `SELECT p.proname AS name, pg_get_functiondef(p.oid) AS def FROM pg_proc p
     WHERE p.pronamespace = current_schema()::regnamespace AND p.proname = ANY ($1) AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')`,
    [readers],
  );
  expect(rows.map((r) => r.name).sort()).toEqual([...readers].sort());
  const read = new Set(rows.flatMap((r) => [...r.def.matchAll(/\b(integration_(?:rollup|latency_hist)_\w+)/g)].map((m) => m[1])));
  const bucketed = levels.filter((l) => l.unit !== null).map((l) => l.tbl);
  expect([...read].sort()).toEqual([...bucketed].sort());
});
