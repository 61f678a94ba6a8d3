/**
 * Issue 25, the seed's writers: adoption while they keep writing the seed's way (PostgREST as
 * service_role: insert a pending call, with or without id/created_at, then update it by id to
 * success/failed) — every row they wrote there exactly once with its last status, the longest pause
 * any of them saw measured and printed; `migrate` killed in the middle of the history copy and run
 * again completes with every row once; a table called integration_logs that is not the seed's is
 * refused, in one line, with nothing changed.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { Pool } from 'pg';
import { migrate } from '../../src/db/migrate';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { postgrest } from '../helpers/postgrest';
import { buildSeed004, checksum, expectedAfterAdoption, expectRollupsExact, rowsOf } from '../helpers/seed004';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `integration-monitor migrate` on `url` in a child process (lib/, built by `npm test`). */
function cliMigrate(url: string) {
  const child = spawn(process.execPath, ['bin/integration-monitor.js', 'migrate'], { cwd: ROOT, env: { ...process.env, DATABASE_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, out: () => ({ stdout, stderr }) };
}

describe('writers keep writing through the adoption', () => {
  let db: TestDatabase;
  let writers: Pool;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
    await buildSeed004(db.pool, { rows: 30_000, days: 30, plainGrants: true });
    writers = new Pool({ connectionString: db.url, max: 8 });
  });
  afterAll(async () => {
    await writers?.end();
    await db?.drop();
  });

  test('every row they wrote is there exactly once with its last status; no request failed; the longest pause printed', async () => {
    const before = Number((await db.pool.query('SELECT count(*) FROM integration_logs')).rows[0].count);
    const api = postgrest(writers, 'service_role');
    const written = new Map<string, string>();
    const failures: string[] = [];
    let longest = 0;
    let stop = false;
    let deadlocks = 0;
    // A request's time as its caller sees it. A deadlock (40P01) is counted and retried so the run
    // goes on, but must not happen: the rollup triggers take their row locks in one order
    // (test/db/rollup-deadlocks.test.ts), and a supabase-js caller would get it as an error.
    const timed = async <T>(fn: () => Promise<T>): Promise<T> => {
      const t = process.hrtime.bigint();
      try {
        for (;;) {
          try {
            return await fn();
          } catch (err) {
            if ((err as { code?: string }).code !== '40P01') throw err;
            deadlocks++;
          }
        }
      } finally {
        longest = Math.max(longest, Number(process.hrtime.bigint() - t) / 1e6);
      }
    };
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          // half with their own id and created_at (supabase-js sends what the caller gives), half without
          const own = i % 2 === 0 ? { id: crypto.randomUUID(), created_at: new Date().toISOString() } : {};
          const [row] = await timed(() => api.insert({ ...own, service_name: ['amocrm', 'resend', 'whapi'][w % 3], action: 'send', status: 'pending', request_payload: { w, i } }));
          const id = row.id as string;
          written.set(id, 'pending');
          const status = i % 5 === 0 ? 'failed' : 'success';
          const updated = await timed(() => api.updateById(id, { status, duration_ms: 10 + i, updated_at: new Date().toISOString() }));
          if (updated.length !== 1) failures.push(`update of ${id} matched ${updated.length} rows`);
          else written.set(id, status);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const running = [0, 1, 2, 3].map(writer);
    await sleep(1000);
    // Calls the writers completed while the history was being copied (after the swap, before the
    // end): the copy must not hold them up. How long they waited is bench/adoption.ts's to measure.
    let atCopyStart = -1;
    let duringCopy = 0;
    const watch = (async () => {
      while (!stop) {
        const { rows } = await db.pool
          .query(`SELECT copied > copied_in_swap AND finished_at IS NULL AS copying FROM integration_monitor_adoption`)
          .catch(() => ({ rows: [] as Array<{ copying: boolean }> })); // the table comes with the swap
        if (rows.some((r) => r.copying)) {
          if (atCopyStart < 0) atCopyStart = written.size;
          duringCopy = written.size - atCopyStart;
        }
        await sleep(50);
      }
    })();
    const started = Date.now();
    const result = await migrate(db.url, { adoption: { batchRows: 1000 } });
    const adoptionMs = Date.now() - started;
    await sleep(1000);
    stop = true;
    await Promise.all([...running, watch]);

    console.log(
      `adoption of ${before} seed rows with 4 writers: ${adoptionMs} ms in all, seed table locked ${result.adoption?.lockedMs} ms; ` +
        `${written.size} calls written (insert + update each), longest writer request ${longest.toFixed(0)} ms (${deadlocks} deadlocks retried)`,
    );
    expect(failures).toEqual([]);
    expect(deadlocks).toBe(0);
    expect(written.size).toBeGreaterThan(20);
    const { rows } = await db.pool.query(`SELECT id::text, status, count(*) OVER (PARTITION BY id)::int AS copies FROM integration_logs WHERE id = ANY($1::uuid[])`, [[...written.keys()]]);
    expect(rows.length).toBe(written.size);
    expect(rows.filter((r) => r.copies !== 1 || r.status !== written.get(r.id))).toEqual([]);
    expect(Number((await db.pool.query('SELECT count(*) FROM integration_logs')).rows[0].count)).toBe(before + written.size);
    expect(Number((await db.pool.query('SELECT count(*) FROM integration_logs_default')).rows[0].count)).toBe(0);
    expect(duringCopy).toBeGreaterThan(0);
    await expectRollupsExact(db.pool);
  });
});

