import { Client } from 'pg';
import { runDoctor } from '../../src/cli/doctor';
import { readTestEnv } from '../setup/test-env';
import net from 'node:net';
import { createTestDatabase } from '../helpers/db';

async function doctor(url: string) {
  const lines: string[] = [];
  const code = await runDoctor(url, (l) => lines.push(l));
  return { code, lines };
}

test('a migrated database, checked as the API role, passes every check and is left unchanged', async () => {
  const db = await createTestDatabase();
  try {
    const { code, lines } = await doctor(db.apiUrl);
    expect(lines.filter((l) => l.startsWith('✘'))).toEqual([]);
    expect(code).toBe(0);
    for (const name of [
      'table integration_logs present',
      'indexes',
      'row-level security enabled',
      'policy integration_logs_service_role_all',
      'policy integration_logs_read_authenticated',
      'view integration_stats_hourly',
      'view integration_stats_daily',
      'test record visible in integration_stats_daily',
      'anon cannot read integration_logs',
      'authenticated cannot write',
      'API role',
      'status CHECK rejects an unknown status',
    ]) {
      expect(lines.some((l) => l.startsWith(`✔ ${name}`))).toBe(true);
    }
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM integration_logs`);
    expect(rows[0].n).toBe(0);
    const r = await db.pool.query(`SELECT count(*)::int AS n FROM integration_rollup_minute`);
    expect(r.rows[0].n).toBe(0);
  } finally {
    await db.drop();
  }
});

test('a database with a missing policy and a write grant to authenticated fails with ✘ and exit code 1', async () => {
  const db = await createTestDatabase();
  try {
    await db.pool.query(`DROP POLICY integration_logs_read_authenticated ON integration_logs`);
    await db.pool.query(`GRANT INSERT ON integration_logs TO authenticated; CREATE POLICY lax ON integration_logs FOR INSERT TO authenticated WITH CHECK (true)`);
    const { code, lines } = await doctor(db.url);
    expect(code).toBe(1);
    expect(lines.some((l) => l.startsWith('✘ policy integration_logs_read_authenticated'))).toBe(true);
    expect(lines.some((l) => l.startsWith('✘ authenticated cannot write'))).toBe(true);
  } finally {
    await db.drop();
  }
});

test('an empty database: ✘ table missing, exit code 1', async () => {
  const db = await createTestDatabase({ migrated: false });
  try {
    const { code, lines } = await doctor(db.url);
    expect(code).toBe(1);
    expect(lines.some((l) => /^✘ table integration_logs present/.test(l))).toBe(true);
  } finally {
    await db.drop();
  }
});

/** A port nobody listens on (embedded.ts's freePort drags in an ESM-only package under jest). */
const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });

test('an unreachable database: one clear line, exit code 2', async () => {
  const port = await freePort();
  const { code, lines } = await doctor(`postgres://nobody:secret@127.0.0.1:${port}/nothing`);
  expect(code).toBe(2);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`cannot use database 127\\.0\\.0\\.1:${port}/nothing`));
  expect(lines[0]).not.toContain('secret');
});

test('a database whose upcoming partitions are missing fails the partition check', async () => {
  const db = await createTestDatabase();
  try {
    const { rows } = await db.pool.query(`SELECT partition_name FROM integration_log_partitions() WHERE lo <= now() + interval '1 day' AND hi > now() + interval '1 day'`);
    for (const r of rows) await db.pool.query(`ALTER TABLE integration_logs DETACH PARTITION ${r.partition_name}`);
    const { code, lines } = await doctor(db.url);
    expect(code).toBe(1);
    expect(lines.some((l) => l.startsWith('✘ partitions: default + upcoming days'))).toBe(true);
  } finally {
    await db.drop();
  }
});

