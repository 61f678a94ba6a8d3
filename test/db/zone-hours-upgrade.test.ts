// A database that kept day zones before 013 had no zone hours for them: 013 adds hours_from (NULL
// for those zones), readers compose such a zone's hours until it is set, and the next run of the
// repeatable files (right after 013) fills them once under the add's lock.
import fs from 'node:fs';
import path from 'node:path';
import { migrate, readMigrations } from '../../src/db/migrate';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { migrationsCopy } from '../helpers/migrations-copy';

const ZONE = 'Asia/Kolkata';
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  // every 7 minutes over the last 3 days, two services, durations varying
  await db.pool.query(
    `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at)
     SELECT (ARRAY['amocrm','whapi'])[1 + i % 2], 'sync', CASE WHEN i % 5 = 0 THEN 'failed' ELSE 'success' END, 10 + (i * 37) % 900,
            date_trunc('minute', now()) - i * interval '7 minutes'
     FROM generate_series(0, 3 * 24 * 60 / 7) i`,
  );
  await db.pool.query('SELECT integration_add_day_zone($1)', [ZONE]);
});
afterAll(async () => {
  await db.drop();
});

async function hourlyView(): Promise<unknown[]> {
  const c = await db.pool.connect();
  try {
    await c.query(`SET TimeZone = '${ZONE}'`);
    return (await c.query('SELECT * FROM integration_stats_hourly ORDER BY hour, service_name, action, status')).rows;
  } finally {
    c.release(true);
  }
}
const pieces = async () => (await db.pool.query(`SELECT DISTINCT lvl FROM integration_zone_day_pieces(now() - interval '24 hours', 'infinity', '1 hour', $1)`, [ZONE])).rows.map((r) => r.lvl);

test('a zone kept before 013 reads composed hours until its hours are filled by the next migration run, then reads them', async () => {
  const want = await hourlyView();
  expect(want.length).toBeGreaterThan(24);
  expect(await pieces()).toContain('Y');

  // the state 013 leaves such a zone in
  await db.pool.query('UPDATE integration_monitor_day_zones SET hours_from = NULL');
  await db.pool.query('DELETE FROM integration_rollup_zone_hour');
  expect(await pieces()).not.toContain('Y');
  expect(await hourlyView()).toEqual(want);

  // the next run that applies a numbered migration re-applies the repeatable files, 11_day_zones.sql last but one
  const dir = migrationsCopy(
    readMigrations().map((m) => m.name),
    true,
  );
  try {
    fs.writeFileSync(path.join(dir, '999_noop.sql'), 'SELECT 1;');
    const r = await migrate(db.url, { dir });
    expect(r.applied).toEqual(['999_noop.sql']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const z = (await db.pool.query('SELECT hours_from, complete_from, (SELECT count(*)::int FROM integration_rollup_zone_hour) AS n FROM integration_monitor_day_zones')).rows[0];
  expect(z.hours_from).toEqual(z.complete_from);
  expect(z.n).toBeGreaterThan(24);
  expect(await pieces()).toContain('Y');
  expect(await hourlyView()).toEqual(want);
});
