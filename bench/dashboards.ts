/**
 * The dashboard bench: every PostgreSQL panel, variable and annotation query of every provisioned
 * dashboard (provisioning/dashboards/*.json, read at run time), expanded exactly as Grafana expands
 * it (bench/grafana-macros.ts: template variables, $__interval from the panel's max data points or
 * a 1,000 px width, floored at the data source's timeInterval, then macros.go), run as Grafana's
 * data source role integration_monitor_reader; beside it the hand-made dashboard on the seed's
 * schema (bench/seed-dashboard.ts) on the same rows. Ranges 6 h to 90 d ending now (the generated
 * rows end now). Per query: median and p95 of BENCH_DASHBOARD_RUNS (default 7, at least 5) runs as
 * the client sees them and in the database (EXPLAIN ANALYZE planning + execution, bench/db-time.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client, ClientBase } from 'pg';
import { dbTimer } from './db-time';
import { afterOptions, ALL_VALUE, expandPanelSql, panelInterval, type TemplateVariable, type TimeRange } from './grafana-macros';
import { SEED_DASHBOARD } from './seed-dashboard';
import { ms, pct, round } from './stats';
import type { BenchRow } from './types';
import { benchNow } from './clock';

export const RANGES: Array<[string, number]> = [
  ['6h', 6 * 3600e3],
  ['24h', 24 * 3600e3],
  ['7d', 7 * 86400e3],
  ['30d', 30 * 86400e3],
  ['90d', 90 * 86400e3],
];
/** RANGES, or those named in BENCH_RANGES (e.g. "6h,24h": a quick run after a change to the short ranges' panels). */
function benchRanges(): Array<[string, number]> {
  const want = (process.env.BENCH_RANGES ?? '').split(',').filter((r) => r !== '');
  const unknown = want.filter((w) => !RANGES.some(([n]) => n === w));
  if (unknown.length) throw new Error(`BENCH_RANGES: unknown range ${unknown.join(', ')} (known: ${RANGES.map(([n]) => n).join(', ')})`);
  return want.length ? RANGES.filter(([n]) => want.includes(n)) : RANGES;
}
/** A panel without maxDataPoints gets its width in pixels as max data points (Grafana's PanelQueryRunner). */
export const PANEL_WIDTH_PX = 1000;
const READER = 'integration_monitor_reader';
const RUNS = Math.max(5, Number(process.env.BENCH_DASHBOARD_RUNS ?? 7));

/** One SQL query of a dashboard, before expansion. */
export interface DashboardQuerySpec {
  title: string;
  kind: 'panel' | 'variable' | 'annotation';
  rawSql: string;
  maxDataPoints?: number;
  /** The panel's min interval (query options), else the data source's timeInterval. */
  interval?: string;
  /** For variables: its name, multi/includeAll flags, so later queries see it. */
  variable?: { name: string; multi?: boolean; includeAll?: boolean; saved?: string | string[] };
}

export interface DashboardSpec {
  uid: string;
  title: string;
  /** Variables whose values are typed in (textbox), set by the bench. */
  textboxes: string[];
  /** Constant variables (e.g. the dashboards' time zone `tz`) with their provisioned value. */
  constants?: Record<string, string>;
  queries: DashboardQuerySpec[];
  /** The seed's hand-made dashboard (compared against, not a target). */
  baseline?: boolean;
}

/** The PostgreSQL data source's uid and timeInterval, from provisioning/ (uids.json, datasources yaml). */
export function postgresDatasource(root: string): { uid: string; timeInterval: string } {
  const uids = JSON.parse(fs.readFileSync(path.join(root, 'provisioning/uids.json'), 'utf8'));
  const uid = uids.datasources.postgres as string;
  const yaml = fs.readFileSync(path.join(root, 'provisioning/datasources/integration-monitor.yaml'), 'utf8');
  // The block of the data source with this uid, up to the next list item.
  const block = yaml.split(/\n\s*- name:/).find((b) => new RegExp(`uid:\\s*${uid}\\b`).test(b)) ?? '';
  const m = /timeInterval:\s*(\S+)/.exec(block);
  return { uid, timeInterval: m ? m[1] : '1m' };
}

