import { Pool } from 'pg';
import { createTestDatabase, TestDatabase } from '../helpers/db';

// The seed's writers (through PostgREST, autocommit): INSERT a pending call, then UPDATE it by id to
// success or failed. Concurrently these hit the same rollup and histogram rows (same services,
// actions and minute), once under 'pending' and once under 'pending' and 'success'; the triggers
// must take those row locks in one order everywhere or two such statements deadlock (40P01), which
// a PostgREST caller gets as a failed request.
const WRITERS = 4;
const ITERATIONS = 150;
const SERVICES = ['amocrm', 'resend'];
const ACTIONS = ['send', 'sync'];

/** What the rollups must equal: raw rows grouped (minutes only within the kept window, 015). */
const EXPECTED: Array<[string, string]> = [
  [
    'integration_rollup_minute',
    `SELECT date_bin('1 minute'::interval, created_at, '1970-01-01 00:00:00+00'), service_name, action, status, count(*), count(duration_ms),
      coalesce(sum(duration_ms), 0)::bigint, min(duration_ms), max(duration_ms), coalesce(sum(retry_count), 0)::bigint, count(*) FILTER (WHERE retry_count > 0)
    FROM integration_logs WHERE created_at >= integration_minute_kept_from() GROUP BY 1, 2, 3, 4`,
  ],
  ...(['hour', 'day'] as const).map((l): [string, string] => [
    `integration_rollup_${l}`,
    `SELECT date_bin('1 ${l}'::interval, created_at, '1970-01-01 00:00:00+00'), service_name, action, status, count(*), count(duration_ms),
        coalesce(sum(duration_ms), 0)::bigint, min(duration_ms), max(duration_ms), coalesce(sum(retry_count), 0)::bigint, count(*) FILTER (WHERE retry_count > 0)
      FROM integration_logs GROUP BY 1, 2, 3, 4`,
  ]),
  ...(['hour', 'day'] as const).flatMap((l): Array<[string, string]> => [
    [
      `integration_latency_hist_${l}`,
      `SELECT date_bin('1 ${l}'::interval, created_at, '1970-01-01 00:00:00+00'), service_name, action, status, integration_latency_bin(duration_ms), count(*)
        FROM integration_logs WHERE duration_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5`,
    ],
    [
      `integration_latency_hist_service_${l}`,
      `SELECT date_bin('1 ${l}'::interval, created_at, '1970-01-01 00:00:00+00'), service_name, integration_latency_bin(duration_ms), count(*)
        FROM integration_logs WHERE duration_ms IS NOT NULL GROUP BY 1, 2, 3`,
    ],
    [
      `integration_rollup_service_${l}`,
      `SELECT date_bin('1 ${l}'::interval, created_at, '1970-01-01 00:00:00+00'), service_name, count(*), count(*) FILTER (WHERE status = 'failed')
        FROM integration_logs GROUP BY 1, 2`,
    ],
  ]),
];

describe('rollup triggers under concurrent insert-then-update-by-id writers', () => {
  let db: TestDatabase;
  let writers: Pool;
  beforeAll(async () => {
    db = await createTestDatabase();
    // a deadlock is found after deadlock_timeout (1 s by default) of waiting; a short one keeps
    // each occurrence from stalling the writers for a second
    writers = new Pool({ connectionString: db.url, max: WRITERS + 1, options: '-c deadlock_timeout=100ms' });
  });
  afterAll(async () => {
    await writers?.end();
    await db?.drop();
  });

  test('no statement deadlocks and every rollup equals the raw rows grouped', async () => {
    const deadlocks: string[] = [];
    let statements = 0;
    // every statement is its own transaction (autocommit), as PostgREST runs a request
    const run = async (sql: string, params: unknown[]) => {
      statements++;
      try {
        return await writers.query(sql, params);
      } catch (err) {
        if ((err as { code?: string }).code !== '40P01') throw err;
        deadlocks.push(sql.split('\n')[0]);
        return null;
      }
    };
    const writer = async (w: number) => {
      for (let i = 0; i < ITERATIONS; i++) {
        const s = SERVICES[(w + i) % SERVICES.length];
        const a = ACTIONS[(i >> 1) % ACTIONS.length];
        if (i % 25 === 7) {
          // now and then several calls in one statement, and an update of several (the batch writers)
          const ins = await run(
            `INSERT INTO integration_logs (service_name, action, status, retry_count)
             SELECT unnest($1::text[]), unnest($2::text[]), 'pending', 0 RETURNING id`,
            [[...SERVICES, ...SERVICES].reverse(), [...ACTIONS, ...ACTIONS]],
          );
          if (ins) {
            await run(`UPDATE integration_logs SET status = CASE WHEN random() < 0.5 THEN 'failed' ELSE 'success' END, duration_ms = 5 + $2::int WHERE id = ANY($1::uuid[])`, [
              ins.rows.map((r) => r.id),
              i,
            ]);
          }
          continue;
        }
        if (i % 50 === 31) {
          // and a cleanup that deletes some finished calls
          await run(`DELETE FROM integration_logs WHERE id IN (SELECT id FROM integration_logs WHERE service_name = $1 AND status = 'failed' LIMIT 3)`, [s]);
          continue;
        }
        const ins = await run(`INSERT INTO integration_logs (service_name, action, status, retry_count) VALUES ($1, $2, 'pending', 0) RETURNING id`, [s, a]);
        if (!ins) continue;
        const status = i % 7 === 0 ? 'failed' : 'success';
        await run(`UPDATE integration_logs SET status = $2, duration_ms = $3, retry_count = $4, updated_at = now() WHERE id = $1`, [ins.rows[0].id, status, 10 + ((w * 37 + i) % 900), i % 3]);
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));

    console.log(`${WRITERS} writers, ${statements} statements in ${Date.now() - started} ms, ${deadlocks.length} deadlocks`);
    expect(deadlocks).toEqual([]);
    for (const [table, raw] of EXPECTED) {
      const { rows } = await db.pool.query(`SELECT (SELECT count(*) FROM (SELECT * FROM ${table} EXCEPT ALL (${raw})) x) + (SELECT count(*) FROM ((${raw}) EXCEPT ALL SELECT * FROM ${table}) y) AS n`);
      expect({ table, differences: Number(rows[0].n) }).toEqual({ table, differences: 0 });
    }
  }, 60_000);
});
