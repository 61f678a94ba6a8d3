/**
 * A database as the seed's user has it: MIGRATION 004 built literally (bench/seed-schema.ts) in
 * public, then filled with generated calls (bench/data.ts), some of them with a NULL created_at
 * (the seed allows it), and helpers to compare its rows before and after adoption.
 */
import crypto from 'node:crypto';
import type { ClientBase, Pool } from 'pg';
import { COLUMNS, generateSql, STAGING_TABLE } from '../../bench/data';
import { seedMigration004Sql } from '../../bench/seed-schema';

/**
 * MIGRATION 004 in public, `rows` generated calls over `days` (plus 0.1 % with a NULL created_at,
 * a fifth of those with a NULL updated_at too). `plainGrants`: the table privileges a stock
 * PostgreSQL needs for the seed's policies to mean anything (Supabase's default privileges give more).
 */
export async function buildSeed004(c: ClientBase | Pool, opts: { rows: number; days: number; plainGrants: boolean }): Promise<void> {
  await c.query(seedMigration004Sql('public', { rls: true }));
  if (opts.plainGrants) {
    await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON integration_logs TO service_role;
                   GRANT SELECT ON integration_logs, integration_stats_hourly, integration_stats_daily TO authenticated, service_role`);
  }
  for (const sql of generateSql(opts.rows, opts.days, 0.25)) await c.query(sql);
  await c.query(`INSERT INTO integration_logs (${COLUMNS}, request_payload, response_payload)
    SELECT ${COLUMNS}, jsonb_build_object('entity', related_entity_id, 'n', duration_ms),
           CASE WHEN status = 'success' THEN '{"ok": true, "message": "Migration successful"}'::jsonb END
    FROM ${STAGING_TABLE}`);
  await c.query(`DROP TABLE ${STAGING_TABLE}`);
  const nulls = Math.max(5, Math.floor(opts.rows / 1000));
  await c.query(`UPDATE integration_logs SET created_at = NULL WHERE id IN (SELECT id FROM integration_logs ORDER BY id LIMIT $1)`, [nulls]);
  await c.query(`UPDATE integration_logs SET updated_at = NULL WHERE id IN (SELECT id FROM integration_logs WHERE created_at IS NULL ORDER BY id LIMIT $1)`, [Math.ceil(nulls / 5)]);
}

export type Rows = Map<string, Record<string, string | null>>;

/** Every row of `table` by id, each column as Postgres prints it (UTC timestamps). */
export async function rowsOf(c: ClientBase | Pool, table: string): Promise<Rows> {
  const { rows } = await c.query(
    `SELECT id::text, service_name, action, status, related_entity_type, related_entity_id::text, request_payload::text,
            response_payload::text, error_message, error_code, duration_ms::text, retry_count::text,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS created_at,
            to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS updated_at
     FROM ${table}`,
  );
  return new Map(rows.map((r) => [r.id as string, r]));
}

/** An order-independent checksum of the rows (md5 of each printed row, summed as in a multiset). */
export function checksum(rows: Rows): string {
  const digests = [...rows.values()].map((r) => crypto.createHash('md5').update(JSON.stringify(r)).digest('hex')).sort();
  return crypto.createHash('md5').update(digests.join('')).digest('hex');
}

/**
 * The rows as adoption must leave them: the same, except that a NULL created_at becomes the row's
 * updated_at, or `swappedAt` (as Postgres printed it) when that is NULL too.
 */
export function expectedAfterAdoption(before: Rows, swappedAt: string): Rows {
  const out: Rows = new Map();
  for (const [id, r] of before) out.set(id, { ...r, created_at: r.created_at ?? r.updated_at ?? swappedAt });
  return out;
}

/**
 * Every rollup level and histogram as the read functions serve them (whole UTC days and hours,
 * so they read the day and hour rollups, not raw edges) equals the same grouping of the raw rows.
 * Through the functions, not the tables: their shapes are the rollups' own business.
 */
export async function expectRollupsExact(c: ClientBase | Pool): Promise<number> {
  const { rows: span } = await c.query(
    `SELECT date_bin('1 day', min(created_at), 'epoch') AS lo, date_bin('1 day', max(created_at), 'epoch') + interval '1 day' AS hi,
            date_bin('1 hour', max(created_at), 'epoch') - interval '47 hours' AS hlo FROM integration_logs`,
  );
  const { lo, hi, hlo } = span[0];
  const stats = `calls, duration_n, duration_sum, duration_min, duration_max, retry_sum, retried`;
  const raw = (width: string, from: string) => `
    SELECT date_bin('${width}', created_at, 'epoch') AS bucket, service_name, action, status, count(*) AS calls, count(duration_ms) AS duration_n,
           coalesce(sum(duration_ms), 0)::bigint AS duration_sum, min(duration_ms) AS duration_min, max(duration_ms) AS duration_max,
           coalesce(sum(retry_count), 0)::bigint AS retry_sum, count(*) FILTER (WHERE retry_count > 0) AS retried
    FROM integration_logs WHERE created_at >= ${from} AND created_at < $2 GROUP BY 1, 2, 3, 4`;
  const diff = async (label: string, a: string, b: string, params: unknown[]) => {
    const { rows } = await c.query(`SELECT count(*)::int AS n FROM ((${a}) EXCEPT ALL (${b})) x`, params);
    const { rows: back } = await c.query(`SELECT count(*)::int AS n FROM ((${b}) EXCEPT ALL (${a})) x`, params);
    return [label, rows[0].n, back[0].n];
  };
  const checks = [
    await diff('day rollups', `SELECT bucket, service_name, action, status, ${stats} FROM integration_range_agg($1, $2, '1 day')`, raw('1 day', '$1'), [lo, hi]),
    await diff('hour rollups', `SELECT bucket, service_name, action, status, ${stats} FROM integration_range_agg($1, $2, '1 hour')`, raw('1 hour', '$1'), [hlo, hi]),
    await diff(
      'day histograms',
      `SELECT bucket, service_name, action, status, bin, n FROM integration_hist_range($1, $2, '1 day')`,
      `SELECT date_bin('1 day', created_at, 'epoch'), service_name, action, status, integration_latency_bin(duration_ms), count(*)
       FROM integration_logs WHERE created_at >= $1 AND created_at < $2 AND duration_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5`,
      [lo, hi],
    ),
    await diff(
      'service day histograms',
      `SELECT bucket, service_name, bin, n FROM integration_hist_range_service($1, $2, '1 day')`,
      `SELECT date_bin('1 day', created_at, 'epoch'), service_name, integration_latency_bin(duration_ms), count(*)
       FROM integration_logs WHERE created_at >= $1 AND created_at < $2 AND duration_ms IS NOT NULL GROUP BY 1, 2, 3`,
      [lo, hi],
    ),
    await diff(
      'service day rollups',
      `SELECT bucket, service_name, calls, failed FROM integration_range_agg_service($1, $2, '1 day')`,
      `SELECT date_bin('1 day', created_at, 'epoch'), service_name, count(*), count(*) FILTER (WHERE status = 'failed')
       FROM integration_logs WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2`,
      [lo, hi],
    ),
    // 019's slowest calls: the whole span (every day whole) and the last 47 hours (a part-day)
    ...(await Promise.all(
      [
        ['slowest calls', lo],
        ['slowest calls, 47 h', hlo],
      ].map(([label, from]) =>
        diff(
          label,
          `SELECT id FROM integration_slowest_calls($1, $2, NULL, NULL)`,
          `SELECT id FROM integration_logs WHERE duration_ms IS NOT NULL AND created_at >= $1 AND created_at < $2 ORDER BY duration_ms DESC, created_at DESC, id DESC LIMIT 50`,
          [from, hi],
        ),
      ),
    )),
  ];
  expect(checks).toEqual(checks.map(([label]) => [label, 0, 0]));
  const { rows } = await c.query(`SELECT count(*)::int AS n FROM integration_range_agg($1, $2, '1 day')`, [lo, hi]);
  return rows[0].n as number;
}
