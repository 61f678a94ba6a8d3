import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { asRole, createTestDatabase, TestDatabase } from '../helpers/db';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

const insert = (rows: Array<{ s: string; a: string; st: string; d?: number | null; at: string }>) =>
  db.pool.query(
    `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[])`,
    [rows.map((r) => r.s), rows.map((r) => r.a), rows.map((r) => r.st), rows.map((r) => r.d ?? null), rows.map((r) => r.at)],
  );

describe('integration_logs table', () => {
  test('has exactly the seed columns, types, nullability and defaults', async () => {
    const { rows } = await db.pool.query(
      `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
       WHERE table_name = 'integration_logs' AND table_schema = current_schema() ORDER BY ordinal_position`,
    );
    expect(rows.map((r) => [r.column_name, r.data_type, r.is_nullable, r.column_default])).toEqual([
      ['id', 'uuid', 'NO', 'gen_random_uuid()'],
      ['service_name', 'text', 'NO', null],
      ['action', 'text', 'NO', null],
      ['status', 'text', 'NO', null],
      ['related_entity_type', 'text', 'YES', null],
      ['related_entity_id', 'uuid', 'YES', null],
      ['request_payload', 'jsonb', 'YES', null],
      ['response_payload', 'jsonb', 'YES', null],
      ['error_message', 'text', 'YES', null],
      ['error_code', 'text', 'YES', null],
      ['duration_ms', 'integer', 'YES', null],
      ['retry_count', 'integer', 'YES', '0'],
      // NOT NULL: partition key, part of the primary key (the one documented deviation).
      ['created_at', 'timestamp with time zone', 'NO', 'now()'],
      ['updated_at', 'timestamp with time zone', 'YES', 'now()'],
    ]);
  });

  test('CHECK accepts the four statuses and rejects anything else', async () => {
    for (const st of ['success', 'failed', 'pending', 'retrying']) {
      await db.pool.query(`INSERT INTO integration_logs (service_name, action, status) VALUES ('t', 'check', $1)`, [st]);
    }
    await expect(db.pool.query(`INSERT INTO integration_logs (service_name, action, status) VALUES ('t', 'check', 'ok')`)).rejects.toMatchObject({
      code: '23514',
    });
  });

  test('accepts rows at any timestamp, years back or ahead', async () => {
    const stamps = ['1970-01-01T00:00:00Z', '1999-12-31T23:59:59.999999Z', '2150-06-01T12:00:00Z', new Date().toISOString()];
    for (const at of stamps) await insert([{ s: 'anytime', a: 'x', st: 'success', d: 1, at }]);
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM integration_logs WHERE service_name = 'anytime'`);
    expect(rows[0].n).toBe(stamps.length);
  });

  test('is partitioned by created_at with a default partition and days ahead', async () => {
    const { rows } = await db.pool.query(
      `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'integration_logs'::regclass`,
    );
    expect(rows.some((r) => r.bound === 'DEFAULT')).toBe(true);
    expect(rows.filter((r) => /^integration_logs_p\d{8}$/.test(r.relname)).length).toBeGreaterThanOrEqual(2);
    // Every day of the coming week is covered by some partition.
    const gaps = await db.pool.query(
      `SELECT d FROM generate_series(integration_day_start(now()), integration_day_start(now()) + interval '7 days', interval '1 day') d
       WHERE NOT EXISTS (SELECT 1 FROM integration_log_partitions() p WHERE p.lo <= d AND p.hi > d)`,
    );
    expect(gaps.rows).toEqual([]);
  });

  test('ensure_integration_log_partitions creates whole weeks where nothing overlaps, without gaps or overlaps', async () => {
    await db.pool.query(`SELECT count(*) FROM ensure_integration_log_partitions(0, 60)`);
    const { rows } = await db.pool.query(`SELECT lo, hi, hi - lo AS width FROM integration_log_partitions() ORDER BY lo`);
    expect(rows.some((r) => r.width.days === 7)).toBe(true);
    for (let i = 1; i < rows.length; i++) expect(rows[i].lo.getTime()).toBeGreaterThanOrEqual(rows[i - 1].hi.getTime());
    const gaps = await db.pool.query(
      `SELECT d FROM generate_series(integration_day_start(now()) - interval '60 days', integration_day_start(now()), interval '1 day') d
       WHERE NOT EXISTS (SELECT 1 FROM integration_log_partitions() p WHERE p.lo <= d AND p.hi > d)`,
    );
    expect(gaps.rows).toEqual([]);
  });

  test('ensure_integration_log_partitions moves rows already in the default partition into the new partition', async () => {
    // 20 days ahead has no partition yet: the row lands in the default partition.
    await db.pool.query(`INSERT INTO integration_logs (service_name, action, status, created_at) VALUES ('ahead', 'x', 'success', now() + interval '20 days')`);
    const before = await db.pool.query(`SELECT tableoid::regclass::text AS part FROM integration_logs WHERE service_name = 'ahead'`);
    expect(before.rows[0].part).toBe('integration_logs_default');
    const { rows } = await db.pool.query(`SELECT * FROM ensure_integration_log_partitions(21, 0) WHERE moved_rows > 0`);
    expect(rows).toHaveLength(1);
    expect(Number(rows[0].moved_rows)).toBe(1);
    const after = await db.pool.query(`SELECT tableoid::regclass::text AS part FROM integration_logs WHERE service_name = 'ahead'`);
    expect(after.rows[0].part).toBe(rows[0].partition_name);
    // Moving does not count the row twice in the rollups.
    const r = await db.pool.query(`SELECT sum(calls)::int AS n FROM integration_range_agg('-infinity', 'infinity') WHERE service_name = 'ahead'`);
    expect(r.rows[0].n).toBe(1);
  });
});

describe('row-level security per role', () => {
  const readables = [
    'integration_logs',
    'integration_stats_hourly',
    'integration_stats_daily',
    'integration_rollup_minute',
    'integration_rollup_hour',
    'integration_rollup_day',
    'integration_latency_hist_hour',
    'integration_latency_hist_day',
    'integration_service_actions',
    'integration_latency_hist_service_hour',
    'integration_latency_hist_service_day',
    'integration_rollup_service_hour',
    'integration_rollup_service_day',
    'integration_slowest_day',
  ];

  test('RLS is on, with the seed-named policies', async () => {
    const { rows } = await db.pool.query(`SELECT relrowsecurity FROM pg_class WHERE oid = 'integration_logs'::regclass`);
    expect(rows[0].relrowsecurity).toBe(true);
    const pol = await db.pool.query(`SELECT policyname, cmd, roles::text[] AS roles FROM pg_policies WHERE tablename = 'integration_logs' ORDER BY policyname`);
    expect(pol.rows).toEqual([
      { policyname: 'integration_logs_read_authenticated', cmd: 'SELECT', roles: ['authenticated'] },
      // 008: Grafana's direct login carries no JWT claims, so it reads through a policy of its own.
      { policyname: 'integration_logs_read_monitor_reader', cmd: 'SELECT', roles: ['integration_monitor_reader'] },
      { policyname: 'integration_logs_service_role_all', cmd: 'ALL', roles: ['service_role'] },
    ]);
  });

  test.each(readables)('anon cannot read %s', async (rel) => {
    await expect(asRole(db.pool, 'anon', (c) => c.query(`SELECT * FROM ${rel} LIMIT 1`))).rejects.toMatchObject({ code: '42501' });
  });

  test('anon cannot write nor call the range functions', async () => {
    await expect(asRole(db.pool, 'anon', (c) => c.query(`INSERT INTO integration_logs (service_name, action, status) VALUES ('a', 'b', 'success')`))).rejects.toMatchObject({ code: '42501' });
    await expect(asRole(db.pool, 'anon', (c) => c.query(`SELECT * FROM integration_range_agg(now() - interval '1 day', now())`))).rejects.toMatchObject({ code: '42501' });
  });

  test.each(readables)('authenticated reads %s', async (rel) => {
    await insert([{ s: 'rls', a: 'read', st: 'success', d: 5, at: new Date().toISOString() }]);
    const { rows } = await asRole(db.pool, 'authenticated', (c) => c.query(`SELECT count(*)::int AS n FROM ${rel}`));
    expect(rows[0].n).toBeGreaterThan(0);
  });

  test('authenticated cannot insert, update or delete', async () => {
    await insert([{ s: 'rls', a: 'write', st: 'pending', at: new Date().toISOString() }]);
    await expect(asRole(db.pool, 'authenticated', (c) => c.query(`INSERT INTO integration_logs (service_name, action, status) VALUES ('a', 'b', 'success')`))).rejects.toMatchObject({ code: '42501' });
    await expect(asRole(db.pool, 'authenticated', (c) => c.query(`UPDATE integration_logs SET status = 'success' WHERE service_name = 'rls'`))).rejects.toMatchObject({ code: '42501' });
    await expect(asRole(db.pool, 'authenticated', (c) => c.query(`DELETE FROM integration_logs WHERE service_name = 'rls'`))).rejects.toMatchObject({ code: '42501' });
    await expect(asRole(db.pool, 'authenticated', (c) => c.query(`DELETE FROM integration_rollup_minute`))).rejects.toMatchObject({ code: '42501' });
    await expect(asRole(db.pool, 'authenticated', (c) => c.query(`SELECT cleanup_old_integration_logs()`))).rejects.toMatchObject({ code: '42501' });
  });

  test('service_role may insert, update, delete, and read the views', async () => {
    await asRole(db.pool, 'service_role', async (c) => {
      const ins = await c.query(`INSERT INTO integration_logs (service_name, action, status, duration_ms) VALUES ('sr', 'all', 'pending', 10) RETURNING id`);
      const up = await c.query(`UPDATE integration_logs SET status = 'success' WHERE id = $1`, [ins.rows[0].id]);
      expect(up.rowCount).toBe(1);
      const v = await c.query(`SELECT count FROM integration_stats_hourly WHERE service_name = 'sr' AND status = 'success'`);
      expect(Number(v.rows[0].count)).toBe(1);
      const del = await c.query(`DELETE FROM integration_logs WHERE id = $1`, [ins.rows[0].id]);
      expect(del.rowCount).toBe(1);
      // Rollups are not writable directly, even for service_role.
      await expect(c.query(`SAVEPOINT s; DELETE FROM integration_rollup_day`)).rejects.toMatchObject({ code: '42501' });
    });
  });

  test("service_role created by a superuser migration bypasses RLS like Supabase's: plain COPY and row_security = off work", async () => {
    const roles = await db.pool.query(`SELECT rolname, rolbypassrls FROM pg_roles WHERE rolname IN ('anon', 'authenticated', 'service_role') ORDER BY 1`);
    const bypass = Object.fromEntries(roles.rows.map((r) => [r.rolname, r.rolbypassrls]));
    // The embedded test server is a fresh cluster migrated by its superuser; a DATABASE_URL server
    // may already have had its own service_role, which the migration leaves as it is.
    if (!process.env.DATABASE_URL) expect(bypass.service_role).toBe(true);
    if (!bypass.service_role) return;
    await asRole(db.pool, 'service_role', async (c) => {
      const off = await c.query(`SET LOCAL row_security = off; SELECT count(*)::int AS n FROM integration_logs`);
      expect(off).toBeDefined();
      const copy = c.query(copyFrom(`COPY integration_logs (service_name, action, status, duration_ms) FROM STDIN`));
      await pipeline(Readable.from(['sr_copy\tcopy\tsuccess\t7\n', 'sr_copy\tcopy\tfailed\t9\n']), copy);
      const r = await c.query(`SELECT sum(calls)::int AS n FROM integration_range_agg('-infinity', 'infinity') WHERE service_name = 'sr_copy'`);
      expect(r.rows[0].n).toBe(2);
    });
  });

  test.each(['anon', 'authenticated', 'integration_monitor_reader'])('%s does not bypass RLS', async (role) => {
    const r = await db.pool.query(`SELECT rolbypassrls FROM pg_roles WHERE rolname = $1`, [role]);
    expect(r.rows[0].rolbypassrls).toBe(false);
    // With row_security off, a role that does not bypass RLS gets an error instead of unfiltered rows.
    await expect(asRole(db.pool, role, (c) => c.query(`SET LOCAL row_security = off; SELECT count(*) FROM integration_logs`))).rejects.toMatchObject({ code: '42501' });
    await expect(
      asRole(db.pool, role, (c) => pipeline(Readable.from(['x\ty\tsuccess\n']), c.query(copyFrom(`COPY integration_logs (service_name, action, status) FROM STDIN`)))),
    ).rejects.toMatchObject({ code: '42501' });
  });

  test('integration_monitor_reader reads as authenticated and cannot write', async () => {
    await insert([{ s: 'reader', a: 'x', st: 'success', d: 1, at: new Date().toISOString() }]);
    const c = await db.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SET LOCAL ROLE integration_monitor_reader');
      const r = await c.query(`SELECT count(*)::int AS n FROM integration_stats_daily WHERE service_name = 'reader'`);
      expect(r.rows[0].n).toBe(1);
      const raw = await c.query(`SELECT count(*)::int AS n FROM integration_logs WHERE service_name = 'reader'`);
      expect(raw.rows[0].n).toBe(1);
      await expect(c.query(`INSERT INTO integration_logs (service_name, action, status) VALUES ('a', 'b', 'success')`)).rejects.toMatchObject({ code: '42501' });
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  });
});

describe('views on known data', () => {
  test('hourly: count, avg, min, max of the last 24 hours; older rows excluded', async () => {
    await insert([
      { s: 'vh', a: 'send', st: 'success', d: 100, at: new Date(Date.now() - 3600e3).toISOString() },
      { s: 'vh', a: 'send', st: 'success', d: 300, at: new Date(Date.now() - 3600e3).toISOString() },
      { s: 'vh', a: 'send', st: 'success', d: null, at: new Date(Date.now() - 3600e3).toISOString() },
      { s: 'vh', a: 'send', st: 'success', d: 999, at: new Date(Date.now() - 25 * 3600e3).toISOString() },
    ]);
    const { rows } = await db.pool.query(`SELECT * FROM integration_stats_hourly WHERE service_name = 'vh'`);
    expect(rows).toHaveLength(1);
    expect(Number(rows[0].count)).toBe(3);
    expect(Number(rows[0].avg_duration_ms)).toBe(200);
    expect(rows[0].min_duration_ms).toBe(100);
    expect(rows[0].max_duration_ms).toBe(300);
    expect(Object.keys(rows[0])).toEqual(['service_name', 'action', 'status', 'hour', 'count', 'avg_duration_ms', 'min_duration_ms', 'max_duration_ms']);
  });

  test('daily: one failed of three reads 33.33, a day without failures 0.00', async () => {
    const today = new Date(Date.now() - 60e3).toISOString();
    const twoDaysAgo = new Date(Date.now() - 2 * 86400e3).toISOString();
    await insert([
      { s: 'vd', a: 'sync', st: 'success', d: 10, at: today },
      { s: 'vd', a: 'sync', st: 'success', d: 20, at: today },
      { s: 'vd', a: 'sync', st: 'failed', d: 30, at: today },
      { s: 'vd', a: 'sync', st: 'success', d: 40, at: twoDaysAgo },
    ]);
    const { rows } = await db.pool.query(
      `SELECT day, status, count, failed_count, success_count, failure_rate_percent::text AS rate
       FROM integration_stats_daily WHERE service_name = 'vd' ORDER BY day DESC, status`,
    );
    expect(rows.map((r) => [r.status, Number(r.count), Number(r.failed_count), Number(r.success_count), r.rate])).toEqual([
      ['failed', 1, 1, 0, '33.33'],
      ['success', 2, 0, 2, '33.33'],
      ['success', 1, 0, 1, '0.00'],
    ]);
    const cols = await db.pool.query(`SELECT * FROM integration_stats_daily LIMIT 0`);
    expect(cols.fields.map((f) => f.name)).toEqual([
      'service_name',
      'action',
      'status',
      'day',
      'count',
      'avg_duration_ms',
      'min_duration_ms',
      'max_duration_ms',
      'failed_count',
      'success_count',
      'failure_rate_percent',
    ]);
  });
});

describe('retention', () => {
  test('cleanup drops whole old partitions, deletes only the remainder, keeps recent rows and rollups, returns the count', async () => {
    const fresh = await createTestDatabase();
    try {
      const p = fresh.pool;
      await p.query(`SELECT count(*) FROM ensure_integration_log_partitions(0, 120)`);
      await p.query(`INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at)
                     SELECT 'ret', 'x', 'success', g, now() - make_interval(days => 100) - g * interval '1 second' FROM generate_series(1, 50) g`);
      await p.query(`INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at)
                     SELECT 'ret', 'x', 'success', g, now() - make_interval(days => 95) FROM generate_series(1, 7) g`);
      // Years back: the default partition, removed by the remainder DELETE.
      await p.query(`INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at) VALUES ('ret', 'x', 'success', 1, '2001-02-03')`);
      await p.query(`INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at)
                     SELECT 'ret', 'x', 'success', g, now() - make_interval(days => 10) FROM generate_series(1, 5) g`);
      // Partitions entirely before the cutoff are dropped; the one straddling it is only DELETEd from.
      const partsBefore = await p.query(`SELECT partition_name AS part FROM integration_log_partitions() WHERE hi <= now() - interval '90 days' AND hi > now() - interval '110 days'`);
      expect(partsBefore.rows.length).toBeGreaterThanOrEqual(1);

      const r = await p.query(`SELECT cleanup_old_integration_logs('90 days') AS n`);
      expect(Number(r.rows[0].n)).toBe(58);
      const left = await p.query(`SELECT count(*)::int AS n FROM integration_logs WHERE service_name = 'ret'`);
      expect(left.rows[0].n).toBe(5);
      for (const row of partsBefore.rows) {
        const exists = await p.query(`SELECT to_regclass($1) AS r`, [row.part]);
        expect(exists.rows[0].r).toBeNull();
      }
      // Rollups outlive raw rows: the history of the 63 removed calls is still there.
      const hist = await p.query(`SELECT sum(calls)::int AS n FROM integration_range_agg('-infinity', 'infinity') WHERE service_name = 'ret'`);
      expect(hist.rows[0].n).toBe(63);
      // A plain DELETE (not retention) still updates the rollups.
      await p.query(`DELETE FROM integration_logs WHERE service_name = 'ret'`);
      const after = await p.query(`SELECT sum(calls)::int AS n FROM integration_range_agg('-infinity', 'infinity') WHERE service_name = 'ret'`);
      expect(after.rows[0].n).toBe(58);

      const rr = await p.query(`SELECT cleanup_integration_rollups('400 days', '90 days') AS n`);
      expect(Number(rr.rows[0].n)).toBeGreaterThan(0);
      const kept = await p.query(`SELECT sum(calls)::int AS n FROM integration_rollup_day WHERE service_name = 'ret'`);
      expect(kept.rows[0].n).toBe(57); // the 2001 row is past 400 days; the 95/100-day-old ones stay
      const minute = await p.query(`SELECT count(*)::int AS n FROM integration_rollup_minute WHERE service_name = 'ret' AND bucket < now() - interval '90 days'`);
      expect(minute.rows[0].n).toBe(0);
    } finally {
      await fresh.drop();
    }
  });
});