/** Every provisioned dashboard's PostgreSQL queries, in the order Grafana issues them (variables first). */
export function provisionedDashboards(root: string): DashboardSpec[] {
  const ds = postgresDatasource(root);
  const dir = path.join(root, 'provisioning/dashboards');
  // Panels name the data source through the dashboard variable ds_postgres (importable dashboards).
  const isPg = (x: { datasource?: { uid?: string } } | undefined) => x?.datasource?.uid === ds.uid || x?.datasource?.uid === '${ds_postgres}';
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const d = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as any;
      const queries: DashboardQuerySpec[] = [];
      const vars = d.templating?.list ?? [];
      for (const v of vars) {
        if (v.type !== 'query' || !isPg(v)) continue;
        const rawSql = typeof v.query === 'string' ? v.query : v.query?.rawSql;
        queries.push({ title: `$${v.name}`, kind: 'variable', rawSql, variable: { name: v.name, multi: v.multi, includeAll: v.includeAll, saved: v.current?.value } });
      }
      for (const a of d.annotations?.list ?? []) {
        if (isPg(a) && a.target?.rawSql) queries.push({ title: `annotation: ${a.name}`, kind: 'annotation', rawSql: a.target.rawSql, interval: ds.timeInterval });
      }
      for (const p of d.panels ?? []) {
        for (const t of p.targets ?? []) {
          if (!isPg(t) || !t.rawSql) continue;
          queries.push({ title: p.title, kind: 'panel', rawSql: t.rawSql, maxDataPoints: p.maxDataPoints, interval: p.interval || ds.timeInterval });
        }
      }
      const constants = Object.fromEntries(vars.filter((v: { type: string }) => v.type === 'constant').map((v: { name: string; query: string }) => [v.name, String(v.query)]));
      return { uid: d.uid, title: d.title, textboxes: vars.filter((v: { type: string }) => v.type === 'textbox').map((v: { name: string }) => v.name), constants, queries };
    });
}

export function seedDashboard(root: string): DashboardSpec {
  const ds = postgresDatasource(root);
  return {
    uid: SEED_DASHBOARD.uid,
    title: SEED_DASHBOARD.title,
    textboxes: [],
    baseline: true,
    queries: SEED_DASHBOARD.panels.map((p) => ({ title: p.title, kind: 'panel', rawSql: p.rawSql, interval: ds.timeInterval })),
  };
}

/** The query's $__interval as Grafana computes it for this range. */
export function intervalFor(q: DashboardQuerySpec, range: TimeRange): number {
  return panelInterval(range, q.maxDataPoints ?? PANEL_WIDTH_PX, q.interval).intervalMs;
}

/** Runs fn as the reader role in a transaction (rolled back), as Grafana's data source connects. */
export async function asReader<T>(c: ClientBase, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    await c.query(`SET LOCAL ROLE ${READER}`);
    return await fn();
  } finally {
    await c.query('ROLLBACK');
  }
}

/**
 * Expands every query of a dashboard for one range: variable queries run first (as Grafana's
 * variable refresh does), All selected, their answers the options later queries expand with.
 */
export async function expandDashboard(
  c: ClientBase,
  d: DashboardSpec,
  range: TimeRange,
  textboxes: Record<string, string>,
): Promise<Array<{ q: DashboardQuerySpec; sql: string; intervalMs: number }>> {
  const variables: TemplateVariable[] = [...Object.entries(d.constants ?? {}).map(([name, current]) => ({ name, current })), ...d.textboxes.map((name) => ({ name, current: textboxes[name] ?? '' }))];
  const out: Array<{ q: DashboardQuerySpec; sql: string; intervalMs: number }> = [];
  for (const q of d.queries) {
    const intervalMs = intervalFor(q, range);
    const { sql } = expandPanelSql(q.rawSql, { range, intervalMs, variables });
    out.push({ q, sql, intervalMs });
    if (q.variable) {
      const { rows } = await c.query(sql);
      const options = rows.map((r) => String(Object.values(r)[0]));
      // The dashboard's saved value (All on ours), then Grafana's own rule for it once the options are known.
      const { name, multi, includeAll, saved } = q.variable;
      variables.push(afterOptions({ name, multi, includeAll, current: saved ?? (includeAll ? ALL_VALUE : '') }, options));
    }
  }
  return out;
}

export interface PanelResult {
  dashboard: string;
  baseline: boolean;
  range: string;
  title: string;
  kind: DashboardQuerySpec['kind'];
  intervalMs: number;
  rows: number;
  runs: number;
  client: { p50: number; p95: number };
  db: { p50: number; p95: number };
}

