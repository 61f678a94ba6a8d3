/**
 * What integration_add_day_zone (repeatable/11_day_zones.sql) accepts: only IANA Area/Location
 * names PostgreSQL knows (what the API's `tz` takes), never POSIX strings, abbreviations or
 * offsets; and at most 4 zones, since each one adds trigger work to every insert and a backfill
 * under a SHARE lock. Enforced in SQL, so `start`, `migrate`, `serve` and the CLI all get it; the
 * CLI prints the refusal as one line.
 */
import { runDayZones } from '../../src/cli/day-zones';
import { createTestDatabase, TestDatabase } from '../helpers/db';

let db: TestDatabase;
const zones = async () => (await db.pool.query(`SELECT zone FROM integration_day_zones()`)).rows.map((r) => r.zone as string);
const add = (zone: string) => db.pool.query<{ z: string | null }>(`SELECT integration_add_day_zone($1) AS z`, [zone]);

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runDayZones(
    db.url,
    args,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out, err };
}

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at) VALUES ('amocrm', 'sync_lead', 'success', 120, now() - interval '2 days')`);
});
afterAll(() => db.drop());

test.each([
  '<+05>-05', // POSIX: five hours east, whatever it is called
  'EST5EDT,M3.2.0,M11.1.0', // POSIX with DST rules
  'EST5EDT', // in pg_timezone_names, but no Area/Location
  'IST', // an abbreviation: Israel to PostgreSQL, India to Node
  'Japan', // a single-name link
  '+05:30',
  'UTC+3',
  'Asia/Kolkata ', // not the name itself
  'Mars/Olympus', // shaped right, unknown
  'posix/Asia/Kolkata',
])('%s is refused with 22023 and adds nothing', async (zone) => {
  await expect(add(zone)).rejects.toMatchObject({ code: '22023', message: expect.stringMatching(/not an IANA zone name/) });
  expect(await zones()).toEqual([]);
});

test('IANA names are taken in any case and stored in the tz database’s spelling; UTC aliases add nothing', async () => {
  expect((await add('asia/kolkata')).rows[0].z).toBe('Asia/Kolkata');
  expect((await add('America/Indiana/Knox')).rows[0].z).toBe('America/Indiana/Knox');
  expect((await add('Etc/UTC')).rows[0].z).toBeNull();
  expect((await add('UTC')).rows[0].z).toBeNull();
  expect(await zones()).toEqual(['America/Indiana/Knox', 'Asia/Kolkata']);
});

test('at most 4 zones: a fifth is 54000 naming those kept; a kept one may be added again; after a removal there is room', async () => {
  await add('Asia/Almaty');
  await add('Europe/Moscow');
  expect(await zones()).toHaveLength(4);
  await expect(add('Asia/Tokyo')).rejects.toMatchObject({
    code: '54000',
    message: 'at most 4 day zones are kept (now: America/Indiana/Knox, Asia/Almaty, Asia/Kolkata, Europe/Moscow): remove one first (integration-monitor day-zones remove <zone>)',
  });
  expect((await add('asia/almaty')).rows[0].z).toBe('Asia/Almaty');
  expect(await zones()).toHaveLength(4);
  await db.pool.query(`SELECT integration_remove_day_zone('America/Indiana/Knox')`);
  expect((await add('Asia/Tokyo')).rows[0].z).toBe('Asia/Tokyo');
});

test('the CLI prints each refusal as one line and exits 1', async () => {
  const posix = await cli(['add', '<+05>-05']);
  expect(posix).toEqual({ code: 1, out: [], err: ['integration-monitor day-zones add: time zone "<+05>-05" is not an IANA zone name (Area/Location, such as Asia/Kolkata)'] });
  const fifth = await cli(['add', 'Pacific/Chatham']);
  expect(fifth.code).toBe(1);
  expect(fifth.err).toEqual([expect.stringMatching(/^integration-monitor day-zones add: at most 4 day zones are kept \(now: .*\): remove one first/)]);
  expect(await zones()).not.toContain('Pacific/Chatham');
});
