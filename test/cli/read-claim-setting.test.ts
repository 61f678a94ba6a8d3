/**
 * MONITOR_READ_CLAIM reaches the database: `migrate` and `start` store it where the read policies
 * look (integration_monitor_settings, migration 008), so a caller that reaches the database
 * without the API — PostgREST on Supabase — reads nothing without the claim either. `serve`, which
 * may not store it, says what to run when the database checks something else.
 *
 * The session is made as PostgREST makes it for a request: its NOINHERIT login switches to the
 * token's role with SET LOCAL ROLE ("User Impersonation", https://docs.postgrest.org/en/v12/references/auth.html)
 * and sets the verified claims transaction-locally as `request.jwt.claims`, read with
 * current_setting() ("Transaction-Scoped Settings",
 * https://docs.postgrest.org/en/v12/references/transactions.html).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Client } from 'pg';
import { serveApi } from '../../src/cli/serve';
import { loadConfig } from '../../src/config';
import { writeReadClaim } from '../../src/db/read-claim';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { startMonitorProcess } from '../helpers/monitor-process';

const BIN = path.resolve(__dirname, '../../bin/integration-monitor.js');
const SECRET = 'read-claim-setting-secret-'.padEnd(40, 'x');
const CLAIM = 'app_metadata.role=admin';

function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, MONITOR_TIMEZONE: 'UTC', MONITOR_READ_CLAIM: '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let db: TestDatabase;
let readable: string[];

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(
    `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at)
     VALUES ('amocrm', 'sync_lead', 'success', 120, now() - interval '10 minutes'),
            ('resend', 'send_email', 'failed', 80, now() - interval '2 days')`,
  );
  await db.pool.query(`SELECT integration_add_day_zone('Asia/Kolkata')`); // zone days and hours hold rows too
  // Everything authenticated may read: the raw table, both views, every rollup.
  readable = (
    await db.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c
       WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v')
         AND NOT c.relispartition AND has_table_privilege('authenticated', c.oid, 'SELECT') ORDER BY 1`,
    )
  ).rows.map((r) => r.name);
});
afterAll(() => db.drop());

/** Rows per readable object for a PostgREST-style request as `authenticated` with `claims`. */
async function asPostgrest(claims: Record<string, unknown>): Promise<Record<string, number>> {
  const c = new Client({ connectionString: db.apiUrl });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(`SELECT set_config('request.jwt.claims', $1, true)`, [JSON.stringify(claims)]);
    await c.query('SET LOCAL ROLE authenticated');
    const out: Record<string, number> = {};
    for (const t of readable) out[t] = (await c.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n;
    out['integration_range_agg()'] = (await c.query(`SELECT count(*)::int AS n FROM integration_range_agg(now() - interval '3 days', now(), NULL)`)).rows[0].n;
    return out;
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
    await c.end();
  }
}

const customer = { role: 'authenticated', sub: 'u2', app_metadata: { provider: 'email' } };
const admin = { role: 'authenticated', sub: 'u1', app_metadata: { provider: 'email', role: 'admin' } };
const stored = async () => (await db.pool.query(`SELECT read_claim FROM integration_monitor_settings`)).rows[0].read_claim as string | null;

function expectClaimEnforced(without: Record<string, number>, withClaim: Record<string, number>) {
  expect(Object.keys(without)).toEqual(expect.arrayContaining(['integration_logs', 'integration_stats_hourly', 'integration_stats_daily', 'integration_rollup_hour']));
  expect(Object.entries(without).filter(([, n]) => n !== 0)).toEqual([]);
  // with the claim every object yields rows (the fixture gives each some)
  expect(Object.entries(withClaim).filter(([, n]) => n === 0)).toEqual([]);
}

test('migrate with MONITOR_READ_CLAIM: authenticated without the claim reads no rows, with it reads them', async () => {
  await db.pool.query(`UPDATE integration_monitor_settings SET read_claim = NULL`);
  const r = cli(['migrate'], { DATABASE_URL: db.url, MONITOR_READ_CLAIM: CLAIM });
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^reads\s+the database checks the claim app_metadata\.role=admin/m);
  expect(await stored()).toBe(CLAIM);
  expectClaimEnforced(await asPostgrest(customer), await asPostgrest(admin));
});

test('start with MONITOR_READ_CLAIM stores it too', async () => {
  await db.pool.query(`UPDATE integration_monitor_settings SET read_claim = NULL`);
  const m = await startMonitorProcess({ DATABASE_URL: db.url, MONITOR_JWT_SECRET: SECRET, MONITOR_READ_CLAIM: CLAIM });
  try {
    expect(m.output()).toMatch(/^reads\s+the database checks the claim app_metadata\.role=admin/m);
  } finally {
    await m.stop();
  }
  expect(await stored()).toBe(CLAIM);
  expectClaimEnforced(await asPostgrest(customer), await asPostgrest(admin));
});

test('migrate without MONITOR_READ_CLAIM leaves the database’s claim, and says so', async () => {
  await db.pool.query(`UPDATE integration_monitor_settings SET read_claim = $1`, [CLAIM]);
  const r = cli(['migrate'], { DATABASE_URL: db.url });
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/only with the claim app_metadata\.role=admin, MONITOR_READ_CLAIM is unset/);
  expect(await stored()).toBe(CLAIM);
});

test('serve (not the owner) warns when the database checks another claim, with what to run', async () => {
  await db.pool.query(`UPDATE integration_monitor_settings SET read_claim = NULL`);
  let text = '';
  const logStream = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  const config = loadConfig({ DATABASE_URL: db.apiUrl, MONITOR_JWT_SECRET: SECRET, MONITOR_READ_CLAIM: CLAIM, PORT: '0', HOST: '127.0.0.1' });
  const api = await serveApi(config, { log: () => undefined, logStream });
  await api.stop();
  const lines = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.component === 'read-claim');
  expect(lines).toEqual([expect.objectContaining({ level: 40, msg: expect.stringContaining(`UPDATE integration_monitor_settings SET read_claim = '${CLAIM}'`) })]);
  expect(await stored()).toBeNull();
});

test('a role that may not store the claim gets the statement to run as the owner, and nothing without a claim', async () => {
  const c = new Client({ connectionString: db.apiUrl }); // the API's login: owns nothing
  await c.connect();
  try {
    expect(await writeReadClaim(c, CLAIM)).toEqual({ level: 'warn', line: expect.stringContaining(`as the database owner run UPDATE integration_monitor_settings SET read_claim = '${CLAIM}'`) });
    expect(await writeReadClaim(c, undefined)).toBeUndefined();
  } finally {
    await c.end();
  }
});
