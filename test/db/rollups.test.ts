import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { prng as rng } from '../helpers/prng';
import { sparseHist } from '../helpers/sparse-hist';

const SERVICES = ['amocrm', 'resend', 'telegram', 'mobizon', 'whapi'];
const ACTIONS = ['sync_lead', 'send_email', 'send_message'];
const STATUSES = ['success', 'success', 'success', 'failed', 'pending', 'retrying'];

interface Row {
  s: string;
  a: string;
  st: string;
  d: number | null;
  r: number | null;
  at: Date;
}

function randomRows(rand: () => number, n: number, start: number, spanMs: number): Row[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  return Array.from({ length: n }, () => ({
    s: pick(SERVICES),
    a: pick(ACTIONS),
    st: pick(STATUSES),
    d: rand() < 0.1 ? null : rand() < 0.05 ? 0 : Math.floor(Math.exp(rand() * 9)),
    r: rand() < 0.1 ? null : Math.floor(rand() * 3),
    at: new Date(start + Math.floor(rand() * spanMs)),
  }));
}

async function copyRows(db: TestDatabase, rows: Row[]) {
  const c = await db.pool.connect();
  try {
    const body = rows.map((r) => [r.s, r.a, r.st, r.d ?? '\\N', r.r ?? '\\N', r.at.toISOString()].join('\t')).join('\n') + '\n';
    await pipeline(Readable.from([body]), c.query(copyFrom('COPY integration_logs (service_name, action, status, duration_ms, retry_count, created_at) FROM STDIN')));
  } finally {
    c.release();
  }
}

async function insertRows(db: TestDatabase, rows: Row[]) {
  await db.pool.query(
    `INSERT INTO integration_logs (service_name, action, status, duration_ms, retry_count, created_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::timestamptz[])`,
    [rows.map((r) => r.s), rows.map((r) => r.a), rows.map((r) => r.st), rows.map((r) => r.d), rows.map((r) => r.r), rows.map((r) => r.at)],
  );
}

const RAW_AGG = (width: string) => `
  SELECT date_bin('${width}'::interval, created_at, '1970-01-01 00:00:00+00') AS bucket, service_name, action, status,
         count(*) AS calls, count(duration_ms) AS duration_n, coalesce(sum(duration_ms), 0)::bigint AS duration_sum,
         min(duration_ms) AS duration_min, max(duration_ms) AS duration_max,
         coalesce(sum(retry_count), 0)::bigint AS retry_sum, count(*) FILTER (WHERE retry_count > 0) AS retried
  FROM integration_logs GROUP BY 1, 2, 3, 4`;
const RAW_HIST = (width: string) => `
  SELECT date_bin('${width}'::interval, created_at, '1970-01-01 00:00:00+00') AS bucket, service_name, action, status,
         integration_latency_bin(duration_ms) AS bin, count(*) AS n
  FROM integration_logs WHERE duration_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5`;

/** Rows in one set and not the other (both directions); 0 means identical multisets. */
async function differences(db: TestDatabase, a: string, b: string): Promise<number> {
  const { rows } = await db.pool.query(`SELECT (SELECT count(*) FROM ((${a}) EXCEPT ALL (${b})) x) + (SELECT count(*) FROM ((${b}) EXCEPT ALL (${a})) y) AS n`);
  return Number(rows[0].n);
}

async function expectRollupsExact(db: TestDatabase) {
  for (const [level, width] of [
    ['minute', '1 minute'],
    ['hour', '1 hour'],
    ['day', '1 day'],
  ]) {
    // Minutes are kept only within the minute window (015); hours and days for everything.
    const raw = level === 'minute' ? `SELECT * FROM (${RAW_AGG(width)}) r WHERE r.bucket >= integration_minute_kept_from()` : RAW_AGG(width);
    expect(await differences(db, `SELECT * FROM integration_rollup_${level}`, raw)).toBe(0);
  }
  const { rows: old } = await db.pool.query(`SELECT count(*)::int AS n FROM integration_rollup_minute WHERE bucket < integration_minute_kept_from()`);
  expect(old[0].n).toBe(0);
  // Histograms start at the hour (007); sub-hour edges are read from raw rows.
  for (const [level, width] of [
    ['hour', '1 hour'],
    ['day', '1 day'],
  ]) {
    expect(await differences(db, `SELECT * FROM integration_latency_hist_${level}`, sparseHist(RAW_HIST(width), 'bucket, service_name, action, status'))).toBe(0);
  }
  for (const [level, width] of [
    ['hour', '1 hour'],
    ['day', '1 day'],
  ]) {
    const raw = `SELECT date_bin('${width}'::interval, created_at, '1970-01-01 00:00:00+00') AS bucket, service_name, integration_latency_bin(duration_ms) AS bin, count(*) AS n
                 FROM integration_logs WHERE duration_ms IS NOT NULL GROUP BY 1, 2, 3`;
    expect(await differences(db, `SELECT * FROM integration_latency_hist_service_${level}`, sparseHist(raw, 'bucket, service_name'))).toBe(0);
    const rawCalls = `SELECT date_bin('${width}'::interval, created_at, '1970-01-01 00:00:00+00'), service_name, count(*), count(*) FILTER (WHERE status = 'failed')
                      FROM integration_logs GROUP BY 1, 2`;
    expect(await differences(db, `SELECT * FROM integration_rollup_service_${level}`, rawCalls)).toBe(0);
  }
}

