/** Time zones for tests of hours and days in the reader's zone: rows, zones and comparisons. */
import type { Pool } from 'pg';
import { COLUMNS, generateSql, STAGING_TABLE } from '../../bench/data';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * A POSIX zone (UTC+5, DST UTC+6) whose DST starts ~10 days and ends ~10 hours before `now`, so
 * both views' windows hold a DST change whenever the test runs. `Jn` counts days 1..365 without
 * 29 February. `offset` '5:30' makes it UTC+5:30 (DST +6:30), whose hours are not UTC hours.
 */
export function zoneWithDstInWindow(now: number, offset = '5'): string {
  const julian = (wall: Date): string => {
    const y = wall.getUTCFullYear();
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    const dayOfYear = Math.floor((Date.UTC(y, wall.getUTCMonth(), wall.getUTCDate()) - Date.UTC(y, 0, 1)) / DAY) + 1;
    return `J${leap && wall.getUTCMonth() > 1 ? dayOfYear - 1 : dayOfYear}/${wall.getUTCHours()}`;
  };
  let start = Math.floor((now - 10 * DAY) / HOUR) * HOUR + 5 * HOUR; // wall clock in standard time
  const end = Math.floor((now - 10 * HOUR) / HOUR) * HOUR + 6 * HOUR; // wall clock in DST
  if (new Date(start).getUTCMonth() === 1 && new Date(start).getUTCDate() === 29) start -= DAY;
  return `XST-${offset}XDT,${julian(new Date(start))},${julian(new Date(end))}`;
}

/**
 * The staging table (bench/data.ts) filled with rows of the last 40 days (the views' windows) and
 * rows around both 2026 DST changes of New York (8 March, 1 November) and London (29 March,
 * 25 October) for fixed-range reads; callers copy it into the schemas they compare.
 */
export async function stageZoneRows(pool: Pool): Promise<void> {
  const c = await pool.connect();
  try {
    for (const sql of generateSql(8000, 40, 0.23)) await c.query(sql);
    await c.query(`INSERT INTO ${STAGING_TABLE} (${COLUMNS})
      SELECT (ARRAY['amocrm', 'resend', 'whapi'])[1 + floor(random() * 3)::int], (ARRAY['sync_lead', 'send_email'])[1 + floor(random() * 2)::int],
             (ARRAY['success', 'success', 'failed', 'pending'])[1 + floor(random() * 4)::int], NULL, NULL, NULL, NULL,
             CASE WHEN random() < 0.1 THEN NULL ELSE floor(random() * 5000)::int END, floor(random() * 3)::int, t, t
      FROM (SELECT d + random() * interval '5 days' AS t
            FROM unnest(ARRAY['2026-03-06', '2026-03-27', '2026-10-23', '2026-10-30']::timestamptz[]) d, generate_series(1, 1500)) x`);
  } finally {
    c.release();
  }
}

export type Row = Record<string, unknown>;
const keyOf = (r: Row) => [r.service_name, r.action, r.status, (r.bucket as Date).toISOString()].join('|');

/** Same keys, and per key the same value of every column (averages to 1e-12 relative). */
export function expectSameRows(ours: Row[], seed: Row[], what: string): void {
  const o = new Map(ours.map((r) => [keyOf(r), r]));
  const s = new Map(seed.map((r) => [keyOf(r), r]));
  expect([what, [...o.keys()].sort()]).toEqual([what, [...s.keys()].sort()]);
  const differences: string[] = [];
  for (const [k, r] of s) {
    const mine = o.get(k)!;
    for (const col of Object.keys(r)) {
      const same = col === 'avg_duration_ms' && r[col] !== null ? Math.abs(Number(mine[col]) - Number(r[col])) <= 1e-12 * Math.abs(Number(r[col])) : String(mine[col]) === String(r[col]);
      if (!same) differences.push(`${what} ${k} ${col}: ours ${String(mine[col])}, seed ${String(r[col])}`);
    }
  }
  expect(differences.slice(0, 10)).toEqual([]);
}

/** The seed-style grouping of raw rows by date_trunc(unit) in zone $3 over [$1, $2). */
export const RAW_BY = (unit: string) => `
  SELECT date_trunc('${unit}', created_at, $3) AS bucket, service_name, action, status,
         count(*) AS calls, count(duration_ms) AS duration_n, coalesce(sum(duration_ms), 0)::bigint AS duration_sum,
         min(duration_ms) AS duration_min, max(duration_ms) AS duration_max,
         coalesce(sum(retry_count), 0)::bigint AS retry_sum, count(*) FILTER (WHERE retry_count > 0) AS retried
  FROM seed.integration_logs WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2, 3, 4`;
