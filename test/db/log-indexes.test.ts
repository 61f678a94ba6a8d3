// Migrations 012 and 018: the raw table's secondary B-trees are ascending and without the trailing
// id, created_at alone has a BRIN, the entity index no created_at; the logs/failures lists still
// page newest first by (created_at, id), reading about a page of index entries per partition and
// service (an entity's list: that entity's rows) rather than sorting the range.
import type { PoolClient, QueryConfig } from 'pg';
import { type Cursor, queryFailures, queryLogs } from '../../src/store/queries';
import { asRole, createTestDatabase, TestDatabase } from '../helpers/db';

const LEAD = '11111111-2222-4333-8444-555555555555';
const N = 36_000;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  // Three calls per timestamp (ties the cursor's id must break), in time order over ~3 weeks, as
  // the recorder writes them: 1,000 a statement. A fifth are about a lead: one lead in thirty of those
  // is LEAD (240 calls, under 1 % as an entity's share is), the others each their own.
  for (let b = 0; b < N / 1000; b++) {
    await db.pool.query(
      `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at, related_entity_type, related_entity_id)
       SELECT (ARRAY['amocrm','resend','whapi'])[1 + i % 3], 'sync', CASE WHEN i % 7 = 0 THEN 'failed' ELSE 'success' END, i % 900,
              timestamptz '2026-11-01' + (i / 3) * interval '8 minutes', CASE WHEN i % 5 = 0 THEN 'lead' END,
              CASE WHEN i % 150 = 0 THEN $1::uuid WHEN i % 5 = 0 THEN md5(i::text)::uuid END
       FROM generate_series($2::int, $3::int) i ORDER BY i`,
      [LEAD, b * 1000, b * 1000 + 999],
    );
  }
  await db.pool.query('ANALYZE integration_logs');
});
afterAll(async () => {
  await db.drop();
});

test('the secondary indexes: ascending B-trees without the id; created_at a BRIN per week, a B-tree on the default partition', async () => {
  const { rows } = await db.pool.query(
    `SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE i.indrelid = 'integration_logs'::regclass AND c.relname IN ('idx_integration_logs_created_at', 'idx_integration_logs_service_name', 'idx_integration_logs_entity', 'idx_integration_logs_failed')
     ORDER BY 1`,
  );
  expect(rows.map((r) => [r.relname, r.def.replace(/^.* ON ONLY public\.integration_logs USING /, '')])).toEqual([
    ['idx_integration_logs_entity', 'btree (related_entity_type, related_entity_id) WHERE (related_entity_id IS NOT NULL)'],
    ['idx_integration_logs_failed', "btree (created_at) WHERE (status = 'failed'::text)"],
    ['idx_integration_logs_service_name', 'btree (service_name, created_at)'],
  ]);
  // every partition's own created_at index (the weeks this fixture made, and the default partition)
  const own = await db.pool.query(
    `SELECT t.relname AS partition, pg_get_indexdef(i.indexrelid) AS def
     FROM pg_inherits h JOIN pg_class t ON t.oid = h.inhrelid JOIN pg_index i ON i.indrelid = t.oid
     WHERE h.inhparent = 'integration_logs'::regclass AND NOT EXISTS (SELECT 1 FROM pg_inherits ih WHERE ih.inhrelid = i.indexrelid)
     ORDER BY 1`,
  );
  const weeks = own.rows.filter((r) => r.partition !== 'integration_logs_default');
  expect(weeks.length).toBeGreaterThanOrEqual(3);
  for (const r of weeks) expect(r.def).toBe(`CREATE INDEX ${r.partition}_created_at_brin ON public.${r.partition} USING brin (created_at) WITH (pages_per_range='32', autosummarize='on')`);
  expect(own.rows.filter((r) => r.partition === 'integration_logs_default').map((r) => r.def)).toEqual([
    'CREATE INDEX integration_logs_default_created_at ON public.integration_logs_default USING btree (created_at)',
  ]);
});

type Page = (c: PoolClient, before?: Cursor) => Promise<{ rows: { id: string; created_at: string }[]; next: Cursor | null }>;
const LIMIT = 50;
// [name, page, the rows it lists, how many index entries a deep page may read at most]
const lists: [string, Page, string, number][] = [
  // three services, each a page from each partition at most
  ['all logs', (c, before) => queryLogs(c, { limit: LIMIT, before, filters: {} }), 'true', LIMIT * 12],
  ['two services', (c, before) => queryLogs(c, { limit: LIMIT, before, filters: { services: ['whapi', 'resend'] } }), "service_name IN ('whapi', 'resend')", LIMIT * 12],
  ['one service', (c, before) => queryLogs(c, { limit: LIMIT, before, filters: { services: ['whapi'] } }), "service_name = 'whapi'", LIMIT * 12],
  [
    'one service, failed only',
    (c, before) => queryLogs(c, { limit: LIMIT, before, filters: { services: ['whapi'], statuses: ['failed'] } }),
    "service_name = 'whapi' AND status = 'failed'",
    LIMIT * 12 * 7,
  ],
  ['failures', (c, before) => queryFailures(c, { limit: LIMIT, before, filters: {} }), "status = 'failed'", LIMIT * 12],
  // the entity's index entries and heap rows once each (deduplicated index, no created_at), no one else's
  ['an entity', (c, before) => queryLogs(c, { limit: LIMIT, before, filters: {}, entityType: 'lead', entityId: LEAD }), `related_entity_id = '${LEAD}'`, 2 * (N / 150)],
];

describe.each(lists)('%s, newest first', (_name, page, where, maxScanned) => {
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
      const seqScans: string[] = [];
      type Node = { 'Node Type': string; 'Relation Name'?: string; 'Actual Rows': number; 'Actual Loops': number; 'Rows Removed by Filter'?: number; Plans?: unknown[] };
      const walk = (n: Node) => {
        // per loop in EXPLAIN's figures: a scan inside the per-service lateral runs once per service
        if (/Scan/.test(n['Node Type'])) scanned.push((n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0)) * n['Actual Loops']);
        if (n['Node Type'] === 'Seq Scan') seqScans.push(n['Relation Name'] ?? '?');
        for (const k of n.Plans ?? []) walk(k as Node);
      };
      walk(plan);
      // the service list (a few rows) may be read whole; the calls never are
      expect(seqScans.filter((r) => r !== 'integration_service_actions')).toEqual([]);
      expect(scanned.reduce((s, x) => s + x, 0)).toBeLessThanOrEqual(maxScanned);
    });
  });
});
