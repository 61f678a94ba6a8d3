/**
 * "Are these buckets UTC's?" is answered in two places: by the SQL readers
 * (integration_zone_same_as_utc, which takes their UTC statement) and by the API, which fills a
 * series' empty buckets itself when they are (bucketZone, src/store/time-zone.ts). Both must give
 * one answer for every name the SQL list holds, in any case, and for zones that are not UTC.
 */
import { bucketZone } from '../../src/store/time-zone';
import { createTestDatabase, TestDatabase } from '../helpers/db';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

test('the API and the SQL readers agree on which zones and widths are UTC-aligned buckets', async () => {
  const { rows } = await db.pool.query<{ def: string }>(`SELECT pg_get_functiondef('integration_zone_same_as_utc(text, interval)'::regprocedure) AS def`);
  const sqlNames = [...rows[0].def.matchAll(/'([A-Z0-9/+-]+)'/g)].map((m) => m[1]);
  expect(sqlNames).toContain('ETC/GREENWICH');
  const names = [...sqlNames, ...sqlNames.map((n) => n.toLowerCase()), 'Etc/Utc', 'Europe/London', 'Africa/Abidjan', 'Asia/Kolkata', 'Asia/Kathmandu', 'Etc/GMT+1', 'America/New_York'];
  const widths = [60, 300, 450, 900, 1800, 3600, 21600, 86400, 604800];
  const cases = names.flatMap((zone) => widths.map((seconds) => ({ zone, seconds })));
  const { rows: sql } = await db.pool.query<{ zone: string; seconds: number; same: boolean }>(
    `SELECT c.zone, c.seconds, integration_zone_same_as_utc(c.zone, make_interval(secs => c.seconds)) AS same
     FROM unnest($1::text[], $2::int[]) c(zone, seconds)`,
    [cases.map((c) => c.zone), cases.map((c) => c.seconds)],
  );
  const api = cases.map((c) => ({ zone: c.zone, seconds: c.seconds, same: bucketZone(c.zone, c.seconds * 1000) === null }));
  expect(api).toEqual(sql.map((r) => ({ zone: r.zone, seconds: Number(r.seconds), same: r.same })));
  // both sides do say yes and no
  expect(new Set(api.map((a) => a.same))).toEqual(new Set([true, false]));
});
