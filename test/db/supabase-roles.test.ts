/**
 * A database prepared the way Supabase prepares one, on a cluster of its own (roles are
 * cluster-wide): the real superuser is someone else (`supabase_admin`); `postgres` owns the database
 * but is only CREATEROLE, CREATEDB, BYPASSRLS, a member of anon/authenticated/service_role without
 * ADMIN on them; PostgREST's `authenticator` exists; default privileges hand every new table and
 * function in public to anon, authenticated and service_role. The monitor is migrated, checked with
 * doctor and recorded into as that `postgres`, and must come out safe.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Pool } from 'pg';
import { runDoctor } from '../../src/cli/doctor';
import { apiRoleSql } from '../../src/db/api-role';
import { migrate } from '../../src/db/migrate';
import { createRecorder } from '../../src/recorder';
import { AUTHENTICATED_FUNCTIONS } from '../helpers/function-allowlist';
import { Cluster, embeddedBinDir, startCluster, bootstrapSupabaseRoles } from '../helpers/pg-cluster';

jest.setTimeout(120_000);

let cluster: Cluster;
let admin: Client;
let owner: Pool;
const migrateLines: string[] = [];

beforeAll(async () => {
  cluster = await startCluster(embeddedBinDir(), {}, 'supabase_admin');
  admin = new Client({ connectionString: cluster.url('postgres', 'supabase_admin') });
  await admin.connect();
  await bootstrapSupabaseRoles(admin);
  const { applied } = await migrate(cluster.url('postgres', 'postgres'), { log: (l) => migrateLines.push(l) });
  expect(applied.length).toBeGreaterThanOrEqual(8);
  owner = new Pool({ connectionString: cluster.url('postgres', 'postgres'), max: 4 });
});
afterAll(async () => {
  await owner?.end();
  await admin?.end();
  await cluster?.stop();
});

async function doctor(user = 'postgres'): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runDoctor(cluster.url('postgres', user), (l) => lines.push(l));
  return { code, lines };
}

/** A PostgREST request: authenticator switches to the token's role with its claims. */
async function viaPostgrest<T>(role: string, claims: object, sql: string): Promise<T[]> {
  const c = new Client({ connectionString: cluster.url('postgres', 'authenticator') });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(`SELECT set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ role, ...claims })]);
    await c.query(`SET LOCAL ROLE ${role}`);
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
    await c.end();
  }
}

test('migrating as the non-superuser postgres succeeds; what it could not do is said, not failed', async () => {
  const me = (await owner.query(`SELECT rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = current_user`)).rows[0];
  expect(me).toEqual({ rolsuper: false, rolcreaterole: true, rolbypassrls: true });
  const applied = (await owner.query(`SELECT name FROM integration_monitor_migrations ORDER BY 1`)).rows.map((r) => r.name);
  expect(applied).toEqual(expect.arrayContaining(['001_schema.sql', '008_read_claim.sql']));
  // No ADMIN on authenticated: 001 warns instead of failing; 008's own grants cover the reader.
  expect(migrateLines.some((l) => /WARNING: could not GRANT authenticated TO integration_monitor_reader/.test(l))).toBe(true);
});

test('default privileges leave anon and authenticated nothing they should not have', async () => {
  const { rows: tables } = await owner.query(
    `SELECT c.relname, r.rolname, p.priv FROM pg_class c
     CROSS JOIN (VALUES ('anon'), ('authenticated')) r(rolname)
     CROSS JOIN (VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) p(priv)
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v')
       AND has_table_privilege(r.rolname, c.oid, p.priv)
     ORDER BY 1, 2, 3`,
  );
  // authenticated may only SELECT the monitor's data; anon nothing; the bookkeeping and settings tables: nobody.
  expect(tables.filter((t) => t.rolname === 'anon')).toEqual([]);
  expect(tables.filter((t) => t.priv !== 'SELECT')).toEqual([]);
  expect(tables.map((t) => t.relname)).not.toEqual(expect.arrayContaining(['integration_monitor_migrations']));
  expect(tables.map((t) => t.relname)).not.toEqual(expect.arrayContaining(['integration_monitor_settings']));
  // Functions: PostgREST serves each at /rpc/<name>. anon none; authenticated exactly the allowlist
  // (repeatable/20_function_privileges.sql), whatever the default privileges granted.
  const executable = async (role: string) =>
    (
      await owner.query(
        `SELECT p.oid::regprocedure::text AS f FROM pg_proc p
         WHERE p.pronamespace = 'public'::regnamespace AND has_function_privilege($1, p.oid, 'EXECUTE') ORDER BY 1`,
        [role],
      )
    ).rows.map((r) => r.f as string);
  expect(await executable('anon')).toEqual([]);
  expect(await executable('authenticated')).toEqual(Object.keys(AUTHENTICATED_FUNCTIONS).sort());
});

test('the reader may read everything authenticated may, though it is no member of authenticated here', async () => {
  // Dashboards run as the reader: a read function granted to authenticated only would fail there.
  const { rows } = await owner.query(
    `SELECT c.oid::regclass::text AS what FROM pg_class c
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v')
       AND has_table_privilege('authenticated', c.oid, 'SELECT') AND NOT has_table_privilege('integration_monitor_reader', c.oid, 'SELECT')
     UNION ALL
     SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'integration%' AND p.prorettype <> 'trigger'::regtype
       -- not reads: the claim check (the reader has policies of its own) and the maintenance's partition list
       AND p.proname NOT IN ('integration_read_allowed', 'integration_read_claim', 'integration_log_partitions')
       AND has_function_privilege('authenticated', p.oid, 'EXECUTE') AND NOT has_function_privilege('integration_monitor_reader', p.oid, 'EXECUTE')`,
  );
  expect(rows).toEqual([]);
  const { rows: member } = await owner.query("SELECT pg_has_role('integration_monitor_reader', 'authenticated', 'MEMBER') AS m");
  expect(member).toEqual([{ m: false }]);
});

test('doctor: ✘ "every signed-in user can read the logs" until a read claim is set; as the API role of docs/production.md, then all ✔', async () => {
  const before = await doctor();
  const failed = before.lines.filter((l) => l.startsWith('✘'));
  // Run as postgres, doctor also says postgres is no role to serve the API as (BYPASSRLS).
  expect(failed).toHaveLength(2);
  expect(failed).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^✘ read claim for authenticated .*every signed-in user can read the logs.*UPDATE integration_monitor_settings/),
      expect.stringMatching(/^✘ API role postgres is least-privileged .*BYPASSRLS/),
    ]),
  );
  expect(before.code).toBe(1);

  // What README tells Supabase users, run as postgres: the parameter is refused for a non-superuser…
  await expect(owner.query(`ALTER DATABASE postgres SET intmon.read_claim = 'app_metadata.role=admin'`)).rejects.toMatchObject({ code: '42501' });
  // …the settings table is not.
  await owner.query(`UPDATE integration_monitor_settings SET read_claim = 'app_metadata.role=admin'`);
  // The API's own login, made as docs/production.md says (by the project's admin: postgres holds no ADMIN on the roles).
  for (const sql of apiRoleSql('intmon_api', 'doctor-test-password-0123')) await admin.query(sql);
  const after = await doctor('intmon_api');
  expect(after.lines.filter((l) => l.startsWith('✘'))).toEqual([]);
  expect(after.lines).toEqual(expect.arrayContaining([expect.stringMatching(/^✔ read claim for authenticated .*app_metadata\.role=admin/)]));
  expect(after.code).toBe(0);
});

test('calls recorded as postgres land; through PostgREST only the claim reads them; the reader reads without a JWT', async () => {
  await owner.query(`UPDATE integration_monitor_settings SET read_claim = 'app_metadata.role=admin'`);
  const errors: Error[] = [];
  const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-supabase-spool-'));
  const recorder = createRecorder({ databaseUrl: cluster.url('postgres', 'postgres'), spoolDir, onError: (e) => errors.push(e) });
  await recorder.track('resend', 'send_email', async () => 'ok');
  await recorder
    .track('amocrm', 'sync_lead', async () => {
      throw new Error('upstream 502');
    })
    .catch(() => undefined);
  await recorder.close();
  fs.rmSync(spoolDir, { recursive: true, force: true });
  expect(errors).toEqual([]);
  expect((await owner.query(`SELECT service_name, status FROM integration_logs ORDER BY 1`)).rows).toEqual([
    { service_name: 'amocrm', status: 'failed' },
    { service_name: 'resend', status: 'success' },
  ]);

  const count = `SELECT (SELECT count(*) FROM integration_logs)::int AS raw, (SELECT count(*) FROM integration_stats_daily)::int AS daily`;
  expect(await viaPostgrest('authenticated', { app_metadata: { role: 'customer' } }, count)).toEqual([{ raw: 0, daily: 0 }]);
  expect(await viaPostgrest('authenticated', { app_metadata: { role: 'admin' } }, count)).toEqual([{ raw: 2, daily: 2 }]);
  await expect(viaPostgrest('anon', {}, count)).rejects.toMatchObject({ code: '42501' });

  // Grafana's login: not a member of authenticated here (see the migrate WARNING), still reads.
  await admin.query('BEGIN');
  try {
    await admin.query('SET LOCAL ROLE integration_monitor_reader');
    expect((await admin.query(count)).rows).toEqual([{ raw: 2, daily: 2 }]);
  } finally {
    await admin.query('ROLLBACK');
  }
});
