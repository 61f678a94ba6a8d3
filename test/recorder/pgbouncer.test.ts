/**
 * The recorder through a real PgBouncer (Debian's 1.18, test/helpers/pgbouncer.ts) in transaction
 * and in session mode, two server connections shared by every client: long-lived recorders with
 * many concurrent calls, short-lived handlers in parallel, the API's least-privileged login, more
 * clients than the pooler admits, the pooler killed and restarted mid-run, its server connections
 * terminated mid-run. Rows are read straight from PostgreSQL: every call exactly once, with its
 * fields. After each run every server connection is inspected as pooler.test.ts does: the login's
 * own role, no prepared statement, no session setting left by the writer.
 */
import crypto from 'node:crypto';
import { Client } from 'pg';
import { createRecorder, Recorder, RecorderError } from '../../src/index';
import type { RecorderOptions } from '../../src/recorder/types';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { PgBouncer, pgbouncerSuite, startPgBouncer } from '../helpers/pgbouncer';
import { readTestEnv } from '../setup/test-env';
import { removeTempDirs, tempDir } from './helpers';

const suite = pgbouncerSuite('recorder through PgBouncer');

type Mode = 'transaction' | 'session';
let db: TestDatabase;
const bouncers = {} as Record<Mode, PgBouncer>;

/** What one call must leave in integration_logs. */
interface Expected {
  entity: string;
  service_name: string;
  action: string;
  status: 'success' | 'failed';
  error_code: string | null;
  error_message: string | null;
  slow: boolean;
}

/** Every call exactly once, with its fields; read directly from PostgreSQL, not through the pooler. */
async function expectRows(expected: Expected[]): Promise<void> {
  const { rows } = await db.pool.query<{
    id: string;
    related_entity_id: string;
    service_name: string;
    action: string;
    status: string;
    error_code: string | null;
    error_message: string | null;
    retry_count: number;
    duration_ms: number | null;
  }>('SELECT id, related_entity_id, service_name, action, status, error_code, error_message, retry_count, duration_ms FROM integration_logs WHERE related_entity_id = ANY($1::uuid[])', [
    expected.map((e) => e.entity),
  ]);
  expect(rows).toHaveLength(expected.length);
  expect(new Set(rows.map((r) => r.id)).size).toBe(expected.length);
  const byEntity = new Map(rows.map((r) => [r.related_entity_id, r]));
  for (const e of expected) {
    const r = byEntity.get(e.entity);
    const { service_name, action, status, error_code, error_message } = e;
    expect({
      entity: e.entity,
      row: r && { service_name: r.service_name, action: r.action, status: r.status, error_code: r.error_code, error_message: r.error_message, retry_count: r.retry_count },
    }).toEqual({
      entity: e.entity,
      row: { service_name, action, status, error_code, error_message, retry_count: 0 },
    });
    // A slow call (70 ms) may have been written `pending` first, then merged into its final version.
    expect(r!.duration_ms).toBeGreaterThanOrEqual(e.slow ? 60 : 0);
  }
}

const SERVICES = ['telegram', 'resend', 'amocrm', 'mobizon', 'whapi'];

/**
 * `tasks` async tasks, each making `calls` tracked calls in turn with short gaps: every 7th fails
 * (with a code), every `slowEvery`-th lasts 70 ms. Every call's value comes back to its caller.
 */
async function workload(rec: Recorder, tasks: number, calls: number, o: { slowEvery?: number; gapMs?: number; during?: () => Promise<void> } = {}): Promise<Expected[]> {
  const expected: Expected[] = [];
  const run = async (t: number) => {
    for (let i = 0; i < calls; i++) {
      const n = t * calls + i;
      const e: Expected = {
        entity: crypto.randomUUID(),
        service_name: SERVICES[n % SERVICES.length],
        action: `act_${t}_${i}`,
        status: n % 7 === 3 ? 'failed' : 'success',
        error_code: n % 7 === 3 ? 'E_POOL_TEST' : null,
        error_message: n % 7 === 3 ? `refused ${n}` : null,
        slow: o.slowEvery !== undefined && n % o.slowEvery === 0,
      };
      expected.push(e);
      const fn = async () => {
        if (e.slow) await new Promise((r) => setTimeout(r, 70));
        if (e.status === 'failed') throw Object.assign(new Error(`refused ${n}`), { code: 'E_POOL_TEST' });
        return n;
      };
      const got = await rec.track(e.service_name, e.action, fn, { entity: { type: 'lead', id: e.entity } }).catch((err: Error) => err.message);
      expect(got).toBe(e.status === 'failed' ? `refused ${n}` : n);
      await new Promise((r) => setTimeout(r, Math.random() * (o.gapMs ?? 2)));
    }
  };
  await Promise.all([...Array.from({ length: tasks }, (_, t) => run(t)), o.during?.()]);
  return expected;
}