/** integration_range_agg over [from, to) with width w equals the same aggregation of raw rows. */
async function expectRangeExact(db: TestDatabase, from: string, to: string, width: string | null) {
  const bucket = width ? `date_bin('${width}'::interval, created_at, '1970-01-01 00:00:00+00')` : `'${from}'::timestamptz`;
  const raw = `SELECT ${bucket} AS bucket, service_name, action, status, count(*), count(duration_ms), coalesce(sum(duration_ms), 0)::bigint,
                      min(duration_ms), max(duration_ms), coalesce(sum(retry_count), 0)::bigint, count(*) FILTER (WHERE retry_count > 0)
               FROM integration_logs WHERE created_at >= '${from}' AND created_at < '${to}' GROUP BY 1, 2, 3, 4`;
  const agg = `SELECT * FROM integration_range_agg('${from}', '${to}', ${width ? `'${width}'` : 'NULL'})`;
  expect({ from, to, width, diff: await differences(db, agg, raw) }).toEqual({ from, to, width, diff: 0 });
  const rawHist = `SELECT ${bucket} AS bucket, service_name, action, status, integration_latency_bin(duration_ms), count(*)
                   FROM integration_logs WHERE created_at >= '${from}' AND created_at < '${to}' AND duration_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5`;
  const hist = `SELECT * FROM integration_hist_range('${from}', '${to}', ${width ? `'${width}'` : 'NULL'})`;
  expect({ from, to, width, histDiff: await differences(db, hist, rawHist) }).toEqual({ from, to, width, histDiff: 0 });
  const rawSvc = `SELECT ${bucket} AS bucket, service_name, integration_latency_bin(duration_ms), count(*)
                  FROM integration_logs WHERE created_at >= '${from}' AND created_at < '${to}' AND duration_ms IS NOT NULL GROUP BY 1, 2, 3`;
  const svc = `SELECT * FROM integration_hist_range_service('${from}', '${to}', ${width ? `'${width}'` : 'NULL'})`;
  expect({ from, to, width, serviceHistDiff: await differences(db, svc, rawSvc) }).toEqual({ from, to, width, serviceHistDiff: 0 });
  const rawCalls = `SELECT ${bucket} AS bucket, service_name, count(*), count(*) FILTER (WHERE status = 'failed')
                    FROM integration_logs WHERE created_at >= '${from}' AND created_at < '${to}' GROUP BY 1, 2`;
  const calls = `SELECT * FROM integration_range_agg_service('${from}', '${to}', ${width ? `'${width}'` : 'NULL'})`;
  expect({ from, to, width, serviceCallsDiff: await differences(db, calls, rawCalls) }).toEqual({ from, to, width, serviceCallsDiff: 0 });
}

