/**
 * Migration 019: integration_slowest_day keeps each (service, action, UTC day)'s 50 slowest calls,
 * and integration_slowest_calls answers "the N slowest calls of a range" from it. Both are held to
 * the raw rows: the kept rows equal a window-function ranking of integration_logs after every kind
 * of write (inserts of one row and of many, deletes, updates of duration, time and status, pending
 * rows completed, retention cutting a day in two, two writers racing), and the function returns
 * exactly ORDER BY duration_ms DESC, created_at DESC, id DESC LIMIT n over the raw rows for random
 * ranges, selections and limits.
 */
import { PoolClient } from 'pg';
import { asRole, createTestDatabase, TestDatabase } from '../helpers/db';
import { prng } from '../helpers/prng';
import { keptVsRaw } from '../helpers/slowest-days';

let db: TestDatabase;
const DAY = 86_400_000;
const BASE = Math.floor(Date.now() / DAY) * DAY - 6 * DAY; // six whole UTC days before today, and today
const PAIRS: Array<[string, string, number]> = [
  // service, action, calls a day: one pair with fewer than 50 a day (every call kept)
  ['amocrm', 'sync_lead', 140],
  ['amocrm', 'update_contact', 70],
  ['resend', 'send_email', 110],
  ['resend', 'get_email_status', 30],
  ['telegram', 'send_message', 90],
  ['whapi', 'send_message', 60],
];

interface Row {
  service_name: string;
  action: string;
  status: string;
  duration_ms: number | null;
  created_at: string;
}

async function insertRows(rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  await db.pool.query(
    `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::timestamptz[])`,
    [rows.map((r) => r.service_name), rows.map((r) => r.action), rows.map((r) => r.status), rows.map((r) => r.duration_ms), rows.map((r) => r.created_at)],
  );
}

async function expectKeptExact(): Promise<void> {
  const k = await keptVsRaw(db.pool);
  expect(k).toEqual({ missing: 0, stale: 0, misfiled: 0, want: k.want, kept: k.want });
  expect(k.want).toBeGreaterThan(0);
}

/** The function's ids, as the dashboards' role reads it, and the raw rows' own answer. */
async function compare(from: Date, to: Date, services: string[] | null, actions: string[] | null, limit: number): Promise<{ got: string[]; want: string[] }> {
  const got = await asRole(db.pool, 'authenticated', (c: PoolClient) => c.query(`SELECT id::text FROM integration_slowest_calls($1, $2, $3, $4, $5)`, [from, to, services, actions, limit]));
  const want = await db.pool.query(
    `SELECT id::text FROM integration_logs
     WHERE duration_ms IS NOT NULL AND created_at >= $1 AND created_at < $2
       AND ($3::text[] IS NULL OR service_name = ANY ($3)) AND ($4::text[] IS NULL OR action = ANY ($4))
     ORDER BY duration_ms DESC, created_at DESC, id DESC LIMIT $5`,
    [from, to, services, actions, limit],
  );
  return { got: got.rows.map((r) => r.id), want: want.rows.map((r) => r.id) };
}

/** Random ranges (part-days, single days, many days), selections and limits: the function equals the raw answer. */
async function expectReadsExact(seed: number, n = 40): Promise<void> {
  const rnd = prng(seed);
  const lengths = [5 * 60_000, 3 * 3_600_000, 20 * 3_600_000, 30 * 3_600_000, 3 * DAY, 7 * DAY + 3_600_000];
  const selections: Array<[string[] | null, string[] | null]> = [
    [null, null],
    [['amocrm'], null],
    [
      ['amocrm', 'resend', 'telegram', 'whapi'],
      ['send_email', 'sync_lead', 'update_contact', 'send_message', 'get_email_status'],
    ],
    [['resend'], ['get_email_status']],
    [['telegram', 'whapi'], ['send_message']],
  ];
  let nonEmpty = 0;
  for (let i = 0; i < n; i++) {
    const len = lengths[i % lengths.length];
    // whole days as often as not: ranges that start or end on a UTC midnight
    const start = rnd() < 0.3 ? BASE + Math.floor(rnd() * 6) * DAY : BASE - DAY + Math.floor(rnd() * 7 * DAY);
    const from = new Date(start);
    const to = new Date(start + len);
    const [services, actions] = selections[i % selections.length];
    const limit = [50, 7, 1, 50, 23][i % 5];
    const { got, want } = await compare(from, to, services, actions, limit);
    expect({ from, to, services, actions, limit, got }).toEqual({ from, to, services, actions, limit, got: want });
    if (want.length > 0) nonEmpty++;
  }
  expect(nonEmpty).toBeGreaterThan(n / 2);
}

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`SELECT integration_ensure_log_partitions_between($1, $2)`, [new Date(BASE - 2 * DAY), new Date(BASE + 9 * DAY)]);
  const rnd = prng(19);
  const rows: Row[] = [];
  for (const [service_name, action, perDay] of PAIRS) {
    for (let d = 0; d < 6; d++) {
      for (let i = 0; i < perDay; i++) {
        const at = BASE + d * DAY + Math.floor(rnd() * DAY);
        // few distinct durations (ties), some calls still pending (no duration)
        rows.push({ service_name, action, status: rnd() < 0.1 ? 'failed' : 'success', duration_ms: rnd() < 0.05 ? null : Math.floor(rnd() * 40) * 25, created_at: new Date(at).toISOString() });
      }
      // calls at the same instant with the same duration: only the id tells them apart
      const at = new Date(BASE + d * DAY + 43_200_000).toISOString();
      for (let k = 0; k < 3; k++) rows.push({ service_name, action, status: 'success', duration_ms: 975, created_at: at });
    }
  }
  rows.sort(() => rnd() - 0.5);
  // statements of one row, of a few and of many, as the recorder and a backfill write them
  let i = 0;
  for (const size of [1, 1, 1, 5, 20, 500]) {
    await insertRows(rows.slice(i, i + size));
    i += size;
  }
  while (i < rows.length) {
    await insertRows(rows.slice(i, i + 700));
    i += 700;
  }
});
afterAll(async () => {
  await db?.drop();
});

