import { Client, ClientBase } from 'pg';
import { inspectIntegrationLogs } from '../db/adopt-seed';
import { describeConnectionError } from '../db/connection-error';

/** The seed's columns: name → [type as format_type prints it, nullable]. created_at is NOT NULL by design (partition key). */
const SEED_COLUMNS: Array<[string, string]> = [
  ['id', 'uuid'],
  ['service_name', 'text'],
  ['action', 'text'],
  ['status', 'text'],
  ['related_entity_type', 'text'],
  ['related_entity_id', 'uuid'],
  ['request_payload', 'jsonb'],
  ['response_payload', 'jsonb'],
  ['error_message', 'text'],
  ['error_code', 'text'],
  ['duration_ms', 'integer'],
  ['retry_count', 'integer'],
  ['created_at', 'timestamp with time zone'],
  ['updated_at', 'timestamp with time zone'],
];
// created_at's index is per partition since 018 (a BRIN per week, a B-tree on the default partition)
const INDEXES = ['integration_logs_pkey', 'idx_integration_logs_service_name', 'idx_integration_logs_entity', 'idx_integration_logs_failed'];
const VIEWS = ['integration_stats_hourly', 'integration_stats_daily'];
const POLICIES = ['integration_logs_service_role_all', 'integration_logs_read_authenticated'];

interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

/** Runs `fn` inside a savepoint that is always rolled back: checks never leave anything behind. */
async function probe<T>(c: Client, fn: () => Promise<T>): Promise<{ value?: T; error?: Error & { code?: string } }> {
  await c.query('SAVEPOINT doctor_probe');
  try {
    return { value: await fn() };
  } catch (err) {
    return { error: err as Error & { code?: string } };
  } finally {
    await c.query('ROLLBACK TO SAVEPOINT doctor_probe');
  }
}

/**
 * The role doctor connects as is judged as the API's role: the API should run as a login that is
 * not a superuser, cannot bypass RLS, and owns nothing (an owner's rights come with membership
 * too, so "owns" counts every relation whose owner this role has the rights of).
 */
