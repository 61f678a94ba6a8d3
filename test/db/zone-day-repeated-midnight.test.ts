/**
 * A day zone whose DST ends at 01:00, back to 00:00 (America/Havana, 1 November 2026): its
 * midnight repeats, both midnights are labelled by the later instant (05:00 UTC), so the local day
 * 1 November begins at 04:00 UTC, an hour before its label, and 31 October ends there. The zone-day
 * level's min/max, recomputed by the change trigger after an UPDATE or DELETE, must follow the day
 * date_trunc('day', created_at, zone) gives, not [label, next label).
 */
import { createTestDatabase, TestDatabase } from '../helpers/db';

const ZONE = 'America/Havana';
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`SELECT integration_ensure_log_partitions_between('2026-10-29', '2026-11-04')`);
  await db.pool.query(`SELECT integration_add_day_zone($1)`, [ZONE]);
  // One group, a call every 10 minutes from 30 Oct 00:00 to 2 Nov 12:00 UTC; the slowest calls of
  // 31 Oct lie in its last hour (03:00-04:00 UTC) and those of 1 Nov in its first (04:00-05:00 UTC,
  // the repeated hour before the label).
  await db.pool.query(`
    INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at)
    SELECT 'amocrm', 'sync_lead', 'success',
           CASE WHEN t >= '2026-11-01 03:00+00' AND t < '2026-11-01 04:00+00' THEN 7000 + i
                WHEN t >= '2026-11-01 04:00+00' AND t < '2026-11-01 05:00+00' THEN 9000 + i
                ELSE 100 + i % 50 END, t
    FROM (SELECT i, timestamptz '2026-10-30 00:00+00' + i * interval '10 minutes' AS t FROM generate_series(0, 500) i) x`);
});
afterAll(async () => {
  await db?.drop();
});

async function zoneDays(): Promise<{ stored: unknown[]; raw: unknown[] }> {
  const stored = await db.pool.query(
    `SELECT bucket, calls::int, duration_min AS min, duration_max AS max FROM integration_rollup_zone_day
     WHERE zone = $1 AND bucket >= '2026-10-30 04:00+00' AND bucket < '2026-11-02 05:00+00' ORDER BY 1`,
    [ZONE],
  );
  const raw = await db.pool.query(
    `SELECT date_trunc('day', created_at, $1) AS bucket, count(*)::int AS calls, min(duration_ms) AS min, max(duration_ms) AS max
     FROM integration_logs GROUP BY 1 HAVING date_trunc('day', created_at, $1) >= '2026-10-30 04:00+00' AND date_trunc('day', created_at, $1) < '2026-11-02 05:00+00' ORDER BY 1`,
    [ZONE],
  );
  return { stored: stored.rows, raw: raw.rows };
}

test('the repeated midnight: 1 November is labelled 05:00 UTC and begins at 04:00 UTC', async () => {
  const { rows } = await db.pool.query(`SELECT date_trunc('day', timestamptz '2026-11-01 04:30+00', $1) AS a, date_trunc('day', timestamptz '2026-11-01 03:59+00', $1) AS b`, [ZONE]);
  expect([rows[0].a.toISOString(), rows[0].b.toISOString()]).toEqual(['2026-11-01T05:00:00.000Z', '2026-10-31T04:00:00.000Z']);
});

test('after the inserts the zone days equal raw grouping', async () => {
  const { stored, raw } = await zoneDays();
  expect(stored).toHaveLength(3);
  expect(stored).toEqual(raw);
});

test("after DELETEs and UPDATEs that take away each day's min and max, the recomputed min/max follow the local day", async () => {
  // 31 Oct loses its slowest calls but one, then its fastest; 1 Nov loses those after its label,
  // so its max must come from the repeated hour before it.
  await db.pool.query(`DELETE FROM integration_logs WHERE created_at >= '2026-11-01 03:00+00' AND created_at < '2026-11-01 03:50+00'`);
  await db.pool.query(`DELETE FROM integration_logs WHERE duration_ms = 100 AND created_at < '2026-11-01 04:00+00'`);
  await db.pool.query(`UPDATE integration_logs SET duration_ms = 5 WHERE created_at >= '2026-11-01 05:00+00' AND created_at < '2026-11-01 06:00+00'`);
  await db.pool.query(`DELETE FROM integration_logs WHERE created_at >= '2026-11-01 05:00+00' AND created_at < '2026-11-01 05:30+00'`);
  await db.pool.query(`UPDATE integration_logs SET duration_ms = 1 WHERE created_at = '2026-11-01 04:10+00'`);
  const { stored, raw } = await zoneDays();
  expect(stored).toEqual(raw);
});