describe('rollups stay exactly consistent with integration_logs', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  const rand = rng(20261127);
  const now = Date.now();

  test('COPY, multi-row INSERT and single-row INSERT', async () => {
    await copyRows(db, randomRows(rand, 4000, now - 3 * 86400e3, 3 * 86400e3));
    await insertRows(db, randomRows(rand, 1500, now - 6 * 3600e3, 6 * 3600e3));
    for (const r of randomRows(rand, 20, now - 600e3, 600e3)) await insertRows(db, [r]);
    await expectRollupsExact(db);
  });

  test('late rows with old timestamps (and far-future ones) in the default partition', async () => {
    await insertRows(db, randomRows(rand, 300, now - 400 * 86400e3, 200 * 86400e3));
    await copyRows(db, randomRows(rand, 50, now + 1000 * 86400e3, 86400e3));
    await expectRollupsExact(db);
  });

  test('rows around the minute window start (7-8 days back) keep minutes only within it', async () => {
    await insertRows(db, randomRows(rand, 600, now - 9 * 86400e3, 3 * 86400e3));
    const { rows } = await db.pool.query(
      `SELECT count(*) FILTER (WHERE created_at < integration_minute_kept_from())::int AS before, count(*) FILTER (WHERE created_at >= integration_minute_kept_from())::int AS inside
       FROM integration_logs WHERE created_at >= now() - interval '9 days' AND created_at < now() - interval '6 days'`,
    );
    expect(rows[0].before).toBeGreaterThan(50);
    expect(rows[0].inside).toBeGreaterThan(50);
    await expectRollupsExact(db);
  });

  test('UPDATE pending → success with a duration, and other column changes', async () => {
    await db.pool.query(`UPDATE integration_logs SET status = 'success', duration_ms = coalesce(duration_ms, 0) + 7, updated_at = now() WHERE status = 'pending'`);
    await db.pool.query(`UPDATE integration_logs SET retry_count = retry_count + 1 WHERE status = 'retrying' AND duration_ms % 3 = 0`);
    // Only non-aggregated columns: nothing to change in rollups.
    await db.pool.query(`UPDATE integration_logs SET error_message = 'x' WHERE status = 'failed'`);
    // Moves rows across buckets (created_at) and services.
    await db.pool.query(`UPDATE integration_logs SET created_at = created_at - interval '37 minutes', service_name = 'whapi' WHERE duration_ms % 11 = 0`);
    // Makes the max/min of some groups disappear.
    await db.pool.query(`UPDATE integration_logs SET duration_ms = 1 WHERE duration_ms > 5000`);
    await expectRollupsExact(db);
  });

  test('DELETE of scattered rows and of whole groups', async () => {
    await db.pool.query(`DELETE FROM integration_logs WHERE duration_ms % 5 = 0`);
    await db.pool.query(`DELETE FROM integration_logs WHERE service_name = 'mobizon' AND action = 'send_email'`);
    await expectRollupsExact(db);
  });

  test('a DELETE drops the groups it empties at every level; survivors that lost their min or max get them from the rows left', async () => {
    // A group of one minute (so of one hour and one day) and a group of a single row, in a service
    // no other test writes: what the change trigger does per group is visible row by row.
    const minute = Math.floor((now - 2 * 3600e3) / 60e3) * 60e3;
    const at = (s: number) => new Date(minute + s * 1000);
    const rows: Row[] = [5, 10, 12, 20, 40].map((d, i) => ({ s: 'trigger_probe', a: 'kept', st: 'success', d, r: 0, at: at(i + 1) }));
    rows.push({ s: 'trigger_probe', a: 'emptied', st: 'success', d: 7, r: 0, at: at(10) });
    await insertRows(db, rows);
    const groups = async () => {
      const { rows: got } = await db.pool.query(
        `SELECT l.level, r.action, r.calls::int, r.duration_min AS mn, r.duration_max AS mx
         FROM (VALUES ('minute'), ('hour'), ('day')) l(level)
         CROSS JOIN LATERAL (SELECT * FROM integration_rollup_minute WHERE l.level = 'minute' UNION ALL
                             SELECT * FROM integration_rollup_hour WHERE l.level = 'hour' UNION ALL
                             SELECT * FROM integration_rollup_day WHERE l.level = 'day') r
         WHERE r.service_name = 'trigger_probe' ORDER BY 1, 2`,
      );
      return got;
    };
    const each = (action: string, calls: number, mn: number, mx: number) => ['day', 'hour', 'minute'].map((level) => ({ level, action, calls, mn, mx }));
    expect(await groups()).toEqual([...each('emptied', 1, 7, 7), ...each('kept', 5, 5, 40)].sort((x, y) => x.level.localeCompare(y.level)));

    // its min and its max, and the only row of the other group
    const del = await db.pool.query(`DELETE FROM integration_logs WHERE service_name = 'trigger_probe' AND (duration_ms IN (5, 40) OR action = 'emptied')`);
    expect(del.rowCount).toBe(3);
    expect(await groups()).toEqual(each('kept', 3, 10, 20).sort((x, y) => x.level.localeCompare(y.level)));
    const { rows: left } = await db.pool.query(
      `SELECT (SELECT count(*) FROM integration_latency_hist_hour WHERE service_name = 'trigger_probe' AND action = 'emptied')
            + (SELECT count(*) FROM integration_latency_hist_day WHERE service_name = 'trigger_probe' AND action = 'emptied') AS n`,
    );
    expect(Number(left[0].n)).toBe(0);

    // a value that was neither min nor max becomes the max; then the min moves up
    await db.pool.query(`UPDATE integration_logs SET duration_ms = 100 WHERE service_name = 'trigger_probe' AND duration_ms = 12`);
    expect(await groups()).toEqual(each('kept', 3, 10, 100).sort((x, y) => x.level.localeCompare(y.level)));
    await db.pool.query(`UPDATE integration_logs SET duration_ms = 15 WHERE service_name = 'trigger_probe' AND duration_ms = 10`);
    expect(await groups()).toEqual(each('kept', 3, 15, 100).sort((x, y) => x.level.localeCompare(y.level)));
    // every row of the group rewritten: its min and max are the new values' (none of the old ones left)
    await db.pool.query(`UPDATE integration_logs SET duration_ms = duration_ms * 2 WHERE service_name = 'trigger_probe'`);
    expect(await groups()).toEqual(each('kept', 3, 30, 200).sort((x, y) => x.level.localeCompare(y.level)));
    await expectRollupsExact(db);
  });

  test('one UPDATE and one DELETE of thousands of rows (every row of a dense range) stay exact', async () => {
    // what bench/writes.ts times: the newest rows of a service rewritten, then deleted, in one statement each
    await copyRows(db, randomRows(rand, 3000, now - 2 * 3600e3, 2 * 3600e3));
    const upd = await db.pool.query(`UPDATE integration_logs SET status = 'success', duration_ms = duration_ms + 1 WHERE created_at >= now() - interval '2 hours' AND created_at < now()`);
    expect(upd.rowCount).toBeGreaterThan(2000);
    await expectRollupsExact(db);
    const del = await db.pool.query(`DELETE FROM integration_logs WHERE created_at >= now() - interval '90 minutes' AND created_at < now()`);
    expect(del.rowCount).toBeGreaterThan(1500);
    await expectRollupsExact(db);
  });

  test('concurrent writers on the same keys do not deadlock and stay exact', async () => {
    const batches = Array.from({ length: 6 }, () => randomRows(rand, 400, now - 3600e3, 3600e3));
    await Promise.all(batches.map((b, i) => (i % 2 ? copyRows(db, b) : insertRows(db, b))));
    await expectRollupsExact(db);
  });

  test('range reads equal raw aggregation for unaligned ranges and any width', async () => {
    const iso = (ms: number) => new Date(ms).toISOString();
    const cases: Array<[string, string, string | null]> = [
      [iso(now - 2.7 * 86400e3 - 1234), iso(now - 3 * 60e3 - 567), '1 hour'],
      [iso(now - 2.7 * 86400e3 - 1234), iso(now + 1000), '1 day'],
      [iso(now - 2.7 * 86400e3 - 1234), iso(now + 1000), null],
      [iso(now - 5 * 3600e3 - 17), iso(now - 3600e3 + 17), '5 minutes'],
      [iso(now - 5 * 3600e3 - 17), iso(now - 3600e3 + 17), '30 seconds'],
      [iso(now - 5 * 3600e3 - 17), iso(now - 3600e3 + 17), '90 seconds'],
      [iso(now - 20 * 3600e3), iso(now - 19.99 * 3600e3), '1 hour'],
      ['-infinity', 'infinity', null],
      ['-infinity', 'infinity', '1 day'],
      [iso(now - 86400e3), 'infinity', '1 hour'],
      // before and across the minute window's start (raw rows stand in for minutes there)
      [iso(now - 7 * 86400e3 - 5 * 3600e3 - 17), iso(now - 7 * 86400e3 + 3 * 3600e3 + 17), '5 minutes'],
      [iso(now - 7 * 86400e3 - 5 * 3600e3 - 17), iso(now - 7 * 86400e3 + 3 * 3600e3 + 17), '1 hour'],
      [iso(now - 8.5 * 86400e3 - 1234), iso(now - 6.2 * 86400e3 + 17), null],
      [iso(now - 8.5 * 86400e3 - 1234), iso(now - 6.2 * 86400e3 + 17), '1 day'],
      [iso(now - 300 * 86400e3 - 1234), iso(now - 299.9 * 86400e3), '1 minute'],
    ];
    for (const [f, t, w] of cases) await expectRangeExact(db, f, t, w);
  });

  test('integration_last_call_at equals max(created_at) over raw rows, any window, failed or not', async () => {
    // Windows whose ends sit exactly on existing rows (inclusive from, exclusive to) and a few
    // microseconds off, so edge minutes and hours hold calls just outside the window.
    const { rows: at } = await db.pool.query(`SELECT created_at::text AS t FROM integration_logs ORDER BY random() LIMIT 60`);
    const { rows: extra } = await db.pool.query(`SELECT (now() - interval '1 day')::text AS f, now()::text AS t`);
    // [from, to, shift of from, shift of to]
    const windows: Array<[string, string, string, string]> = [
      [extra[0].f, extra[0].t, '0', '0'],
      ['-infinity', 'infinity', '0', '0'],
    ];
    for (let i = 0; i + 1 < at.length; i += 2) {
      const [a, b] = [at[i].t, at[i + 1].t].sort((x, y) => Date.parse(x) - Date.parse(y));
      windows.push([a, b, '0', '0'], [a, b, '1 microsecond', '1 microsecond'], [a, a, '0', `${Math.floor(rand() * 3 * 3600)} seconds`]);
    }
    let compared = 0;
    for (const [f0, t0, df, dt] of windows) {
      const f = `${f0} + ${df}`;
      const t = `${t0} + ${dt}`;
      const { rows } = await db.pool.query(
        `WITH w AS (SELECT $1::timestamptz + $3::interval AS f, $2::timestamptz + $4::interval AS t)
         SELECT s, fl, integration_last_call_at(s, w.f, w.t, fl) AS got,
                (SELECT max(l.created_at) FROM integration_logs l
                 WHERE l.service_name = s AND (NOT fl OR l.status = 'failed') AND l.created_at >= w.f AND l.created_at < w.t) AS want
         FROM w CROSS JOIN unnest($5::text[]) s CROSS JOIN (VALUES (false), (true)) v(fl)`,
        [f0, t0, df, dt, SERVICES],
      );
      for (const r of rows) {
        expect({ f, t, s: r.s, failed: r.fl, at: r.got?.toISOString() ?? null }).toEqual({ f, t, s: r.s, failed: r.fl, at: r.want?.toISOString() ?? null });
        if (r.want !== null) compared++;
      }
    }
    expect(compared).toBeGreaterThan(50); // most windows do hold calls
  });

  test('partition drops and retention keep rollups; the rest stays exact', async () => {
    await db.pool.query(`SELECT count(*) FROM ensure_integration_log_partitions(0, 5)`);
    // Rows that sit in the default partition before their partition existed were moved, not lost.
    await expectRollupsExact(db);
    const before = await db.pool.query(`SELECT sum(calls)::bigint AS n FROM integration_rollup_day`);
    const removed = await db.pool.query(`SELECT cleanup_old_integration_logs('2 days') AS n`);
    expect(Number(removed.rows[0].n)).toBeGreaterThan(0);
    const after = await db.pool.query(`SELECT sum(calls)::bigint AS n FROM integration_rollup_day`);
    expect(after.rows[0].n).toBe(before.rows[0].n);
    // Within raw retention the rollups still equal raw rows.
    const cutoff = new Date(now - 2 * 86400e3 + 120e3).toISOString();
    await expectRangeExact(db, cutoff, new Date(now + 1000).toISOString(), '1 hour');
    await expectRangeExact(db, cutoff, new Date(now + 1000).toISOString(), '1 minute');
  });
});