describe('a killed adoption, run again, completes', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
    await buildSeed004(db.pool, { rows: 40_000, days: 60, plainGrants: true });
  });
  afterAll(async () => {
    await db?.drop();
  });

  test('SIGKILL in the middle of the history copy; the second run continues from where the first stopped', async () => {
    const before = await rowsOf(db.pool, 'integration_logs');
    const run = cliMigrate(db.url);
    let copiedAtKill = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(30)) {
      const { rows } = await db.pool.query(`SELECT to_regclass('integration_monitor_adoption') IS NOT NULL AS t`);
      if (!rows[0].t) continue;
      const state = await db.pool.query(`SELECT copied, copied_in_swap FROM integration_monitor_adoption WHERE finished_at IS NULL`);
      if (state.rows[0] && Number(state.rows[0].copied) > Number(state.rows[0].copied_in_swap)) {
        run.child.kill('SIGKILL');
        copiedAtKill = Number(state.rows[0].copied);
        break;
      }
    }
    await run.exited;
    expect(copiedAtKill).toBeGreaterThan(0);
    expect(copiedAtKill).toBeLessThan(before.size);

    const lines: string[] = [];
    const second = await migrate(db.url, { log: (l) => lines.push(l) });
    expect(second.applied).toEqual([]);
    expect(second.adoption).toMatchObject({ swapped: false, finished: { copied: before.size, sourceRows: before.size } });
    const { rows } = await db.pool.query(`SELECT to_char(swapped_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS t FROM integration_monitor_adoption`);
    const after = await rowsOf(db.pool, 'integration_logs');
    expect(after.size).toBe(before.size);
    expect(checksum(after)).toBe(checksum(expectedAfterAdoption(before, rows[0].t)));
    await expectRollupsExact(db.pool);
  });
});

describe('a long transaction holding the seed’s table', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
    await buildSeed004(db.pool, { rows: 2_000, days: 5, plainGrants: true });
  });
  afterAll(async () => {
    await db?.drop();
  });

  test('the swap waits for it in short attempts, letting writers through between them, then adopts', async () => {
    const reader = await db.pool.connect();
    await reader.query('BEGIN');
    await reader.query('SELECT count(*) FROM integration_logs'); // holds ACCESS SHARE until it ends
    const lines: string[] = [];
    const adopting = migrate(db.url, { log: (l) => lines.push(l), adoption: { lockTimeoutMs: 300 } });
    await sleep(1500);
    // Meanwhile a writer is not queued behind the waiting swap: it gets in between two attempts, so
    // it completes while the long transaction is still open (a swap that waited for its lock in
    // one go would hold the writer until that transaction ends).
    let readerOpen = true;
    const wrote = postgrest(db.pool, 'service_role')
      .insert({ service_name: 'amocrm', action: 'sync_lead', status: 'success' })
      .then(() => readerOpen);
    const whileOpen = await Promise.race([wrote, sleep(30_000).then(() => 'never')]);
    readerOpen = false;
    await reader.query('COMMIT');
    reader.release();
    await wrote;
    const result = await adopting;
    expect(whileOpen).toBe(true);
    expect(lines.filter((l) => /integration_logs is busy/.test(l)).length).toBeGreaterThanOrEqual(2);
    expect(result.adoption?.finished).toMatchObject({ copied: 2_001, sourceRows: 2_001 });
  });
});

describe('a table called integration_logs that is not the seed’s', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
    await db.pool.query(`CREATE TABLE integration_logs (id bigserial PRIMARY KEY, service_name text NOT NULL, action text NOT NULL, status text NOT NULL,
                         payload jsonb, created_at timestamptz DEFAULT now());
                         INSERT INTO integration_logs (service_name, action, status) SELECT 'svc', 'act', 'ok' FROM generate_series(1, 100)`);
  });
  afterAll(async () => {
    await db?.drop();
  });

  test('is refused in one line saying what differs; nothing is changed', async () => {
    const catalog = `SELECT string_agg(c.relname || ':' || c.relkind::text, ',' ORDER BY c.relname) AS rels,
                            (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace)::int AS fns
                     FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace`;
    const before = (await db.pool.query(catalog)).rows[0];
    const rows = checksum(new Map((await db.pool.query(`SELECT id::text AS id, * FROM integration_logs`)).rows.map((r) => [r.id, r])));
    const run = cliMigrate(db.url);
    expect(await run.exited).toBe(1);
    const { stderr } = run.out();
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^integration-monitor migrate: integration_logs exists but is not the seed's MIGRATION 004 table \(column id is bigint, the seed's is uuid;.*column updated_at missing;.*extra column payload; no CHECK on status allowing success, failed, pending, retrying\); nothing was changed\. Rename it/,
      ),
    ]);
    expect((await db.pool.query(catalog)).rows[0]).toEqual(before);
    expect(checksum(new Map((await db.pool.query(`SELECT id::text AS id, * FROM integration_logs`)).rows.map((r) => [r.id, r])))).toBe(rows);
  });
});