test('after inserts of one row, a few and many, each day keeps exactly its 50 slowest calls', async () => {
  await expectKeptExact();
  const { rows } = await db.pool.query(`SELECT service_name, action, bucket, count(*)::int AS n FROM integration_slowest_day GROUP BY 1, 2, 3`);
  expect(Math.max(...rows.map((r) => r.n))).toBe(50);
  // the pair with 30 calls a day keeps every call that has a duration
  expect(Math.max(...rows.filter((r) => r.action === 'get_email_status').map((r) => r.n))).toBeLessThan(50);
});

test('the function equals the raw rows for random ranges, selections and limits', async () => {
  await expectReadsExact(1);
});

test('DELETE of kept calls refills their days from the raw rows', async () => {
  await db.pool.query(
    `DELETE FROM integration_logs WHERE id IN (
    SELECT id FROM integration_logs WHERE service_name = 'amocrm' AND action = 'sync_lead' AND created_at >= $1 AND created_at < $2
    ORDER BY duration_ms DESC NULLS LAST LIMIT 20)`,
    [new Date(BASE + DAY), new Date(BASE + 2 * DAY)],
  );
  await db.pool.query(`DELETE FROM integration_logs WHERE abs(hashtext(id::text)) % 10 = 0`);
  await expectKeptExact();
  await expectReadsExact(2);
});

test('UPDATE of durations, times and statuses, and pending calls completed, keep the days exact', async () => {
  await db.pool.query(`UPDATE integration_logs SET duration_ms = CASE WHEN abs(hashtext(id::text)) % 2 = 0 THEN duration_ms + 2000 ELSE duration_ms / 3 END
                       WHERE abs(hashtext(id::text)) % 20 = 1`);
  await db.pool.query(`UPDATE integration_logs SET created_at = created_at + interval '1 day' WHERE abs(hashtext(id::text)) % 25 = 2 AND created_at < $1`, [new Date(BASE + 5 * DAY)]);
  await db.pool.query(`UPDATE integration_logs SET status = 'failed', error_code = 'E' WHERE abs(hashtext(id::text)) % 7 = 3`);
  await db.pool.query(`UPDATE integration_logs SET duration_ms = 5000 + abs(hashtext(id::text)) % 100 WHERE duration_ms IS NULL AND abs(hashtext(id::text)) % 2 = 0`);
  await expectKeptExact();
  await expectReadsExact(3);
});