describe('the API role check', () => {
  test('a superuser is flagged with the reason', async () => {
    const db = await createTestDatabase();
    try {
      const { code, lines } = await doctor(db.url);
      expect(code).toBe(1);
      expect(lines.filter((l) => l.startsWith('✘'))).toEqual([expect.stringMatching(/^✘ API role \S+ is least-privileged +superuser: RLS holds only/)]);
    } finally {
      await db.drop();
    }
  });

  test('a non-superuser that owns the tables (or inherits an owner) is flagged; the API role is not', async () => {
    const db = await createTestDatabase();
    const owner = `intmon_owner_${process.pid}_${Date.now() % 100000}`;
    const heir = `${owner}_heir`;
    try {
      await db.pool.query(`CREATE ROLE ${owner} LOGIN PASSWORD 'owner-pw-0123456789' IN ROLE service_role`);
      await db.pool.query(`ALTER TABLE integration_monitor_migrations OWNER TO ${owner}`);
      await db.pool.query(`CREATE ROLE ${heir} LOGIN PASSWORD 'heir-pw-0123456789' IN ROLE ${owner}, service_role`);
      const as = (user: string, pw: string) => {
        const u = new URL(db.url);
        u.username = user;
        u.password = pw;
        return u.toString();
      };
      for (const [user, pw] of [
        [owner, 'owner-pw-0123456789'],
        [heir, 'heir-pw-0123456789'],
      ]) {
        const { lines } = await doctor(as(user, pw));
        expect(lines.find((l) => l.includes('API role'))).toMatch(
          new RegExp(`^✘ API role ${user} is least-privileged +owns \\(or has its owner's rights over\\) 1 relations, e.g. integration_monitor_migrations`),
        );
      }
      const { lines } = await doctor(db.apiUrl);
      expect(lines.find((l) => l.includes('API role'))).toMatch(/^✔ API role \S+ is least-privileged +not a superuser, owns nothing, NOINHERIT/);
    } finally {
      await db.drop();
      await db.pool.end().catch(() => undefined);
      const c = new Client({ connectionString: readTestEnv().adminUrl });
      await c.connect();
      await c.query(`DROP ROLE IF EXISTS ${heir}`);
      await c.query(`DROP ROLE IF EXISTS ${owner}`);
      await c.end();
    }
  });
});

test('doctor prints the size per table and what 90 days at the current rate will take', async () => {
  const db = await createTestDatabase();
  try {
    // 2,000 calls a day over the last 7 days (and older ones that do not count towards the rate)
    await db.pool.query(`SELECT count(*) FROM ensure_integration_log_partitions(1, 20)`);
    await db.pool.query(
      `INSERT INTO integration_logs (service_name, action, status, duration_ms, created_at)
       SELECT (ARRAY['amocrm','whapi'])[1 + i % 2], 'sync', 'success', i % 500, now() - interval '1 second' - i * interval '43.2 seconds'
       FROM generate_series(0, 7 * 2000 - 1) i
       UNION ALL
       SELECT 'amocrm', 'sync', 'success', 5, now() - interval '12 days' - i * interval '1 minute' FROM generate_series(0, 499) i`,
    );
    await db.pool.query('VACUUM ANALYZE integration_logs');
    const { rows } = await db.pool.query(`SELECT * FROM integration_storage_report(90)`);
    const logs = rows.find((r) => r.relation === 'integration_logs');
    expect(Number(logs.calls_per_day)).toBe(2000);
    expect(Number(logs.row_estimate)).toBe(14500);
    expect(Number(logs.projected_bytes)).toBe(Math.round((Number(logs.bytes) / 14500) * 2000 * 90));
    const minute = rows.find((r) => r.relation === 'integration_rollup_minute');
    expect(Number(minute.bytes)).toBeGreaterThan(0);
    expect(Number(minute.projected_bytes)).toBe(Math.round((Number(minute.bytes) / Number(minute.days_covered)) * 8));
    const hour = rows.find((r) => r.relation === 'integration_rollup_hour');
    expect(Number(hour.projected_bytes)).toBe(Math.round((Number(hour.bytes) / Number(hour.days_covered)) * 90));

    const { code, lines } = await doctor(db.apiUrl);
    expect(code).toBe(0);
    const head = lines.find((l) => l.startsWith('storage: '));
    expect(head).toMatch(/MB now; 90 days at the current rate \(2000 calls\/day over the last 7 days\) would take about [\d.]+ MB/);
    expect(lines.some((l) => /^ {2}integration_logs +[\d.]+ +[\d.]+$/.test(l))).toBe(true);
  } finally {
    await db.drop();
  }
});
