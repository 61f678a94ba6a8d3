/**
 * Every caller of the monitor's SQL functions is held to the generated list of their signatures
 * (src/store/sql-functions.json): the dashboards' panels, variables and annotations as Grafana
 * expands them, the alert rules' queries as Grafana's alerting expands them, the bench's SQL, the
 * server code's SQL, and the API's query module — the last run for real on a migrated database (as
 * the roles the API uses) with every statement it sends recorded, since it composes function names
 * at run time. A call of a function not in the list, with arguments no overload takes, or (for
 * Grafana's queries) of a function the reader role may not execute fails here.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ClientBase, PoolClient } from 'pg';
import { provisionedDashboards } from '../../bench/dashboards';
import * as queries from '../../src/store/queries';
import type { Metric } from '../../src/contract';
import { SQL_SIGNATURES_FILE, type SqlFunction } from '../../src/store/sql-signatures';
import { asRole, createTestDatabase, TestDatabase } from '../helpers/db';
import { ALL_VALUE, expandAlertSql, expandPanelSql, type TemplateVariable } from '../helpers/grafana-macros';
import { checkCalls, extractCalls, stringLiterals, type SqlCall } from '../helpers/sql-calls';
import { readYaml, uids } from '../provisioning/support/provisioning';

const ROOT = path.resolve(__dirname, '../..');
const FUNCTIONS = JSON.parse(fs.readFileSync(path.join(ROOT, SQL_SIGNATURES_FILE), 'utf8')) as SqlFunction[];
const READER = 'integration_monitor_reader';
const RANGE = { from: new Date('2026-11-13T12:00:00Z'), to: new Date('2026-11-20T12:00:00Z') };

let db: TestDatabase;
/** The monitor's tables and views: `integration_logs (` is a column list, not a call. */
let relations: Set<string>;
beforeAll(async () => {
  db = await createTestDatabase();
  const { rows } = await db.pool.query<{ relname: string }>(`SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relname ~ 'integration_'`);
  relations = new Set(rows.map((r) => r.relname));
});
afterAll(async () => {
  await db?.drop();
});

const tsFiles = (dir: string): string[] =>
  fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(ROOT, dir, f));