async function timePanel(c: ClientBase, sql: string): Promise<{ rows: number; client: number[]; db: number[] }> {
  const warm = await c.query(sql); // warm-up: plpgsql plans are cached per session, as in Grafana's pool
  const client: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    await c.query(sql);
    client.push(ms(t));
  }
  const timer = dbTimer(c);
  const db: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await timer.client.query(sql);
    db.push(timer.take());
  }
  return { rows: warm.rowCount ?? warm.rows.length, client, db };
}

/** Times every dashboard at every range; entity is the textbox drill-down value. */
export async function benchDashboards(c: Client, log: (l: string) => void, entity: { type: string; id: string }, root = process.cwd()): Promise<PanelResult[]> {
  // The seed schema is the bench's own; the reader may read it so both sides run as the same role.
  await c.query(`GRANT USAGE ON SCHEMA seed TO ${READER}; GRANT SELECT ON ALL TABLES IN SCHEMA seed TO ${READER}`);
  const dashboards = [...provisionedDashboards(root), seedDashboard(root)];
  const textboxes = { entity_type: entity.type, entity_id: entity.id };
  const out: PanelResult[] = [];
  const now = benchNow();
  for (const [rname, rms] of benchRanges()) {
    const range = { from: new Date(now - rms), to: new Date(now) };
    for (const d of dashboards) {
      await asReader(c, async () => {
        for (const { q, sql, intervalMs } of await expandDashboard(c, d, range, textboxes)) {
          const t = await timePanel(c, sql);
          const r: PanelResult = {
            dashboard: d.title,
            baseline: !!d.baseline,
            range: rname,
            title: q.title,
            kind: q.kind,
            intervalMs,
            rows: t.rows,
            runs: RUNS,
            client: { p50: round(pct(t.client, 0.5)), p95: round(pct(t.client, 0.95)) },
            db: { p50: round(pct(t.db, 0.5)), p95: round(pct(t.db, 0.95)) },
          };
          log(`  [${rname}] ${d.title} / ${q.title}: db p50 ${r.db.p50} p95 ${r.db.p95} ms, client p50 ${r.client.p50} p95 ${r.client.p95} ms (${r.rows} rows)`);
          out.push(r);
        }
      });
    }
  }
  return out;
}

/**
 * The floor: what the narrowest data a panel needs costs to read once, with nothing computed on it.
 * Raw rows in the range (what a sub-hour percentile bucket or a raw list must touch), and the
 * per-service latency histogram rows of the level the latency panels read at that range (a day past
 * 14 days, an hour past 2 days). Where a panel misses a target, this says how far any SQL over the
 * same layout could go.
 */
export function floorQueries(range: TimeRange): Array<{ title: string; sql: string }> {
  const from = range.from.toISOString();
  const to = range.to.toISOString();
  const span = range.to.getTime() - range.from.getTime();
  const level = span > 14 * 86400e3 ? 'day' : span > 2 * 86400e3 ? 'hour' : null;
  const out = [{ title: 'raw rows in the range: count(duration_ms)', sql: `SELECT count(duration_ms) FROM integration_logs WHERE created_at >= '${from}' AND created_at < '${to}'` }];
  if (level) {
    out.push({
      title: `per-service ${level} histogram rows in the range: sum(n)`,
      sql: `SELECT count(*), sum(u.n) FROM integration_latency_hist_service_${level} h CROSS JOIN LATERAL integration_hist_bins(h.bins, h.ns) u
            WHERE h.bucket >= '${from}' AND h.bucket < '${to}'`,
    });
  }
  return out;
}

export async function benchFloors(c: Client, log: (l: string) => void): Promise<PanelResult[]> {
  const out: PanelResult[] = [];
  const now = benchNow();
  for (const [rname, rms] of benchRanges()) {
    const range = { from: new Date(now - rms), to: new Date(now) };
    await asReader(c, async () => {
      for (const f of floorQueries(range)) {
        const t = await timePanel(c, f.sql);
        const r: PanelResult = {
          dashboard: 'Floor (narrowest read)',
          baseline: true,
          range: rname,
          title: f.title,
          kind: 'panel',
          intervalMs: 0,
          rows: t.rows,
          runs: RUNS,
          client: { p50: round(pct(t.client, 0.5)), p95: round(pct(t.client, 0.95)) },
          db: { p50: round(pct(t.db, 0.5)), p95: round(pct(t.db, 0.95)) },
        };
        log(`  [${rname}] floor / ${f.title}: db p50 ${r.db.p50} p95 ${r.db.p95} ms`);
        out.push(r);
      }
    });
  }
  return out;
}