describe('percentiles from merged histograms', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  const distributions: Record<string, (rand: () => number) => number> = {
    // long tail: lognormal-ish
    skewed: (rand) => Math.floor(Math.exp(3 + 2.2 * Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand()))),
    bimodal: (rand) => (rand() < 0.7 ? 20 + Math.floor(rand() * 15) : 2000 + Math.floor(rand() * 1500)),
    constant: () => 150,
    tiny: (rand) => Math.floor(rand() * 4),
  };

  test.each(Object.keys(distributions))('%s: p50/p95/p99 within 5 %% of percentile_cont, any range', async (name) => {
    const rand = rng(name.length * 7919);
    const now = Date.now();
    const rows: Row[] = Array.from({ length: 6000 }, () => ({
      s: name,
      a: rand() < 0.5 ? 'x' : 'y',
      st: 'success',
      d: Math.min(2_000_000_000, distributions[name](rand)),
      r: 0,
      at: new Date(now - Math.floor(rand() * 3 * 86400e3)),
    }));
    await copyRows(db, rows);
    const ranges: Array<[Date, Date]> = [
      [new Date(now - 3 * 86400e3), new Date(now + 1)],
      [new Date(now - 50.5 * 3600e3 + 333), new Date(now - 3.2 * 3600e3)],
      [new Date(now - 7 * 60e3 - 10), new Date(now)],
    ];
    for (const [from, to] of ranges) {
      for (const action of [null, 'x']) {
        const { rows: out } = await db.pool.query(
          `WITH h AS (SELECT bin, sum(n)::bigint AS n FROM integration_hist_range($1, $2) WHERE service_name = $3 AND ($4::text IS NULL OR action = $4) GROUP BY bin),
                raw AS (SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) AS p
                        FROM integration_logs WHERE created_at >= $1 AND created_at < $2 AND service_name = $3 AND ($4::text IS NULL OR action = $4))
           SELECT (SELECT p FROM raw) AS exact,
                  ARRAY[integration_hist_percentile(array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin), 0.5),
                        integration_hist_percentile(array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin), 0.95),
                        integration_hist_percentile(array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin), 0.99)] AS est
           FROM h`,
          [from, to, name, action],
        );
        const exact = out[0].exact as number[] | null;
        const est = out[0].est as Array<number | null>;
        if (!exact) {
          expect(est.every((v) => v === null)).toBe(true);
          continue;
        }
        exact.forEach((e, i) => {
          const tolerance = Math.max(0.05 * Math.abs(e), 1e-9);
          expect({ name, i, diff: Math.abs((est[i] as number) - e) <= tolerance, e, est: est[i] }).toMatchObject({ diff: true });
        });
      }
    }
  });
});