describe('the checker', () => {
  const check = (sql: string, role?: string) => checkCalls(extractCalls(sql), FUNCTIONS, { where: 'probe', role });

  it('passes calls the list accepts: defaults left out, named arguments, nested calls', () => {
    expect(check(`SELECT * FROM integration_range_agg(now() - interval '1 day', now())`)).toEqual([]);
    expect(check(`SELECT * FROM integration_range_agg(p_from => now() - interval '1 day', p_to => now(), p_width => NULL)`)).toEqual([]);
    expect(check(`SELECT * FROM integration_range_agg(now() - interval '1 day', now(), '1 hour', p_zone => 'Asia/Kolkata')`)).toEqual([]);
    expect(check(`SELECT integration_hist_percentile(array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin), 0.95) FROM t`, READER)).toEqual([]);
    expect(extractCalls(`SELECT integration_latency_bin(integration_latency_bin(1)) -- integration_nope(1)\n, 'integration_nope(2)'`).map((c) => c.name)).toEqual([
      'integration_latency_bin',
      'integration_latency_bin',
    ]);
  });

  it.each([
    ['a renamed function', `SELECT * FROM integration_range_aggregate(now(), now(), NULL)`, /no function integration_range_aggregate/],
    ['an extra argument', `SELECT * FROM integration_range_agg(now(), now(), NULL, 'UTC', 1)`, /5 positional arguments, it takes at most 4/],
    ['a missing required argument', `SELECT * FROM integration_range_agg(now())`, /p_to not given and without a default/],
    ['an unknown named argument', `SELECT * FROM integration_range_agg(now(), now(), p_tz => 'UTC')`, /no argument named p_tz/],
    ['an argument given twice', `SELECT * FROM integration_range_agg(now(), now(), p_from => now())`, /p_from is also given by position/],
  ])('fails %s', (_what, sql, message) => {
    const problems = check(sql);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('fails a Grafana query calling a function the reader may not execute', () => {
    expect(check(`SELECT integration_minute_kept_from()`, READER)).toEqual([expect.stringMatching(/integration_monitor_reader may not execute integration_minute_kept_from\(\)/)]);
    expect(check(`SELECT integration_minute_kept_from()`)).toEqual([]);
  });

  it('skips what is not a call of ours: column lists, definitions, other schemas', () => {
    const sql = `INSERT INTO integration_logs (a) VALUES (1); CREATE FUNCTION seed.cleanup_old_integration_logs() RETURNS void;
                 DROP FUNCTION IF EXISTS cleanup_old_integration_logs(); CREATE INDEX i ON seed.integration_logs (a)`;
    expect(extractCalls(sql, new Set(['integration_logs']))).toEqual([]);
  });
});

/** Each consumer's calls, found once, so the counts below and the checks read the same lists. */
function dashboardCalls(): Array<{ where: string; calls: SqlCall[] }> {
  return provisionedDashboards(ROOT).flatMap((d) => {
    // Query variables as All over two options: multi-value text is what Grafana splices in.
    const variables: TemplateVariable[] = [
      ...Object.entries(d.constants ?? {}).map(([name, current]) => ({ name, current })),
      ...d.textboxes.map((name) => ({ name, current: '' })),
      ...d.queries.flatMap((q) => (q.variable ? [{ ...q.variable, current: ALL_VALUE, options: ['amocrm', 'resend'] }] : [])),
    ];
    return d.queries.map((q) => ({ where: `${d.uid} / ${q.title}`, calls: extractCalls(expandPanelSql(q.rawSql, { range: RANGE, intervalMs: 3_600_000, variables }).sql, relations) }));
  });
}

/** The parts of provisioning/alerting/rules.yaml read here. */
interface AlertRules {
  groups: Array<{ rules: Array<{ title: string; data: Array<{ refId: string; datasourceUid: string; model: { rawSql?: string; intervalMs?: number } }> }> }>;
}

function alertCalls(): Array<{ where: string; calls: SqlCall[] }> {
  const pg = uids().datasources.postgres;
  const rules = readYaml<AlertRules>('alerting/rules.yaml').groups.flatMap((g) => g.rules);
  return rules.flatMap((r) =>
    r.data
      .filter((d) => d.datasourceUid === pg && d.model.rawSql)
      .map((d) => ({ where: `alert ${r.title} / ${d.refId}`, calls: extractCalls(expandAlertSql(d.model.rawSql as string, { range: RANGE, intervalMs: d.model.intervalMs ?? 1000 }).sql, relations) })),
  );
}

const sourceCalls = (dir: string, skip: RegExp = /$^/) =>
  tsFiles(dir)
    .filter((f) => !skip.test(f))
    .map((f) => ({ where: path.relative(ROOT, f), calls: stringLiterals(f).flatMap((s) => extractCalls(s, relations)) }));

describe('every consumer calls functions of the list, with arguments they take', () => {
  it('dashboards (as the reader, after Grafana’s expansion)', () => {
    const found = dashboardCalls();
    expect(found.filter((q) => q.calls.length > 0).length).toBeGreaterThanOrEqual(21);
    expect(found.flatMap((q) => checkCalls(q.calls, FUNCTIONS, { where: q.where, role: READER }))).toEqual([]);
  });

  it('alert rules (as the reader, after Grafana’s expansion)', () => {
    const found = alertCalls();
    expect(found.filter((q) => q.calls.length > 0).length).toBeGreaterThanOrEqual(16);
    expect(found.flatMap((q) => checkCalls(q.calls, FUNCTIONS, { where: q.where, role: READER }))).toEqual([]);
  });

  it('the bench’s SQL', () => {
    const found = sourceCalls('bench');
    expect(found.flatMap((q) => q.calls).length).toBeGreaterThanOrEqual(5);
    expect(found.flatMap((q) => checkCalls(q.calls, FUNCTIONS, q))).toEqual([]);
  });

  it('the server code’s SQL (the API, the CLI, the migrator’s helpers, the scheduler)', () => {
    const found = sourceCalls('src', /src\/plugin\//);
    expect(found.flatMap((q) => q.calls).length).toBeGreaterThanOrEqual(10);
    expect(found.flatMap((q) => checkCalls(q.calls, FUNCTIONS, q))).toEqual([]);
  });
});

/**
 * The range readers' names from before each read became one function with the zone its fourth
 * argument (migrations/repeatable/06_zone_reads.sql): kept only for dashboards users saved.
 */
const KEPT_FOR_SAVED_DASHBOARDS = ['integration_range_agg_zone', 'integration_range_agg_service_zone', 'integration_hist_range_zone', 'integration_hist_range_service_zone'];
const callsOfKept = (found: Array<{ where: string; calls: SqlCall[] }>) => found.flatMap((q) => q.calls.filter((c) => KEPT_FOR_SAVED_DASHBOARDS.includes(c.name)).map((c) => `${q.where}: ${c.text}`));

describe('nothing of ours calls the *_zone names kept for saved dashboards', () => {
  const check = (sql: string) => checkCalls(extractCalls(sql), FUNCTIONS, { where: 'probe', role: READER });

  it('they are still there, callable by the reader, and the search finds a call of one', () => {
    for (const name of KEPT_FOR_SAVED_DASHBOARDS) {
      expect(check(`SELECT * FROM ${name}(now() - interval '1 day', now(), '1 hour', 'Asia/Kolkata')`)).toEqual([]);
      expect(callsOfKept([{ where: 'probe', calls: extractCalls(`SELECT * FROM ${name}(now(), now(), '1 hour', 'UTC')`) }])).toHaveLength(1);
    }
  });

  it('no dashboard panel, variable or annotation, alert query, bench or server SQL', () => {
    expect(callsOfKept([...dashboardCalls(), ...alertCalls(), ...sourceCalls('bench'), ...sourceCalls('src', /src\/plugin\//)])).toEqual([]);
  });

  it('no repeatable migration but the one that keeps them', () => {
    const dir = path.join(ROOT, 'migrations/repeatable');
    const callers = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.sql') && f !== '06_zone_reads.sql')
      .flatMap((f) => [...fs.readFileSync(path.join(dir, f), 'utf8').matchAll(new RegExp(`\\b(${KEPT_FOR_SAVED_DASHBOARDS.join('|')})\\s*\\(`, 'g'))].map((m) => `${f}: ${m[1]}`));
    expect(callers).toEqual([]);
  });
});

/** A client that runs each statement and keeps its text. */
function recording(c: PoolClient, sent: string[]): ClientBase {
  return new Proxy(c, {
    get(target, key) {
      if (key === 'query') {
        return (q: string | { text: string }, values?: unknown[]) => {
          sent.push(typeof q === 'string' ? q : q.text);
          return target.query(q as string, values);
        };
      }
      const v = Reflect.get(target, key);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('the API’s query module, every branch run on a migrated database', () => {
  const sent: string[] = [];
  const from = new Date(Date.now() - 7 * 86_400_000);
  const to = new Date();

  beforeAll(async () => {
    // Reads as the API's callers read (authenticated); day zones as the operator (service_role).
    await asRole(db.pool, 'authenticated', async (c) => {
      const q = recording(c, sent);
      for (const timeZone of [undefined, 'Asia/Kolkata']) {
        for (const interval of ['hour', 'day'] as const) await queries.queryStats(q, { from, to, interval, timeZone, filters: {} });
        const metrics: Metric[] = ['volume', 'failure_rate', 'latency_avg', 'latency_p95'];
        for (const metric of metrics) {
          for (const groupBy of [undefined, 'service', 'action'] as const) {
            for (const filters of [{}, { actions: ['send_email'] }]) await queries.queryTimeseries(q, { metric, from, to, intervalMs: 3_600_000, timeZone, groupBy, filters });
          }
        }
      }
      await queries.queryHealth(q, { from, to });
      await queries.queryFailures(q, { limit: 10, from, to, filters: { services: ['amocrm'] } });
      await queries.queryLogs(q, { limit: 10, filters: {}, entityType: 'lead', before: { createdAt: to.toISOString(), id: '00000000-0000-0000-0000-000000000000' } });
      await queries.queryLog(q, '00000000-0000-0000-0000-000000000000');
      await queries.queryServices(q);
      await queries.pingDatabase(q);
      await queries.isDayZone(q, 'Asia/Kolkata');
    });
    await asRole(db.pool, 'service_role', async (c) => {
      const q = recording(c, sent);
      await queries.addDayZone(q, 'Asia/Kolkata');
      await queries.listDayZones(q);
      await queries.removeDayZone(q, 'Asia/Kolkata');
    });
  });

  it('calls only functions of the list, with arguments they take', () => {
    const calls = sent.flatMap((s) => extractCalls(s, relations));
    expect(checkCalls(calls, FUNCTIONS, { where: 'src/store/queries.ts' })).toEqual([]);
    // the range readers by their own names, the zone as fourth argument
    expect(callsOfKept([{ where: 'src/store/queries.ts', calls }])).toEqual([]);
    // Every function the module names was reached by a statement run above.
    const named = new Set(
      fs
        .readFileSync(path.join(ROOT, 'src/store/queries.ts'), 'utf8')
        .match(/\bintegration_\w+/g)
        ?.filter((n) => !relations.has(n)),
    );
    const reached = new Set(calls.map((c) => c.name));
    expect([...named].filter((n) => !reached.has(n))).toEqual([]);
    expect(named.size).toBeGreaterThanOrEqual(10);
  });
});
