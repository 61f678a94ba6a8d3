import { startScheduler } from '../../src/db/scheduler';
import { createTestDatabase } from '../helpers/db';

test('without pg_cron: runs maintenance in-process at start (partitions ahead, both retentions, closed weeks compacted) and stops cleanly', async () => {
  const db = await createTestDatabase();
  try {
    // A partition that should be re-created ahead, and rows past retention.
    const name = (await db.pool.query(`SELECT partition_name AS n FROM integration_log_partitions() WHERE lo <= now() + interval '3 days' AND hi > now() + interval '3 days'`)).rows[0].n;
    await db.pool.query(`ALTER TABLE integration_logs DETACH PARTITION ${name}; DROP TABLE ${name}`);
    await db.pool.query(`INSERT INTO integration_logs (service_name, action, status, created_at) VALUES ('old', 'x', 'success', now() - interval '40 days'), ('new', 'x', 'success', now())`);
    await db.pool.query(`INSERT INTO integration_logs (service_name, action, status, created_at) VALUES ('ancient', 'x', 'success', now() - interval '500 days')`);
    // Two weeks that ended days ago and are kept: their partitions (made by the run) get their indexes
    // compacted, one partition per call.
    await db.pool.query(
      `INSERT INTO integration_logs (service_name, action, status, created_at) VALUES ('closed', 'x', 'success', now() - interval '10 days'), ('closed', 'x', 'success', now() - interval '17 days')`,
    );
    const lines: string[] = [];
    const s = await startScheduler(db.pool, { rawRetention: '30 days', rollupRetention: '400 days', log: (l) => lines.push(l) });
    expect(s.mode).toBe('in-process');
    expect(lines.join('\n')).toMatch(/maintenance: \d+ partitions created, 2 raw rows and \d+ rollup rows past retention removed, [1-9]\d* indexes of closed weeks compacted \(\d+\.\d MB freed\)$/);
    const packed = await db.pool.query(
      `SELECT l.tableoid::regclass::text AS p, bool_and(c.reloptions @> '{fillfactor=100}') AS ok, count(*)::int AS n
       FROM integration_logs l JOIN pg_index x ON x.indrelid = l.tableoid JOIN pg_class c ON c.oid = x.indexrelid
       JOIN pg_am a ON a.oid = c.relam
       WHERE l.service_name = 'closed' AND a.amname = 'btree' GROUP BY 1`,
    );
    expect(packed.rows).toHaveLength(2);
    // the four B-trees (created_at's is a BRIN since 018, which compaction leaves alone; 019 dropped the slowest-calls one)
    for (const r of packed.rows) expect(r).toEqual({ p: expect.stringMatching(/^integration_logs_p\d{8}$/), ok: true, n: 4 });
    const exists = await db.pool.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [name]);
    expect(exists.rows[0].ok).toBe(true);
    const left = await db.pool.query(`SELECT service_name FROM integration_logs ORDER BY 1`);
    expect(left.rows.map((r) => r.service_name)).toEqual(['closed', 'closed', 'new']);
    const day = await db.pool.query(`SELECT service_name FROM integration_rollup_day GROUP BY 1 ORDER BY 1`);
    expect(day.rows.map((r) => r.service_name)).toEqual(['closed', 'new', 'old']); // 'ancient' is past the 400-day rollup retention
    await s.stop();
  } finally {
    await db.drop();
  }
});

test('rejects a retention that is not an interval before scheduling anything', async () => {
  const db = await createTestDatabase();
  try {
    await expect(startScheduler(db.pool, { rawRetention: 'ninety days', rollupRetention: '400 days', log: () => undefined })).rejects.toThrow(/interval/);
  } finally {
    await db.drop();
  }
});

test('rejects rollups kept for less time than raw rows, naming both settings', async () => {
  const db = await createTestDatabase();
  try {
    await expect(startScheduler(db.pool, { rawRetention: '90 days', rollupRetention: '30 days', log: () => undefined })).rejects.toThrow(
      /^MONITOR_ROLLUP_RETENTION \(30 days\) is shorter than MONITOR_RAW_RETENTION \(90 days\): set it to at least the raw retention/,
    );
    // equal is fine (the interval comparison, not the text: 3 months is 90 days)
    const s = await startScheduler(db.pool, { rawRetention: '90 days', rollupRetention: '3 months', log: () => undefined });
    await s.stop();
  } finally {
    await db.drop();
  }
});
