/**
 * What a transaction-mode pooler (Supabase's Supavisor on port 6543, PgBouncer) implies for the
 * writer: each transaction may run on another server connection, one that other clients have
 * used, and nothing of a session survives between transactions. The recorder here borrows a pool
 * that hands every transaction a different real connection among three, reset by `DISCARD ALL`
 * (temp tables, prepared statements, settings, role gone) or not, at random — and checks, each
 * time a connection comes back, that the writer left no session state on it: no prepared
 * statement, no role, no session-level setting. Rows and their pending → final updates (the
 * merge path spool replays take) must land as usual.
 */
import crypto from 'node:crypto';
import { Pool, PoolClient } from 'pg';
import { createRecorder } from '../../src/index';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { removeTempDirs, tempDir } from './helpers';

let db: TestDatabase;
let real: Pool;
beforeAll(async () => {
  db = await createTestDatabase();
  real = new Pool({ connectionString: db.url, max: 3 });
});
afterAll(async () => {
  await real.end();
  await db.drop();
  removeTempDirs();
});

interface Leftover {
  pid: number;
  role: string;
  prepared: number;
  settings: string[];
}

/** A pool that gives each transaction one of three connections in turn, reset or not. */
function transactionPooler(seen: Leftover[]): Pool {
  let turn = 0;
  const inspect = async (c: PoolClient) => {
    const { rows } = await c.query<{ pid: number; role: string; prepared: number; settings: string[] }>(
      `SELECT pg_backend_pid() pid, current_user::text role, (SELECT count(*)::int FROM pg_prepared_statements) prepared,
              ARRAY(SELECT name FROM pg_settings WHERE source = 'session' ORDER BY 1) settings`,
    );
    seen.push(rows[0]);
  };
  const pooler = {
    async connect(): Promise<PoolClient> {
      const all = await Promise.all([real.connect(), real.connect(), real.connect()]);
      const pick = all[turn++ % all.length];
      for (const c of all) if (c !== pick) c.release();
      await inspect(pick); // what the previous transaction on this connection left
      if (Math.random() < 0.5) await pick.query('DISCARD ALL');
      return pick;
    },
  };
  return pooler as unknown as Pool;
}

it('writes fresh rows and pending → final updates (the merge path replays use) with no session state, on whichever connection', async () => {
  const seen: Leftover[] = [];
  const rec = createRecorder({ pool: transactionPooler(seen), spoolDir: tempDir('intmon-pooler-'), flushIntervalMs: 20, pendingAfterMs: 50 });
  const entity = crypto.randomUUID();
  const calls: Promise<unknown>[] = [];
  for (let round = 0; round < 12; round++) {
    for (let i = 0; i < 10; i++) calls.push(rec.track('telegram', 'send_message', async () => i, { entity: { type: 'chat', id: entity } }));
    // A slow call: written `pending` first, then updated through the merge path.
    calls.push(rec.track('amocrm', 'sync_lead', () => new Promise((r) => setTimeout(r, 120)), { entity: { type: 'lead', id: entity } }));
    await rec.flush();
  }
  await Promise.all(calls);
  await rec.flush();
  await rec.close();

  const { rows } = await db.pool.query<{ service_name: string; status: string; n: number }>(
    'SELECT service_name, status, count(*)::int n FROM integration_logs WHERE related_entity_id = $1 GROUP BY 1, 2 ORDER BY 1, 2',
    [entity],
  );
  expect(rows).toEqual([
    { service_name: 'amocrm', status: 'success', n: 12 },
    { service_name: 'telegram', status: 'success', n: 120 },
  ]);
  expect(rec.stats()).toMatchObject({ dropped: 0, deadLettered: 0 });

  // Many transactions, spread over the three connections.
  expect(seen.length).toBeGreaterThan(12);
  expect(new Set(seen.map((s) => s.pid)).size).toBeGreaterThanOrEqual(2);
  // Nothing a transaction left behind: the connection's own role, no prepared statements, no SET.
  const loginRole = (await db.pool.query<{ u: string }>('SELECT current_user::text u')).rows[0].u;
  for (const s of seen) expect({ role: s.role, prepared: s.prepared, settings: s.settings }).toEqual({ role: loginRole, prepared: 0, settings: [] });
});
