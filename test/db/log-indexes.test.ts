// Migration 012: the raw table's secondary indexes are ascending and without the trailing id, and
// the logs/failures lists still page newest first by (created_at, id) from them, reading about a
// page of index entries per partition rather than sorting the range.
import type { PoolClient, QueryConfig } from 'pg';
import { type Cursor, queryFailures, queryLogs } from '../../src/store/queries';
import { asRole, createTestDatabase, TestDatabase } from '../helpers/db';

const LEAD = '11111111-2222-4333-8444-555555555555';
const N = 12_000;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  // Three calls per timestamp (ties the cursor's id must break), in time order over ~3 weeks, as
  // the recorder writes them: 1,000 a statement.
  for (let b = 0; b < N / 1000; b++) {
    await db.pool.query(
      `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at, related_entity_type, related_entity_id)
       SELECT (ARRAY['amocrm','resend','whapi'])[1 + i % 3], 'sync', CASE WHEN i % 7 = 0 THEN 'failed' ELSE 'success' END, i % 900,
              timestamptz '2026-11-01' + (i / 3) * interval '8 minutes', CASE WHEN i % 5 = 0 THEN 'lead' END, CASE WHEN i % 5 = 0 THEN $1::uuid END
       FROM generate_series($2::int, $3::int) i ORDER BY i`,
      [LEAD, b * 1000, b * 1000 + 999],
    );
  }
  await db.pool.query('ANALYZE integration_logs');
});
afterAll(async () => {
  await db.drop();
});

test('the four secondary indexes are ascending, without the id', async () => {
  const { rows } = await db.pool.query(
    `SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE i.indrelid = 'integration_logs'::regclass AND c.relname IN ('idx_integration_logs_created_at', 'idx_integration_logs_service_name', 'idx_integration_logs_entity', 'idx_integration_logs_failed')
     ORDER BY 1`,
  );
  expect(rows.map((r) => [r.relname, r.def.replace(/^.* USING btree /, '')])).toEqual([
    ['idx_integration_logs_created_at', '(created_at)'],
    ['idx_integration_logs_entity', '(related_entity_type, related_entity_id, created_at) WHERE (related_entity_id IS NOT NULL)'],
    ['idx_integration_logs_failed', "(created_at) WHERE (status = 'failed'::text)"],
    ['idx_integration_logs_service_name', '(service_name, created_at)'],
  ]);
});

type Page = (c: PoolClient, before?: Cursor) => Promise<{ rows: { id: string; created_at: string }[]; next: Cursor | null }>;
const LIMIT = 50;
const lists: [string, Page, string][] = [
  ['all logs', (c, before) => queryLogs(c, { limit: LIMIT, before, filters: {} }), 'true'],
  ['one service', (c, before) => queryLogs(c, { limit: LIMIT, before, filters: { services: ['whapi'] } }), "service_name = 'whapi'"],
  ['failures', (c, before) => queryFailures(c, { limit: LIMIT, before, filters: {} }), "status = 'failed'"],
  ['an entity', (c, before) => queryLogs(c, { limit: LIMIT, before, filters: {}, entityType: 'lead', entityId: LEAD }), `related_entity_id = '${LEAD}'`],
];

describe.each(lists)('%s, newest first', (_name, page, where) => {
  it('pages through every row in (created_at, id) order, ties broken by id', async () => {
    const want = (await db.pool.query(`SELECT id FROM integration_logs WHERE ${where} ORDER BY created_at DESC, id DESC`)).rows.map((r) => r.id);
    const got: string[] = [];
    await asRole(db.pool, 'authenticated', async (c) => {
      let before: Cursor | undefined;
      for (;;) {
        const p = await page(c, before);
        got.push(...p.rows.map((r) => r.id));
        if (!p.next) break;
        before = p.next;
      }
    });
    expect(want.length).toBeGreaterThan(LIMIT * 3);
    expect(got).toEqual(want);
  });

  it('a page deep in the list reads about a page of index entries per partition, not the range', async () => {
    await asRole(db.pool, 'authenticated', async (c) => {
      let before: Cursor | undefined;
      for (let i = 0; i < 5; i++) before = (await page(c, before)).next ?? undefined;
      // The query the API sends is a named prepared statement; explain that very statement.
      let sent: QueryConfig | undefined;
      const query = c.query.bind(c) as (q: unknown) => Promise<unknown>;
      (c as unknown as { query: (q: unknown) => Promise<unknown> }).query = (q: unknown) => {
        sent = q as QueryConfig;
        return query(q);
      };
      await page(c, before);
      (c as unknown as { query: unknown }).query = query;
      const args = (sent!.values ?? []).map((v) => (v instanceof Date ? `'${v.toISOString()}'` : Array.isArray(v) ? `'{${v.join(',')}}'` : `'${String(v)}'`));
      const plan = (await c.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE ${sent!.name}(${args.join(', ')})`)).rows[0]['QUERY PLAN'][0].Plan;
      const scanned: number[] = [];
      const walk = (n: { 'Node Type': string; 'Actual Rows': number; 'Rows Removed by Filter'?: number; Plans?: unknown[] }) => {
        if (/Scan/.test(n['Node Type'])) scanned.push(n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0));
        for (const k of n.Plans ?? []) walk(k as typeof n);
      };
      walk(plan);
      expect(JSON.stringify(plan)).not.toMatch(/"Seq Scan"/);
      // at most a few pages' worth of entries in all (the filtered lists skip the other services' rows)
      expect(scanned.reduce((s, x) => s + x, 0)).toBeLessThan(LIMIT * 12);
    });
  });
});