/** PgBouncer's tracked parameters, which it SETs itself on a server connection to match each client. */
const POOLER_SET = ['application_name', 'client_encoding', 'DateStyle', 'TimeZone', 'standard_conforming_strings'];

interface ServerState {
  pid: number;
  role: string;
  prepared: number;
  settings: string[];
  /** The writer's temp tables on this connection, and how many rows they hold (ON COMMIT DELETE ROWS: 0). */
  temp: Record<string, number>;
}

/**
 * What every server connection of the pooler holds now: two clients each hold a transaction open,
 * so each inspects a different one of the pool's two server connections.
 */
async function serverStates(b: PgBouncer, login?: Login): Promise<ServerState[]> {
  const clients = [0, 1].map(() => new Client({ connectionString: b.url(login), connectionTimeoutMillis: 10_000 }));
  try {
    await Promise.all(clients.map((c) => c.connect()));
    await Promise.all(clients.map((c) => c.query('BEGIN')));
    return await Promise.all(
      clients.map(async (c) => {
        const { rows } = await c.query<Omit<ServerState, 'temp'> & { temp: string[] }>(
          `SELECT pg_backend_pid() pid, current_user::text role, (SELECT count(*)::int FROM pg_prepared_statements) prepared,
                  ARRAY(SELECT name FROM pg_settings WHERE source = 'session' AND name <> ALL($1) ORDER BY 1) settings,
                  ARRAY(SELECT relname::text FROM pg_class WHERE relpersistence = 't' AND relname LIKE 'intmon_recorder_%' AND pg_table_is_visible(oid) ORDER BY 1) temp`,
          [POOLER_SET],
        );
        const temp: Record<string, number> = {};
        await c.query('SET LOCAL ROLE service_role'); // the writer's role owns its temp tables
        for (const t of rows[0].temp) temp[t] = (await c.query<{ n: number }>(`SELECT count(*)::int n FROM pg_temp.${t}`)).rows[0].n;
        await c.query('COMMIT');
        return { ...rows[0], temp };
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

/** No role, prepared statement or setting left by the writer on any server connection. */
async function expectNoSessionState(b: PgBouncer, login?: Login): Promise<ServerState[]> {
  const states = await serverStates(b, login);
  expect(new Set(states.map((s) => s.pid)).size).toBe(2);
  const role = login?.user ?? new URL(db.url).username;
  for (const s of states) expect({ role: s.role, prepared: s.prepared, settings: s.settings }).toEqual({ role, prepared: 0, settings: [] });
  return states;
}

function recorder(b: PgBouncer, errors: RecorderError[], o: RecorderOptions = {}): Recorder {
  return createRecorder({ databaseUrl: b.url(), spoolDir: tempDir('intmon-pgbouncer-'), flushIntervalMs: 20, pendingAfterMs: 30, onError: (e) => errors.push(e as RecorderError), ...o });
}

suite('recorder through PgBouncer 1.18', () => {
  beforeAll(async () => {
    db = await createTestDatabase();
    // Transaction mode hands idle server connections out in turn (server_round_robin) rather than
    // the last one used, so that a single writer's consecutive transactions land on both.
    bouncers.transaction = await startPgBouncer({ upstream: db.url, poolMode: 'transaction', users: [apiLogin()], settings: { server_round_robin: 1 } });
    bouncers.session = await startPgBouncer({ upstream: db.url, poolMode: 'session', users: [apiLogin()] });
  });
  afterAll(async () => {
    await bouncers.transaction?.close();
    await bouncers.session?.close();
    await db?.drop();
    removeTempDirs();
  });

  describe.each(['transaction', 'session'] as const)('%s mode', (mode) => {
    test('a long-lived recorder, 400 calls from 40 concurrent tasks (fresh rows, failures, pending → final): every call once, no session state left', async () => {
      const b = bouncers[mode];
      const errors: RecorderError[] = [];
      await serverStates(b); // both server connections open before the writer starts
      const rec = recorder(b, errors);
      const expected = await workload(rec, 40, 10, { slowEvery: 9 });
      await rec.close();
      await expectRows(expected);
      expect(errors).toEqual([]);
      const stats = rec.stats();
      expect(stats).toMatchObject({ tracked: 400, spooled: 0, dropped: 0, deadLettered: 0 });
      // Beyond one row per call: the `pending` versions of slow calls (each merged into its final
      // one), at most one per slow call — fewer when a busy loop ran no sweep while it lasted.
      expect(stats.written).toBeGreaterThan(400);
      expect(stats.written).toBeLessThanOrEqual(400 + expected.filter((e) => e.slow).length);
      const states = await expectNoSessionState(b);
      // Transaction mode keeps a server connection's temp tables across clients (no reset between
      // transactions): the writer's staging table is on both — its merges ran on both — and empty.
      // Session mode resets (DISCARD ALL) each server connection its client leaves.
      for (const s of states) expect(s.temp).toEqual(mode === 'transaction' ? { intmon_recorder_stage: 0 } : {});
    });

    test('20 short-lived handlers in parallel (wrapHandler, one connection each, closed after each write) on 2 server connections', async () => {
      const b = bouncers[mode];
      const errors: RecorderError[] = [];
      const expected: Expected[] = [];
      const results = await Promise.all(
        Array.from({ length: 20 }, async (_, n) => {
          const rec = recorder(b, errors, { shortLived: true, spoolDir: undefined, flushIntervalMs: 10 });
          const handler = rec.wrapHandler(async () => {
            const e = await workload(rec, 1, 2, { slowEvery: 2 }); // one slow (pending → final), one fast
            expected.push(...e);
            return n;
          });
          const value = await handler();
          expect(rec.stats()).toMatchObject({ tracked: 2, queuedRows: 0, dropped: 0, databaseUp: true });
          await rec.close();
          return value;
        }),
      );
      expect(results).toEqual(Array.from({ length: 20 }, (_, n) => n));
      await expectRows(expected);
      expect(errors).toEqual([]);
      // 20 clients went through the pool's 2 server connections.
      expect((await b.serverPids()).length).toBeLessThanOrEqual(2);
      await expectNoSessionState(b);
    });

    test('as the least-privileged API login: SET LOCAL ROLE service_role per transaction, nothing left', async () => {
      const b = bouncers[mode];
      const errors: RecorderError[] = [];
      await serverStates(b, apiLogin());
      const rec = recorder(b, errors, { databaseUrl: b.url(apiLogin()) });
      const expected = await workload(rec, 5, 6, { slowEvery: 4 });
      await rec.close();
      await expectRows(expected);
      expect(errors).toEqual([]);
      await expectNoSessionState(b, apiLogin());
    });

    test('PgBouncer killed (SIGKILL) and restarted mid-run: what it could not take is spooled and replayed, every call exactly once', async () => {
      const b = bouncers[mode];
      const errors: RecorderError[] = [];
      const rec = recorder(b, errors);
      const outage = async () => {
        await sleep(300);
        await b.stop('SIGKILL');
        await sleep(400);
        await b.start();
      };
      // 10 tasks × 80 calls, ~15 ms apart: calls before, during and after the outage.
      const expected = await workload(rec, 10, 80, { gapMs: 30, slowEvery: 11, during: outage });
      await rec.close();
      await expectRows(expected);
      const stats = rec.stats();
      expect(stats).toMatchObject({ tracked: 800, dropped: 0, deadLettered: 0 });
      expect(stats.spooled).toBeGreaterThan(0);
      expect(stats.replayed).toBe(stats.spooled);
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect(e.kind).toBe('database-down');
      await expectNoSessionState(b);
    });

    test('its server connections terminated (pg_terminate_backend) every 100 ms mid-run: every call exactly once', async () => {
      const b = bouncers[mode];
      const errors: RecorderError[] = [];
      const rec = recorder(b, errors);
      let killed = 0;
      const kills = async () => {
        for (let i = 0; i < 8; i++) {
          await sleep(100);
          const pids = await b.serverPids();
          const { rows } = await db.pool.query<{ n: number }>('SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int n FROM unnest($1::int[]) pid', [pids]);
          killed += rows[0].n;
        }
      };
      const expected = await workload(rec, 10, 80, { gapMs: 30, slowEvery: 11, during: kills });
      await rec.close();
      expect(killed).toBeGreaterThan(0);
      await expectRows(expected);
      const stats = rec.stats();
      expect(stats).toMatchObject({ tracked: 800, dropped: 0, deadLettered: 0 });
      // A write whose server connection died failed as "database down": its rows were spooled and replayed.
      expect(stats.replayed).toBe(stats.spooled);
      for (const e of errors) expect(e.kind).toBe('database-down');
      await expectNoSessionState(b);
    });
  });

  describe('more clients than PgBouncer admits (max_client_conn 4, transaction mode)', () => {
    let small: PgBouncer;
    const held: Client[] = [];
    /** Takes `n` of the pooler's client slots until release(). */
    const hold = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const c = new Client({ connectionString: small.url(), connectionTimeoutMillis: 10_000 });
        await c.connect();
        held.push(c);
      }
    };
    const release = () => Promise.all(held.splice(0).map((c) => c.end()));
    beforeAll(async () => {
      small = await startPgBouncer({ upstream: db.url, poolMode: 'transaction', settings: { max_client_conn: 4 } });
    });
    afterAll(async () => {
      await release();
      await small?.close();
    });

    test('full for the whole handler: the handler still answers, PgBouncer’s refusal is reported as database-down, the rows wait in memory and land on the next flush', async () => {
      await hold(4);
      const errors: RecorderError[] = [];
      const rec = recorder(small, errors, { shortLived: true, spoolDir: undefined, writeTimeoutMs: 1000 });
      const expected: Expected[] = [];
      const handler = rec.wrapHandler(async () => {
        expected.push(...(await workload(rec, 1, 3)));
        return 'answered';
      });
      await expect(handler()).resolves.toBe('answered');
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect({ kind: e.kind, message: e.message }).toEqual({ kind: 'database-down', message: expect.stringContaining('no more connections allowed (max_client_conn)') });
      expect(rec.stats()).toMatchObject({ written: 0, spooled: 3, dropped: 0, databaseUp: false });
      const { rows } = await db.pool.query('SELECT 1 FROM integration_logs WHERE related_entity_id = ANY($1::uuid[])', [expected.map((e) => e.entity)]);
      expect(rows).toEqual([]);

      await release();
      await rec.flush();
      await expectRows(expected);
      expect(rec.stats()).toMatchObject({ replayed: 3, dropped: 0, databaseUp: true });
      await rec.close();
    });

    test('10 handlers in parallel through one free slot: refused ones retry within flush’s budget, every row lands', async () => {
      await hold(3);
      const errors: RecorderError[] = [];
      const expected: Expected[] = [];
      // Every handler answers only once all have tracked their calls: ten flushes at one moment.
      let tracked = 0;
      let allTracked: () => void = () => undefined;
      const barrier = new Promise<void>((r) => (allTracked = r));
      const results = await Promise.all(
        Array.from({ length: 10 }, async (_, n) => {
          // flush's retry budget 30 s (default 10 s): on a loaded CI machine ten handlers taking
          // turns on one slot can need longer, which is not what this test is about
          const rec = recorder(small, errors, { shortLived: true, spoolDir: undefined, flushIntervalMs: 60_000, writeTimeoutMs: 30_000 });
          const value = await rec.wrapHandler(async () => {
            expected.push(...(await workload(rec, 1, 2)));
            if (++tracked === 10) allTracked();
            await barrier;
            return n;
          })();
          expect(rec.stats()).toMatchObject({ tracked: 2, dropped: 0, databaseUp: true });
          await rec.close();
          return value;
        }),
      );
      await release();
      expect(results).toEqual(Array.from({ length: 10 }, (_, n) => n));
      await expectRows(expected);
      // Ten clients at once on one slot: some were turned away, and said so.
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect({ kind: e.kind, message: e.message }).toEqual({ kind: 'database-down', message: expect.stringContaining('no more connections allowed (max_client_conn)') });
    });
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Login = { user: string; password: string };

function apiLogin(): Login {
  const env = readTestEnv();
  return { user: env.apiRole, password: env.apiPassword };
}
