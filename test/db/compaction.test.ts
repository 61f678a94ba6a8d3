import type { PoolClient } from 'pg';
import { queryFailures, queryLog, queryLogs } from '../../src/store/queries';
import { asRole, createTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * integration_compact_partitions (repeatable/15_compaction.sql): closed weeks' B-tree indexes
 * rebuilt once with fillfactor 100; the open week, non-B-tree indexes and busy partitions left alone.
 */
interface IndexState {
  partition: string;
  index: string;
  am: string;
  bytes: number;
  filenode: string;
  options: string[] | null;
}

const ROWS_PER_WEEK = 5000;
let db: TestDatabase;
/** The three closed weeks' partitions (oldest first) and the current week's. */
let closed: string[];
let open: string;
let brin: string;

async function indexes(): Promise<IndexState[]> {
  const { rows } = await db.pool.query(`
    SELECT t.relname AS partition, ic.relname AS index, am.amname AS am, pg_relation_size(ic.oid)::int AS bytes,
           ic.relfilenode::text AS filenode, ic.reloptions AS options
    FROM pg_inherits i
    JOIN pg_class t ON t.oid = i.inhrelid
    JOIN pg_index x ON x.indrelid = t.oid
    JOIN pg_class ic ON ic.oid = x.indexrelid
    JOIN pg_am am ON am.oid = ic.relam
    WHERE i.inhparent = 'integration_logs'::regclass
    ORDER BY 1, 2`);
  return rows;
}

const compact = async (minAge = '0 seconds', maxPartitions: number | null = null) =>
  (await db.pool.query(`SELECT index_name, bytes_before::int, bytes_after::int FROM integration_compact_partitions($1::interval, $2::integer)`, [minAge, maxPartitions])).rows as Array<{
    index_name: string;
    bytes_before: number;
    bytes_after: number | null;
  }>;

/** The app's list reads and a slowest-calls read, through the indexes (sequential scans off). */
async function reads(): Promise<unknown> {
  const c = await db.pool.connect();
  try {
    await c.query('SET enable_seqscan = off');
    const page = (p: Promise<{ rows: Array<{ id: string }> }>) => p.then((r) => r.rows.map((x) => x.id));
    const one = await c.query(`SELECT id::text, related_entity_id::text AS entity FROM integration_logs WHERE related_entity_id IS NOT NULL ORDER BY created_at LIMIT 1`);
    const slowest = await c.query(
      `SELECT id::text FROM integration_logs WHERE service_name = 's1' AND action = 'a2' AND created_at >= now() - interval '30 days' ORDER BY duration_ms DESC, created_at DESC LIMIT 50`,
    );
    return {
      all: await page(queryLogs(c, { limit: 1000, filters: {} })),
      service: await page(queryLogs(c, { limit: 1000, filters: { services: ['s2'] } })),
      entity: await page(queryLogs(c, { limit: 100, filters: {}, entityType: 'lead', entityId: one.rows[0].entity })),
      failed: await page(queryFailures(c, { limit: 1000, filters: {} })),
      log: (await queryLog(c, one.rows[0].id))?.id,
      slowest: slowest.rows.map((r) => r.id),
      count: (await c.query('SELECT count(*)::int AS n FROM integration_logs')).rows[0].n,
    };
  } finally {
    c.release();
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  const { rows } = await db.pool.query(`SELECT integration_week_start(now()) AS w`);
  const week: Date = rows[0].w;
  await db.pool.query(`SELECT count(*) FROM integration_ensure_log_partitions_between($1::timestamptz - interval '21 days', $1::timestamptz)`, [week]);
  const names = await db.pool.query(`SELECT integration_log_partition_name($1::timestamptz - make_interval(days => d)) AS n FROM unnest(ARRAY[21, 14, 7, 0]) d`, [week]);
  [closed, open] = [names.rows.slice(0, 3).map((r) => r.n), names.rows[3].n];
  // Newest first, so that B-tree pages split in halves and stay about half full; the current week
  // up to now only (its rows are in the past like any recorded call).
  for (const [from, to] of [
    [`$1::timestamptz - interval '21 days'`, `$1::timestamptz - interval '14 days'`],
    [`$1::timestamptz - interval '14 days'`, `$1::timestamptz - interval '7 days'`],
    [`$1::timestamptz - interval '7 days'`, `$1::timestamptz`],
    [`$1::timestamptz`, `greatest(now(), $1::timestamptz + interval '1 minute')`],
  ]) {
    await db.pool.query(
      `INSERT INTO integration_logs (service_name, action, status, duration_ms, related_entity_type, related_entity_id, created_at)
       SELECT 's' || g % 3, 'a' || g % 4, CASE WHEN g % 3 = 0 THEN 'failed' ELSE 'success' END, (g * 7919) % 5000,
              CASE WHEN g % 2 = 0 THEN 'lead' END, CASE WHEN g % 2 = 0 THEN gen_random_uuid() END,
              (${from}) + ((${to}) - (${from})) * g / (${ROWS_PER_WEEK} + 1)
       FROM generate_series(${ROWS_PER_WEEK}, 1, -1) g`,
      [week],
    );
  }
  // Another access method on a closed week (a BRIN, as another change may make the created_at index).
  brin = `${closed[0]}_brin`;
  await db.pool.query(`CREATE INDEX ${brin} ON ${closed[0]} USING brin (created_at)`);
  await db.pool.query('ANALYZE integration_logs');
});

afterAll(async () => {
  await db.drop();
});

describe('integration_compact_partitions', () => {
  let before: IndexState[];
  let readsBefore: unknown;

  test('a week that ended less than p_min_age ago is not closed yet: nothing is compacted', async () => {
    before = await indexes();
    readsBefore = await reads();
    expect(await compact('30 days')).toEqual([]);
    expect(await indexes()).toEqual(before);
  });

  test('a partition a writer holds is skipped without waiting; the next closed week is compacted, smaller; p_max_partitions => 1 stops there', async () => {
    const writer: PoolClient = await db.pool.connect();
    try {
      // A late row for the older closed week, not committed yet: its partition is busy.
      await writer.query('BEGIN');
      await writer.query(
        `INSERT INTO integration_logs (service_name, action, status, created_at) SELECT 'late', 'x', 'success', lo + interval '1 hour' FROM integration_log_partitions() WHERE partition_name = $1`,
        [closed[0]],
      );
      const t = Date.now();
      const out = await compact('0 seconds', 1); // a skipped partition does not count: closed[1] is the one
      expect(Date.now() - t).toBeLessThan(10_000); // lock_timeout is 200 ms per index: skipped, not waited on

      const busy = before.filter((i) => i.partition === closed[0] && i.am === 'btree').map((i) => i.index);
      const done = before.filter((i) => i.partition === closed[1] && i.am === 'btree').map((i) => i.index);
      expect(done.length).toBeGreaterThanOrEqual(4); // pkey, service_name, entity, failed (created_at is a BRIN; 019 dropped slowest)
      expect(out.map((r) => r.index_name).sort()).toEqual([...busy, ...done].sort());
      expect(
        out
          .filter((r) => r.bytes_after === null)
          .map((r) => r.index_name)
          .sort(),
      ).toEqual([...busy].sort());

      const after = await indexes();
      for (const i of after) {
        const was = before.find((b) => b.index === i.index)!;
        if (done.includes(i.index)) {
          expect(i.options).toEqual(['fillfactor=100']);
          expect(i.filenode).not.toBe(was.filenode);
          expect(i.bytes).toBeLessThanOrEqual(was.bytes);
          expect(out.find((r) => r.index_name === i.index)).toEqual({ index_name: i.index, bytes_before: was.bytes, bytes_after: i.bytes });
        } else {
          expect(i).toEqual(was); // the busy week, the week after the limit, the open week, the BRIN: untouched
        }
      }
      // Half-full pages packed full: the indexes over every row shrink by a fifth at least.
      for (const name of done.filter((n) => !/_(failed|entity)/.test(n))) {
        const r = out.find((o) => o.index_name === name)!;
        expect(r.bytes_after!).toBeLessThan(r.bytes_before * 0.8);
      }
    } finally {
      await writer.query('ROLLBACK');
      writer.release();
    }
  });

  test('the next run compacts the week that was busy and the one past the limit, the one after compacts nothing', async () => {
    const out = await compact();
    expect(out.map((r) => r.index_name).sort()).toEqual(
      before
        .filter((i) => (i.partition === closed[0] || i.partition === closed[2]) && i.am === 'btree')
        .map((i) => i.index)
        .sort(),
    );
    expect(out.every((r) => r.bytes_after !== null && r.bytes_after <= r.bytes_before)).toBe(true);
    expect(await compact()).toEqual([]);

    const after = await indexes();
    for (const i of after) {
      const closedBtree = closed.includes(i.partition) && i.am === 'btree';
      // anything else keeps the options it had (none, or a BRIN's own, as 018's created_at index)
      const was = before.find((b) => b.index === i.index)?.options ?? null;
      expect([i.index, i.options]).toEqual([i.index, closedBtree ? ['fillfactor=100'] : was]);
    }
    expect(after.filter((i) => i.partition === open || i.index === brin)).toEqual(before.filter((i) => i.partition === open || i.index === brin));
  });

  test('lists and reads return the same rows as before', async () => {
    expect(await reads()).toEqual(readsBefore);
  });

  test('only service_role (and the owner) may run it', async () => {
    for (const role of ['anon', 'authenticated', 'integration_monitor_reader']) {
      await expect(asRole(db.pool, role, (c) => c.query(`SELECT * FROM integration_compact_partitions()`))).rejects.toMatchObject({ code: '42501' });
    }
    const { rows } = await asRole(db.pool, 'service_role', (c) => c.query(`SELECT count(*)::int AS n FROM integration_compact_partitions()`));
    expect(rows[0].n).toBe(0); // all done already
    await expect(db.pool.query(`SELECT * FROM integration_compact_partitions('-1 day')`)).rejects.toMatchObject({ code: '22023' });
    await expect(db.pool.query(`SELECT * FROM integration_compact_partitions(p_max_partitions => 0)`)).rejects.toMatchObject({ code: '22023' });
  });
});