describe('latency bin functions', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  // The triggers and the raw edges call them per row; inlined they cost a fraction of a call (007).
  test.each(['integration_latency_bin(duration_ms)', 'integration_latency_bin_value(duration_ms)'])('%s is inlined into the query', async (expr) => {
    const { rows } = await db.pool.query(`EXPLAIN (VERBOSE, COSTS OFF) SELECT ${expr} FROM integration_logs`);
    const plan = rows.map((r) => r['QUERY PLAN'] as string).join('\n');
    expect(plan).toContain('CASE WHEN');
    expect(plan).not.toMatch(/integration_latency_bin(_value)?\(/);
  });

  test('integration_hist_bins(bins, ns) is inlined into the query: an unnest of the row', async () => {
    const { rows } = await db.pool.query(`EXPLAIN (VERBOSE, COSTS OFF) SELECT u.bin, u.n FROM integration_latency_hist_hour h CROSS JOIN LATERAL integration_hist_bins(h.bins, h.ns) u`);
    const plan = rows.map((r) => r['QUERY PLAN'] as string).join('\n');
    expect(plan).toContain('unnest(h.bins), unnest(h.ns)');
    expect(plan).not.toContain('integration_hist_bins');
  });

  test('every integer duration has a bin a smallint holds (the histogram tables store bins as smallint, 017)', async () => {
    const { rows } = await db.pool.query(`SELECT integration_latency_bin(2147483647) AS hi, integration_latency_bin(-2147483648) AS lo`);
    expect(rows[0].hi).toBeGreaterThan(0);
    expect(rows[0].hi).toBeLessThanOrEqual(32767);
    expect(rows[0].lo).toBeGreaterThanOrEqual(-32768);
  });

  test('NULL in, NULL out; 0, positive and negative durations mirror', async () => {
    const { rows } = await db.pool.query(
      `SELECT integration_latency_bin(NULL) AS n, integration_latency_bin_value(NULL) AS v, integration_latency_bin(0) AS z,
              integration_latency_bin(100) AS p, integration_latency_bin(-100) AS m, integration_latency_bin_value(integration_latency_bin(100)) AS pv`,
    );
    expect(rows[0]).toMatchObject({ n: null, v: null, z: 0 });
    expect(rows[0].m).toBe(-rows[0].p);
    expect(Math.abs(rows[0].pv - 100) / 100).toBeLessThanOrEqual(Math.sqrt(1.05) - 1);
  });
});
