/**
 * Issue 25 where the seed's user is: Debian's PostgreSQL 15 prepared as Supabase prepares a
 * database (superuser supabase_admin; `postgres` owns the database but is no superuser; anon,
 * authenticated, service_role, PostgREST's authenticator; default privileges handing every new
 * table and function to the API roles), the seed's MIGRATION 004 run literally by `postgres` and
 * filled, then `integration-monitor migrate` as `postgres`: every row kept, rollups exact, RLS
 * through PostgREST's authenticator as the seed's (and the read claim), doctor all ✔ as the API's
 * own login.
 */
import { Client, Pool } from 'pg';
import { runDoctor } from '../../src/cli/doctor';
import { apiRoleSql } from '../../src/db/api-role';
import { migrate, MigrateResult } from '../../src/db/migrate';
import { Cluster, DEBIAN_PG15, debianPg15Available, debianPg15Suite, startCluster, bootstrapSupabaseRoles } from '../helpers/pg-cluster';
import { postgrest } from '../helpers/postgrest';
import { buildSeed004, checksum, expectedAfterAdoption, expectRollupsExact, Rows, rowsOf } from '../helpers/seed004';

jest.setTimeout(120_000);

const suite = debianPg15Suite(debianPg15Available(), 'adoption on a Supabase-like PostgreSQL 15', 'postgresql-15');

suite('a Supabase-like database that ran MIGRATION 004', () => {
  let cluster: Cluster;
  let admin: Client;
  let owner: Pool;
  let authenticator: Pool;
  let before: Rows;
  let result: MigrateResult;

  beforeAll(async () => {
    cluster = await startCluster(DEBIAN_PG15, {}, 'supabase_admin');
    admin = new Client({ connectionString: cluster.url('postgres', 'supabase_admin') });
    await admin.connect();
    await bootstrapSupabaseRoles(admin);
    owner = new Pool({ connectionString: cluster.url('postgres', 'postgres'), max: 4 });
    authenticator = new Pool({ connectionString: cluster.url('postgres', 'authenticator'), max: 4 });
    // The user ran the seed's SQL in Supabase's SQL editor, as postgres.
    await buildSeed004(owner, { rows: 15_000, days: 35, plainGrants: false });
    before = await rowsOf(owner, 'integration_logs');
    result = await migrate(cluster.url('postgres', 'postgres'), { adoption: { batchRows: 4000 } });
  });
  afterAll(async () => {
    await authenticator?.end();
    await owner?.end();
    await admin?.end();
    await cluster?.stop();
  });

  test('adopted as postgres: every row as it was (checksummed), nothing in DEFAULT, rollups exact', async () => {
    expect(result.adoption).toMatchObject({ swapped: true, finished: { copied: before.size, sourceRows: before.size } });
    const { rows } = await owner.query(`SELECT to_char(swapped_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS t FROM integration_monitor_adoption`);
    const after = await rowsOf(owner, 'integration_logs');
    expect(checksum(after)).toBe(checksum(expectedAfterAdoption(before, rows[0].t)));
    expect(Number((await owner.query(`SELECT count(*) FROM integration_logs_default`)).rows[0].count)).toBe(0);
    await expectRollupsExact(owner);
  });

  test('through PostgREST: service_role writes and reads by id, authenticated reads all until a read claim is set, anon nothing; the old table is closed to them', async () => {
    const api = postgrest(authenticator, 'service_role');
    const [row] = await api.insert({ service_name: 'telegram', action: 'send_message', status: 'pending' });
    expect(await api.updateById(row.id as string, { status: 'success', duration_ms: 80 })).toEqual([expect.objectContaining({ status: 'success' })]);
    expect(await api.selectById(row.id as string)).toHaveLength(1);
    const total = before.size + 1;
    const countAs = async (role: string, claims: object, table = 'integration_logs') => {
      const c = await authenticator.connect();
      try {
        await c.query('BEGIN');
        await c.query(`SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)`, [role, JSON.stringify({ role, ...claims })]);
        return Number((await c.query(`SELECT count(*) FROM ${table}`)).rows[0].count);
      } finally {
        await c.query('ROLLBACK');
        c.release();
      }
    };
    expect(await countAs('authenticated', {})).toBe(total);
    await expect(countAs('anon', {})).rejects.toMatchObject({ code: '42501' });
    await expect(countAs('authenticated', {}, 'integration_logs_seed004')).rejects.toMatchObject({ code: '42501' });
    await owner.query(`UPDATE integration_monitor_settings SET read_claim = 'app_metadata.role=admin'`);
    expect(await countAs('authenticated', { app_metadata: { role: 'customer' } })).toBe(0);
    expect(await countAs('authenticated', { app_metadata: { role: 'admin' } })).toBe(total);
  });

  test('doctor as the API’s own login: all ✔, the adoption reported', async () => {
    await owner.query(`UPDATE integration_monitor_settings SET read_claim = 'app_metadata.role=admin'`);
    for (const sql of apiRoleSql('intmon_api', 'adopt-test-password-0123')) await admin.query(sql);
    const out: string[] = [];
    const code = await runDoctor(cluster.url('postgres', 'intmon_api').replace('intmon_api@', 'intmon_api:adopt-test-password-0123@'), (l) => out.push(l));
    expect(out.filter((l) => l.startsWith('✘'))).toEqual([]);
    expect(out).toEqual(expect.arrayContaining([expect.stringMatching(/^✔ adoption of MIGRATION 004 .*done/)]));
    expect(code).toBe(0);
  });

  test('a second migrate changes nothing', async () => {
    const again = await migrate(cluster.url('postgres', 'postgres'));
    expect(again).toEqual({ applied: [], skipped: expect.any(Array), reapplied: [] });
  });
});