test('one slow call and one fast call at a time: the slow one displaces the 50th, the fast one is not kept', async () => {
  const at = new Date(BASE + 3 * DAY + 1000).toISOString();
  await insertRows([{ service_name: 'resend', action: 'send_email', status: 'success', duration_ms: 99_999, created_at: at }]);
  await insertRows([{ service_name: 'resend', action: 'send_email', status: 'success', duration_ms: 0, created_at: at }]);
  await expectKeptExact();
  const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM integration_slowest_day WHERE duration_ms = 99999`);
  expect(rows[0].n).toBe(1);
});

test('a limit above the kept number is refused; no range, or an empty one, returns nothing', async () => {
  await expect(db.pool.query(`SELECT * FROM integration_slowest_calls(now() - interval '1 day', now(), NULL, NULL, 51)`)).rejects.toMatchObject({ code: '22023' });
  await expect(db.pool.query(`SELECT * FROM integration_slowest_calls(now() - interval '1 day', now(), NULL, NULL, 0)`)).rejects.toMatchObject({ code: '22023' });
  expect((await db.pool.query(`SELECT * FROM integration_slowest_calls(now(), now() - interval '1 day', NULL, NULL)`)).rows).toEqual([]);
  expect((await db.pool.query(`SELECT * FROM integration_slowest_calls(NULL, now(), NULL, NULL)`)).rows).toEqual([]);
  // unbounded, as PostgREST's /rpc may be called: every day whole
  const all = await db.pool.query(`SELECT id::text FROM integration_slowest_calls('-infinity', 'infinity', NULL, NULL)`);
  const want = await db.pool.query(`SELECT id::text FROM integration_logs WHERE duration_ms IS NOT NULL ORDER BY duration_ms DESC, created_at DESC, id DESC LIMIT 50`);
  expect(all.rows).toEqual(want.rows);
  expect(all.rows).toHaveLength(50);
});

describe('two writers at once on one day (the advisory locks)', () => {
  // A day's 60 failed calls of 500 ms, 10 ms apart: the 50 slowest are the 50 newest (equal
  // durations rank newest first). Moving the newest to before the others drops it out of them, so a
  // new success of 500 ms between the 51st and the 50th is then among the 50 slowest. Neither write
  // touches a rollup row the other does (other status; the move stays in its minute and its bin),
  // so only the advisory locks order them; each test races the two.
  const t0 = BASE + 4 * DAY + 30_000;
  async function raceDay(action: string): Promise<string> {
    await insertRows(Array.from({ length: 60 }, (_, i) => ({ service_name: 'race', action, status: 'failed', duration_ms: 500, created_at: new Date(t0 + 10 * i).toISOString() })));
    const { rows } = await db.pool.query(`SELECT id::text FROM integration_logs WHERE service_name = 'race' AND action = $1 AND created_at = $2`, [action, new Date(t0 + 590)]);
    return rows[0].id;
  }
  const moveSql = `UPDATE integration_logs SET created_at = $2 WHERE id = $1`;
  const addSql = `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at) VALUES ('race', $1, 'success', 500, $2)`;
  const addAt = new Date(t0 + 95);

  async function client(): Promise<PoolClient> {
    const c = await db.pool.connect();
    await c.query('BEGIN');
    return c;
  }
  async function keptAdded(action: string): Promise<number> {
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM integration_slowest_day WHERE service_name = 'race' AND action = $1 AND created_at = $2`, [action, addAt]);
    return rows[0].n;
  }

  /**
   * `first` runs and holds its transaction open; `second` starts (and waits on `first`'s locks if
   * any); `first` commits 300 ms later, then `second` finishes and commits.
   */
  async function race(first: [string, unknown[]], second: [string, unknown[]]): Promise<void> {
    const a = await client();
    const b = await client();
    try {
      await a.query(...first);
      const pending = b.query(...second);
      await new Promise((r) => setTimeout(r, 300));
      await a.query('COMMIT');
      await pending;
      await b.query('COMMIT');
    } finally {
      a.release();
      b.release();
    }
  }

  test('a change that refills first: the adder waits, then sees the refilled day and keeps its call', async () => {
    const newest = await raceDay('refill-first');
    await race([moveSql, [newest, new Date(t0 - 1000)]], [addSql, ['refill-first', addAt]]);
    expect(await keptAdded('refill-first')).toBe(1);
    await expectKeptExact();
  });

  test('an adder that decided first: the refill waits for it, then reads its call from the raw rows', async () => {
    const newest = await raceDay('add-first');
    await race([addSql, ['add-first', addAt]], [moveSql, [newest, new Date(t0 - 1000)]]);
    expect(await keptAdded('add-first')).toBe(1);
    await expectKeptExact();
  });
});

test('retention cutting a day in two: older kept rows go, the cut day is refilled from what stays', async () => {
  const cutAt = BASE + 2 * DAY + 13 * 3_600_000 + 17 * 60_000;
  const { rows } = await db.pool.query(`SELECT cleanup_old_integration_logs(now() - $1::timestamptz) AS n`, [new Date(cutAt)]);
  expect(Number(rows[0].n)).toBeGreaterThan(0);
  const left = await db.pool.query(`SELECT min(created_at) AS lo FROM integration_slowest_day`);
  expect(new Date(left.rows[0].lo).getTime()).toBeGreaterThanOrEqual(cutAt - 60_000);
  await expectKeptExact();
  await expectReadsExact(4, 20);
});