export async function checkLeastPrivilege(c: ClientBase, add: (name: string, ok: boolean, detail?: string) => void): Promise<void> {
  const { rows } = await c.query(
    `SELECT r.rolname AS name, r.rolsuper AS superuser, r.rolbypassrls AS bypassrls, r.rolinherit AS inherit,
            (SELECT count(*) FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
              WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
                AND cl.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND pg_has_role(r.oid, cl.relowner, 'USAGE'))::int AS owns,
            (SELECT string_agg(cl.relname, ', ' ORDER BY cl.relname) FROM (
               SELECT cl.relname FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
                WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
                  AND cl.relkind IN ('r', 'p', 'v') AND pg_has_role(r.oid, cl.relowner, 'USAGE')
                ORDER BY cl.relname LIMIT 3) cl) AS examples
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const r = rows[0] as { name: string; superuser: boolean; bypassrls: boolean; inherit: boolean; owns: number; examples: string | null };
  const fix = 'serve the API as a NOINHERIT login granted only anon, authenticated, service_role (docs/production.md)';
  const name = `API role ${r.name} is least-privileged`;
  if (r.superuser) add(name, false, `superuser: RLS holds only while every code path remembers SET ROLE; ${fix}`);
  else if (r.bypassrls) add(name, false, `BYPASSRLS: row-level security does not apply to it; ${fix}`);
  else if (r.owns > 0) add(name, false, `owns (or has its owner's rights over) ${r.owns} relations, e.g. ${r.examples ?? '-'}: owners bypass RLS; ${fix}`);
  else add(name, true, `not a superuser, owns nothing${r.inherit ? '' : ', NOINHERIT'}`);
}

const STORAGE_DAYS = 90;
const mb = (bytes: number) => (bytes / 1048576).toFixed(1);

/**
 * The monitor's size per table now and what STORAGE_DAYS of data at the current rate will take
 * (integration_storage_report, repeatable/13_storage.sql), as lines to print after the checks; as
 * service_role, like the write checks. Informational: it passes or fails nothing. A database
 * migrated before the function existed gets one line saying so.
 */
async function storageReport(c: Client): Promise<string[]> {
  const r = await probe(c, async () => {
    await c.query('SET LOCAL ROLE service_role');
    return (await c.query(`SELECT relation, bytes::float8 AS bytes, projected_bytes::float8 AS projected, calls_per_day FROM integration_storage_report($1)`, [STORAGE_DAYS])).rows;
  });
  if (r.error || !r.value) return [`storage: not reported (${r.error?.message ?? 'no rows'}); run \`integration-monitor migrate\``];
  const rows = r.value.filter((x) => x.bytes > 0);
  const perDay = Math.round(Number(r.value[0]?.calls_per_day ?? 0));
  const total = rows.reduce((a, x) => a + x.bytes, 0);
  const projected = rows.reduce((a, x) => a + x.projected, 0);
  const width = Math.max(5, ...rows.map((x) => String(x.relation).length));
  return [
    `storage: ${mb(total)} MB now; ${STORAGE_DAYS} days at the current rate (${perDay} calls/day over the last 7 days) would take about ${mb(projected)} MB`,
    `  ${'table'.padEnd(width)}  ${'MB now'.padStart(8)}  ${`MB at ${STORAGE_DAYS} d`.padStart(10)}`,
    ...rows.map((x) => `  ${String(x.relation).padEnd(width)}  ${mb(x.bytes).padStart(8)}  ${mb(x.projected).padStart(10)}`),
  ];
}

/**
 * `integration-monitor doctor`: the seed's final checklist against any database, inside one
 * transaction that is rolled back. Prints a ✔/✘ table; returns 0 when all pass, 1 on any ✘,
 * 2 when the database cannot be reached.
 */
export async function runDoctor(databaseUrl: string, write: (line: string) => void, writeError: (line: string) => void = write): Promise<number> {
  const c = new Client({ connectionString: databaseUrl, application_name: 'integration-monitor doctor', connectionTimeoutMillis: 10_000 });
  c.on('error', () => undefined); // a connection lost mid-check fails the check in progress instead
  try {
    await c.connect();
  } catch (err) {
    writeError(describeConnectionError(databaseUrl, err));
    return 2;
  }
  const checks: Check[] = [];
  let storage: string[] = [];
  const add = (name: string, ok: boolean, detail?: string) => checks.push({ name, ok, detail });
  try {
    await c.query('BEGIN');
    await checkLeastPrivilege(c, add);
    const table = await c.query(`SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('integration_logs')`);
    const present = table.rows.length === 1;
    const relkind = present ? (table.rows[0].relkind as string) : '';
    const seedTable = relkind === 'r' && (await inspectIntegrationLogs(c)).kind === 'seed';
    add(
      'table integration_logs present',
      present && !seedTable,
      !present
        ? 'missing — run `integration-monitor migrate`'
        : relkind === 'p'
          ? 'partitioned by created_at'
          : seedTable
            ? "the seed's MIGRATION 004 table, not adopted yet — run `integration-monitor migrate` (README.md: Already ran MIGRATION 004?)"
            : 'not partitioned',
    );
    if (present) {
      const { rows } = await c.query(
        `SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
         WHERE attrelid = 'integration_logs'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      );
      const have = new Map(rows.map((r) => [r.attname as string, r.type as string]));
      const wrong = SEED_COLUMNS.filter(([n, t]) => have.get(n) !== t).map(([n, t]) => `${n} ${t}`);
      const extra = [...have.keys()].filter((n) => !SEED_COLUMNS.some(([s]) => s === n));
      add(
        'columns as the seed specifies',
        wrong.length === 0 && extra.length === 0,
        wrong.length || extra.length ? `missing/wrong: ${wrong.join(', ') || '-'}; extra: ${extra.join(', ') || '-'}` : `${SEED_COLUMNS.length} columns`,
      );

      // As service_role (the writer), so the API's own role, which may not write, can run it too.
      const check = await probe(c, async () => {
        await c.query(`SET LOCAL ROLE service_role`);
        return c.query(`INSERT INTO integration_logs (service_name, action, status) VALUES ('doctor', 'check', 'bogus')`);
      });
      add('status CHECK rejects an unknown status', check.error?.code === '23514', check.error ? undefined : 'a row with status "bogus" was accepted');

      const idx = await c.query(`SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = 'integration_logs'::regclass`);
      const names = new Set(idx.rows.map((r) => (r.name as string).replace(/^.*\./, '')));
      const missing = INDEXES.filter((i) => !names.has(i));
      add('indexes', missing.length === 0, missing.length ? `missing: ${missing.join(', ')}` : INDEXES.join(', '));

      const parts = await c.query(
        `SELECT count(*) FILTER (WHERE pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT') AS defaults, count(*) AS total
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'integration_logs'::regclass`,
      );
      // Tomorrow must already have a partition (daily or weekly), or its rows would land in the default one.
      // From the catalog, which any role may read (integration_log_partitions() is the owner's).
      const tomorrow = await probe(c, () =>
        c.query(
          `SELECT EXISTS (
             SELECT 1 FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid
             CROSS JOIN LATERAL regexp_match(pg_get_expr(p.relpartbound, p.oid), 'FROM \\(''([^'']+)''\\) TO \\(''([^'']+)''\\)') AS m
             WHERE i.inhparent = 'integration_logs'::regclass AND m IS NOT NULL
               AND m[1]::timestamptz <= now() + interval '1 day' AND m[2]::timestamptz > now() + interval '1 day') AS ok`,
        ),
      ).then((r) => r.value ?? { rows: [{ ok: false }] });
      add(
        'partitions: default + upcoming days',
        Number(parts.rows[0].defaults) === 1 && tomorrow.rows[0].ok === true,
        `${parts.rows[0].total} partitions${tomorrow.rows[0].ok ? '' : '; none for tomorrow yet (the scheduler creates them)'}`,
      );

      // A database that ran the seed's MIGRATION 004: its adoption by `migrate` (src/db/adopt-seed.ts), as service_role like the checks below.
      const adoption = await probe(c, async () => {
        await c.query(`SET LOCAL ROLE service_role`);
        return (await c.query(`SELECT * FROM integration_adopt_seed_status()`)).rows[0] as
          { source: string; copied: string; source_rows: string | null; null_created_at: string; finished_at: Date | null; source_kept: boolean } | undefined;
      });
      const a = adoption.value;
      if (a && a.finished_at) {
        const nulls = Number(a.null_created_at) ? ` (${a.null_created_at} without created_at: given their updated_at)` : '';
        const kept = a.source_kept ? `; the old table is kept: DROP TABLE ${a.source}; once satisfied` : '; the old table is dropped';
        add('adoption of MIGRATION 004', true, `done, ${a.copied} of ${a.source_rows} rows copied${nulls}${kept}`);
      } else if (a) {
        add('adoption of MIGRATION 004', false, `in progress: ${a.copied} rows copied from ${a.source} so far; run \`integration-monitor migrate\` to finish it`);
      }

      const rls = await c.query(`SELECT relrowsecurity FROM pg_class WHERE oid = 'integration_logs'::regclass`);
      add('row-level security enabled', rls.rows[0].relrowsecurity === true);
      const pol = await c.query(`SELECT policyname, cmd, roles::text[] AS roles FROM pg_policies WHERE tablename = 'integration_logs'`);
      for (const p of POLICIES) {
        const found = pol.rows.find((r) => r.policyname === p);
        add(`policy ${p}`, !!found, found ? `${found.cmd} to ${(found.roles as string[]).join(',')}` : 'missing');
      }
    }

    for (const v of VIEWS) {
      const r = await c.query(`SELECT c.reloptions FROM pg_class c WHERE c.oid = to_regclass($1) AND c.relkind = 'v'`, [v]);
      const invoker = r.rows[0] && ((r.rows[0].reloptions as string[] | null) ?? []).some((o) => /^security_invoker=(true|on|1)$/i.test(o));
      add(`view ${v}`, r.rows.length === 1, r.rows.length === 0 ? 'missing' : invoker ? 'security_invoker' : 'not security_invoker: may bypass RLS');
    }

    if (present) {
      // The seed's test record, written as service_role, read back through both views, rolled back.
      const seedRow = await probe(c, async () => {
        await c.query(`SET LOCAL ROLE service_role`);
        await c.query(
          `INSERT INTO integration_logs (service_name, action, status, duration_ms, response_payload)
           VALUES ('amocrm', 'test_connection', 'success', 150, '{"test": true, "message": "Migration successful"}')`,
        );
        const out: Record<string, boolean> = {};
        for (const v of VIEWS) {
          const { rows } = await c.query(
            `SELECT count(*)::int AS n FROM ${v} WHERE service_name = 'amocrm' AND action = 'test_connection' AND status = 'success'
               AND min_duration_ms <= 150 AND max_duration_ms >= 150`,
          );
          out[v] = rows[0].n > 0;
        }
        return out;
      });
      add('test record inserted as service_role', !seedRow.error, seedRow.error ? seedRow.error.message : 'amocrm / test_connection / success / 150 ms (rolled back)');
      for (const v of VIEWS) add(`test record visible in ${v}`, seedRow.value?.[v] === true);

      const anon = await probe(c, async () => {
        await c.query(`SET LOCAL ROLE anon`);
        return c.query(`SELECT 1 FROM integration_logs LIMIT 1`);
      });
      add('anon cannot read integration_logs', anon.error?.code === '42501', anon.error ? 'permission denied' : 'anon could read');
      for (const v of VIEWS) {
        const r = await probe(c, async () => {
          await c.query(`SET LOCAL ROLE anon`);
          return c.query(`SELECT 1 FROM ${v} LIMIT 1`);
        });
        add(`anon cannot read ${v}`, r.error?.code === '42501', r.error ? 'permission denied' : 'anon could read');
      }
      const authRead = await probe(c, async () => {
        await c.query(`SET LOCAL ROLE authenticated`);
        await c.query(`SELECT 1 FROM integration_logs LIMIT 1`);
        for (const v of VIEWS) await c.query(`SELECT 1 FROM ${v} LIMIT 1`);
      });
      add('authenticated can read the table and views', !authRead.error, authRead.error?.message);
      const authWrite = await probe(c, async () => {
        await c.query(`SET LOCAL ROLE authenticated`);
        return c.query(`INSERT INTO integration_logs (service_name, action, status) VALUES ('doctor', 'check', 'success')`);
      });
      add('authenticated cannot write', authWrite.error?.code === '42501', authWrite.error ? 'permission denied' : 'authenticated could insert');
      // Its own grants (008) or membership of authenticated, whichever this database has.
      const reader = await c.query(
        `SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'integration_monitor_reader') THEN
                  has_table_privilege('integration_monitor_reader', 'integration_logs', 'SELECT')
                  AND has_table_privilege('integration_monitor_reader', 'integration_stats_daily', 'SELECT')
                  AND has_function_privilege('integration_monitor_reader', 'integration_range_agg(timestamptz, timestamptz, interval, text)', 'EXECUTE')
                ELSE false END AS ok`,
      );
      add(
        'integration_monitor_reader can read',
        reader.rows[0].ok === true,
        reader.rows[0].ok ? 'for Grafana: ALTER ROLE … LOGIN PASSWORD' : 'run `integration-monitor migrate` (008 grants it its reads)',
      );

      // PostgREST's login role: here every signed-in end user of the app is `authenticated`.
      const postgrest = (await c.query(`SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') AS yes`)).rows[0].yes === true;
      // As service_role, as the checks above: the API's login is NOINHERIT and has no rights of its own.
      const claim = await probe(c, async () => {
        await c.query(`SET LOCAL ROLE service_role`);
        return (await c.query(`SELECT integration_read_claim() AS claim`)).rows[0].claim as string | null;
      });
      const fix = `UPDATE integration_monitor_settings SET read_claim = 'app_metadata.role=admin' (or ALTER DATABASE … SET intmon.read_claim), and MONITOR_READ_CLAIM for the API`;
      if (claim.error) add('read claim for authenticated', false, `cannot read it (${claim.error.message}): run \`integration-monitor migrate\``);
      else if (claim.value && !/^\s*[^=\s][^=]*=/.test(claim.value)) add('read claim for authenticated', false, `"${claim.value}" is not path.to.claim=value, so nobody authenticated can read`);
      else if (claim.value) add('read claim for authenticated', true, `authenticated reads only with ${claim.value} in its JWT claims`);
      else if (postgrest) add('read claim for authenticated', false, `PostgREST roles exist (Supabase?) and none is set: every signed-in user can read the logs. Fix: ${fix}`);
      else add('read claim for authenticated', true, 'none set (no PostgREST roles here: every authenticated token may read)');
    }
    if (present) storage = await storageReport(c);
    await c.query('ROLLBACK');
  } catch (err) {
    add('doctor could complete its checks', false, (err as Error).message);
    await c.query('ROLLBACK').catch(() => undefined);
  } finally {
    await c.end().catch(() => undefined);
  }

  const width = Math.max(...checks.map((k) => k.name.length));
  for (const k of checks) write(`${k.ok ? '✔' : '✘'} ${k.name.padEnd(width)}${k.detail ? `  ${k.detail}` : ''}`);
  const failed = checks.filter((k) => !k.ok).length;
  write(failed ? `${failed} of ${checks.length} checks failed` : `all ${checks.length} checks passed`);
  for (const l of storage) write(l);
  return failed ? 1 : 0;
}