export function floorsMarkdown(floors: PanelResult[], tag: string): string {
  return `## Floors ${tag}: the narrowest data, read once (ms)\n\n${mdTable(
    ['range', 'read', 'db p50', 'db p95', 'client p50', 'client p95'],
    floors.map((r) => [r.range, r.title, r.db.p50, r.db.p95, r.client.p50, r.client.p95]),
  )}\n`;
}

export interface DashboardSummary {
  dashboard: string;
  baseline: boolean;
  range: string;
  queries: number;
  dbSumP50: number;
  dbSumP95: number;
  clientSumP50: number;
  clientSumP95: number;
  slowest: string;
  slowestDbP95: number;
}

export function summarise(results: PanelResult[]): DashboardSummary[] {
  const keys = [...new Set(results.map((r) => `${r.range}\u0000${r.dashboard}`))];
  return keys.map((k) => {
    const [range, dashboard] = k.split('\u0000');
    const rs = results.filter((r) => r.range === range && r.dashboard === dashboard);
    const sum = (f: (r: PanelResult) => number) => round(rs.reduce((s, r) => s + f(r), 0));
    const slow = rs.reduce((a, b) => (b.db.p95 > a.db.p95 ? b : a));
    return {
      dashboard,
      baseline: rs[0].baseline,
      range,
      queries: rs.length,
      dbSumP50: sum((r) => r.db.p50),
      dbSumP95: sum((r) => r.db.p95),
      clientSumP50: sum((r) => r.client.p50),
      clientSumP95: sum((r) => r.client.p95),
      slowest: slow.title,
      slowestDbP95: slow.db.p95,
    };
  });
}

const mdTable = (head: string[], body: Array<Array<string | number>>) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((b) => `| ${b.join(' | ')} |`)].join('\n');

/** The markdown the bench writes: per-dashboard sums with the hand-made ratio, then every query. */
export function dashboardsMarkdown(results: PanelResult[], tag: string): string {
  const sums = summarise(results);
  const base = (range: string) => sums.find((s) => s.baseline && s.range === range);
  const sumTable = mdTable(
    ['range', 'dashboard', 'queries', 'db sum p50', 'db sum p95', 'client sum p50', 'client sum p95', 'slowest (db p95)', 'hand-made ÷ this (db p50 sums)'],
    sums.map((s) => [
      s.range,
      s.dashboard,
      s.queries,
      s.dbSumP50,
      s.dbSumP95,
      s.clientSumP50,
      s.clientSumP95,
      `${s.slowest} (${s.slowestDbP95})`,
      s.baseline ? '' : `${round(base(s.range)!.dbSumP50 / s.dbSumP50)}×`,
    ]),
  );
  const panelTable = mdTable(
    ['range', 'dashboard', 'query', 'kind', '$__interval', 'rows', 'db p50', 'db p95', 'client p50', 'client p95'],
    results.map((r) => [r.range, r.dashboard, r.title, r.kind, `${r.intervalMs / 1000}s`, r.rows, r.db.p50, r.db.p95, r.client.p50, r.client.p95]),
  );
  return `## Dashboards ${tag} (ms; sums are of each query's p50/p95)\n\n${sumTable}\n\n### Every query ${tag}\n\n${panelTable}\n`;
}

/** One line per dashboard and range for the bench's main table. */
export function dashboardRows(results: PanelResult[], tag: string): BenchRow[] {
  const sums = summarise(results);
  return sums
    .filter((s) => !s.baseline)
    .map((s) => {
      const b = sums.find((x) => x.baseline && x.range === s.range)!;
      return {
        section: 'dashboards' as const,
        name: `${s.dashboard}, ${s.range} ${tag}, in the database`,
        seed: b.dbSumP50,
        ours: s.dbSumP50,
        unit: 'ms sum of p50 db',
        ratio: round(b.dbSumP50 / s.dbSumP50),
        note: `seed = hand-made dashboard; p95 sums ${b.dbSumP95} / ${s.dbSumP95}; slowest ${s.slowest} ${s.slowestDbP95} ms p95; client p50 sums ${b.clientSumP50} / ${s.clientSumP50}`,
      };
    });
}
