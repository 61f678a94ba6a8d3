import { Pool } from 'pg';

/**
 * integration_slowest_day (019) against the raw rows' own ranking per (service, action, UTC day):
 * kept rows missing from the 50 slowest, kept rows no raw row matches, kept rows under another
 * day's bucket, and both counts. Exact when the first three are 0 and the counts are equal.
 */
export async function keptVsRaw(pool: Pool): Promise<{ missing: number; stale: number; misfiled: number; want: number; kept: number }> {
  const { rows } = await pool.query(`
    WITH want AS (
      SELECT x.service_name, x.action, x.duration_ms, x.created_at, x.id FROM (
        SELECT l.service_name, l.action, l.duration_ms, l.created_at, l.id,
               row_number() OVER (PARTITION BY l.service_name, l.action, date_bin('1 day', l.created_at, '1970-01-01 00:00:00+00')
                                  ORDER BY l.duration_ms DESC, l.created_at DESC, l.id DESC) AS rk
        FROM integration_logs l WHERE l.duration_ms IS NOT NULL) x
      WHERE x.rk <= 50)
    SELECT (SELECT count(*)::int FROM want w WHERE NOT EXISTS (
              SELECT 1 FROM integration_slowest_day s
              WHERE (s.service_name, s.action, s.duration_ms, s.created_at, s.id) = (w.service_name, w.action, w.duration_ms, w.created_at, w.id))) AS missing,
           (SELECT count(*)::int FROM integration_slowest_day s WHERE NOT EXISTS (
              SELECT 1 FROM integration_logs l
              WHERE (l.service_name, l.action, l.duration_ms, l.created_at, l.id) = (s.service_name, s.action, s.duration_ms, s.created_at, s.id))) AS stale,
           (SELECT count(*)::int FROM integration_slowest_day s WHERE s.bucket <> date_bin('1 day', s.created_at, '1970-01-01 00:00:00+00')) AS misfiled,
           (SELECT count(*)::int FROM want) AS want,
           (SELECT count(*)::int FROM integration_slowest_day) AS kept`);
  return rows[0];
}
