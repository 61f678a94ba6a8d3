/**
 * Every PostgreSQL query of both dashboards (panels, variables, annotations), expanded as Grafana
 * would, run on the migrated real Postgres as Grafana's data source role
 * (integration_monitor_reader, a member of `authenticated`), over ranges from 5 minutes to 90 days;
 * and the numbers compared with ones computed here from the fixture calls.
 */
import crypto from 'node:crypto';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { ALL_VALUE, expandPanelSql, panelInterval, TemplateVariable, TimeRange } from '../helpers/grafana-macros';
import { asReader, Call, call, groupBy, inRange, insertCalls, minutes, percentileCont, round2 } from './support/fixtures';
import { readJson, readYaml, resolveDatasourceVariables, uids } from './support/provisioning';

const U = uids();
const overview = resolveDatasourceVariables(readJson('dashboards/integrations-overview.json'));
const detail = resolveDatasourceVariables(readJson('dashboards/service-detail.json'));
const pgDs = readYaml('datasources/integration-monitor.yaml').datasources.find((d: any) => d.uid === U.datasources.postgres);

const T = new Date('2026-11-20T12:00:00Z'); // "now" of every query below
const ago = (ms: number) => new Date(T.getTime() - ms);
const LEAD = crypto.randomUUID();

/** The fixture: what an hour or two of calls to three providers looks like, with known answers. */
function fixture(): Call[] {
  const calls: Call[] = [];
  for (let m = 1; m <= 60; m++) {
    // amocrm/sync_lead: one call a minute, 100 ms; the 7 most recent minutes failed.
    calls.push(
      call({
        service_name: 'amocrm',
        action: 'sync_lead',
        status: m <= 7 ? 'failed' : 'success',
        duration_ms: 100,
        created_at: ago(minutes(m) - 10_000),
        related_entity_type: m <= 3 ? 'lead' : null,
        related_entity_id: m <= 3 ? LEAD : null,
      }),
    );
  }
  for (let m = 1; m <= 5; m++) calls.push(call({ service_name: 'amocrm', action: 'test_connection', duration_ms: 150, created_at: ago(minutes(m * 11) - 20_000) }));
  for (let m = 11; m <= 30; m++) {
    // resend/send_email: 20 calls, one very slow; three needed retries.
    calls.push(
      call({
        service_name: 'resend',
        action: 'send_email',
        duration_ms: m === 20 ? 5000 : 200 + m,
        retry_count: m % 7 === 0 ? 2 : 0,
        created_at: ago(minutes(m) - 30_000),
        related_entity_type: m === 20 ? 'lead' : null,
        related_entity_id: m === 20 ? LEAD : null,
      }),
    );
  }
  for (let m = 1; m <= 5; m++) calls.push(call({ service_name: 'telegram', action: 'send_message', duration_ms: 40 + m, created_at: ago(minutes(m * 9) - 5_000) }));
  calls.push(call({ service_name: 'telegram', action: 'send_message', status: 'pending', duration_ms: null, created_at: ago(minutes(4)) }));
  // whapi: three calls an hour for ~6 days, durations with many ties (the slowest-calls pruning).
  for (let h = 2; h < 140; h++) {
    if (h === 48) continue;
    for (let k = 0; k < 3; k++) {
      calls.push(call({ service_name: 'whapi', action: k === 2 ? 'send_media' : 'send_message', duration_ms: ((h * 37 + k * 11) % 50) * 10, created_at: ago(minutes(h * 60 + k * 13 + 1)) }));
    }
  }
  // Older traffic (2 days ago) that only the long ranges see.
  for (let h = 30; h < 54; h++) calls.push(call({ service_name: 'mobizon', action: 'send_sms', status: h % 6 === 0 ? 'failed' : 'success', duration_ms: 300, created_at: ago(minutes(h * 60)) }));
  return calls;
}

const CALLS = fixture();
const RANGES: Array<[string, number]> = [
  ['5m', minutes(5)],
  ['1h', minutes(60)],
  ['24h', minutes(24 * 60)],
  ['7d', minutes(7 * 24 * 60)],
  ['90d', minutes(90 * 24 * 60)],
];

interface PanelTarget {
  dashboard: string;
  panel: any;
  target: any;
}
const pgTargets = (d: any): PanelTarget[] =>
  d.panels.flatMap((p: any) => (p.targets ?? []).filter((t: any) => t.datasource.uid === U.datasources.postgres).map((t: any) => ({ dashboard: d.uid, panel: p, target: t })));

/** Dashboard variables as the frontend would hold them once the variable queries have run. */
function detailVariables(services: string[] | 'all', actions: string[] | 'all', entity: { type: string; id: string } = { type: '', id: '' }): TemplateVariable[] {
  const allServices = [...new Set(CALLS.map((c) => c.service_name))].sort();
  const allActions = [...new Set(CALLS.map((c) => c.action))].sort();
  return [
    { name: 'service', multi: true, includeAll: true, options: allServices, current: services === 'all' ? ALL_VALUE : services },
    { name: 'action', multi: true, includeAll: true, options: allActions, current: actions === 'all' ? ALL_VALUE : actions },
    { name: 'entity_type', current: entity.type },
    { name: 'entity_id', current: entity.id },
  ];
}

/** The dashboards' hidden constant `tz` (the zone whose days panels cut), as provisioned. */
const provisionedTz = (d: any): string => d.templating.list.find((v: any) => v.name === 'tz' && v.type === 'constant')?.query;

function contextFor(panel: any, range: TimeRange, variables: TemplateVariable[] = []) {
  // Grafana: interval from the panel's maxDataPoints, floored by the panel's (or data source's) min interval.
  const { intervalMs } = panelInterval(range, panel.maxDataPoints ?? 1000, panel.interval ?? pgDs.jsonData.timeInterval);
  // Constants are variables like any other at query time; a test may set `tz` to another zone.
  const withTz = variables.some((v) => v.name === 'tz') ? variables : [...variables, { name: 'tz', current: provisionedTz(overview) }];
  return { range, intervalMs, variables: withTz };
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await insertCalls(db.pool, CALLS);
});
afterAll(async () => {
  await db?.drop();
});

async function run(sql: string) {
  return asReader(db.pool, async (c) => c.query(sql));
}

describe('every PostgreSQL query runs as integration_monitor_reader over 5 minutes to 90 days', () => {
  const all = [...pgTargets(overview), ...pgTargets(detail)];
  const cases = all.flatMap((pt) => RANGES.map(([name, ms]) => [`${pt.dashboard} / ${pt.panel.title} / ${name}`, pt, ms] as const));

  it.each(cases)('%s', async (_name, pt, ms) => {
    const range = { from: ago(ms), to: T };
    const vars = pt.dashboard === U.dashboards.serviceDetail ? detailVariables('all', 'all', { type: 'lead', id: LEAD }) : [];
    const { sql } = expandPanelSql(pt.target.rawSql, contextFor(pt.panel, range, vars));
    const res = await run(sql);
    if (pt.target.format === 'time_series') {
      // Grafana needs a column named time, sorted ascending, and numeric values.
      expect(res.fields.map((f) => f.name)).toContain('time');
      const times = res.rows.map((r) => Number(r.time));
      expect(times).toEqual([...times].sort((a, b) => a - b));
      for (const t of times) expect(t * 1000 >= range.from.getTime() - 86_400_000 && t * 1000 <= range.to.getTime()).toBe(true);
    }
  });

  it('variables and annotations run too, as the reader', async () => {
    const range = { from: ago(minutes(24 * 60)), to: T };
    for (const v of detail.templating.list.filter((x: any) => x.type === 'query')) {
      const { sql } = expandPanelSql(v.query, { range, intervalMs: 60_000, variables: detailVariables('all', 'all') });
      const res = await run(sql);
      expect(res.fields).toHaveLength(1);
    }
    for (const a of overview.annotations.list.filter((x: any) => x.datasource.uid === U.datasources.postgres)) {
      const { sql } = expandPanelSql(a.target.rawSql, { range, intervalMs: 60_000 });
      const res = await run(sql);
      expect(res.fields.map((f) => f.name)).toEqual(expect.arrayContaining(['time', 'timeend', 'text', 'tags']));
    }
  });

  it('the reader role cannot write, and anon cannot read', async () => {
    await expect(run("INSERT INTO integration_logs (service_name, action, status) VALUES ('x', 'y', 'success')")).rejects.toThrow(/permission denied|row-level security/);
    await expect(run('DELETE FROM integration_logs')).rejects.toThrow(/permission denied/);
    const c = await db.pool.connect();
    try {
      await c.query('BEGIN; SET LOCAL ROLE anon');
      await expect(c.query("SELECT * FROM integration_range_agg(now() - interval '1 day', now(), NULL)")).rejects.toThrow(/permission denied/);
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  });
});

// ---- numbers -----------------------------------------------------------------------------------

const panel = (d: any, title: RegExp) => d.panels.find((p: any) => title.test(p.title));

/** Runs a time_series panel over a range and returns {`time|metric` → value} (plus the interval used). */
async function series(d: any, title: RegExp, range: TimeRange, variables: TemplateVariable[] = []) {
  const p = panel(d, title);
  const ctx = contextFor(p, range, variables);
  const res = await run(expandPanelSql(p.targets[0].rawSql, ctx).sql);
  const out = new Map<string, number | null>();
  for (const r of res.rows) {
    for (const f of res.fields.filter((x) => x.name !== 'time' && x.name !== 'metric')) {
      const name = r.metric !== undefined ? r.metric : f.name;
      out.set(`${Number(r.time) * 1000}|${name}`, r[f.name] === null ? null : Number(r[f.name]));
    }
  }
  return { out, intervalMs: ctx.intervalMs };
}

/** Expected per-bucket values from the fixture, bucketed as Grafana's $__timeGroup would. */
function expected(range: TimeRange, intervalMs: number, key: (c: Call) => string | null, value: (cs: Call[]) => number | null, filter: (c: Call) => boolean = () => true) {
  const rows = CALLS.filter((c) => inRange(c, range.from, range.to) && filter(c));
  const out = new Map<string, number | null>();
  for (const [k, cs] of groupBy(rows, (c) => `${Math.floor(c.created_at.getTime() / intervalMs) * intervalMs}|${key(c)}`)) {
    if (k.endsWith('|null')) continue;
    out.set(k, value(cs));
  }
  return out;
}

/**
 * The bucket width the count panels ask the rollups for: $__interval, at least an hour past 2 days
 * and a day past 14 days, so that a whole rollup level serves the range (minute rollups over a week
 * were most of those panels' time).
 */
const countWidth = (rangeMs: number, intervalMs: number) => Math.max(intervalMs, rangeMs > 14 * 86_400_000 ? 86_400_000 : rangeMs > 2 * 86_400_000 ? 3_600_000 : 0);
/** The failure annotations' width: a hundredth of the range (at least a minute), rounded up to whole minutes, hours past 2 days, days past 14. */
const annotationWidth = (rangeMs: number) => {
  const unit = rangeMs > 14 * 86_400_000 ? 86_400_000 : rangeMs > 2 * 86_400_000 ? 3_600_000 : 60_000;
  return Math.ceil(Math.max(Math.floor(rangeMs / 100), 60_000) / unit) * unit;
};

const failureRate = (cs: Call[]) => round2((100 * cs.filter((c) => c.status === 'failed').length) / cs.length);
const durations = (cs: Call[]) => cs.map((c) => c.duration_ms).filter((d): d is number => d !== null);

/** The latency panels' bucket width: their $__interval, at least 5 minutes past an hour, an hour past 6 hours, 6 hours past 2 days, a day past 14. */
function latencyWidth(rangeMs: number, intervalMs: number): number {
  const floor = rangeMs > 14 * 86_400_000 ? 86_400_000 : rangeMs > 2 * 86_400_000 ? 21_600_000 : rangeMs > 21_600_000 ? 3_600_000 : rangeMs > 3_600_000 ? 300_000 : 0;
  return Math.max(intervalMs, floor);
}

function expectClose(actual: Map<string, number | null>, want: Map<string, number | null>, relTol = 0) {
  expect([...actual.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [k, v] of want) {
    const a = actual.get(k)!;
    if (v === null) expect([k, a]).toEqual([k, null]);
    else if (relTol === 0) expect([k, a]).toEqual([k, v]);
    else expect([k, Math.abs(a - v) <= relTol * Math.abs(v) + 1e-9]).toEqual([k, true]);
  }
}

describe('overview numbers equal the fixture', () => {
  const day = { from: ago(minutes(24 * 60)), to: T };

  it('failure rate by service, per 5-minute bucket over 24 h (300 points)', async () => {
    const { out, intervalMs } = await series(overview, /^Failure rate by service/, day);
    expect(intervalMs).toBe(minutes(5));
    const want = expected(day, intervalMs, (c) => c.service_name, failureRate);
    expectClose(out, want);
    // the two hand-checked buckets: the last 5 minutes all failed, the 5 before 2 of 5
    expect(out.get(`${T.getTime() - minutes(5)}|amocrm`)).toBe(100);
    expect(out.get(`${T.getTime() - minutes(10)}|amocrm`)).toBe(40);
  });

  it('the same panel over 1 h uses 1-minute buckets (the min interval), not 10 s', async () => {
    const hour = { from: ago(minutes(60)), to: T };
    const { out, intervalMs } = await series(overview, /^Failure rate by service/, hour);
    expect(intervalMs).toBe(minutes(1));
    expectClose(
      out,
      expected(hour, intervalMs, (c) => c.service_name, failureRate),
    );
  });

  it('call volume by service, over 7 days (30-minute $__interval, served as hourly buckets) including the older traffic', async () => {
    const week = { from: ago(minutes(7 * 24 * 60)), to: T };
    const { out, intervalMs } = await series(overview, /^Call volume/, week);
    expect(intervalMs).toBe(minutes(30));
    expect(countWidth(minutes(7 * 24 * 60), intervalMs)).toBe(minutes(60));
    expectClose(
      out,
      expected(
        week,
        minutes(60),
        (c) => c.service_name,
        (cs) => cs.length,
      ),
    );
    expect([...out.keys()].some((k) => k.endsWith('|mobizon'))).toBe(true);
  });

  it.each([
    [/p50/, 0.5],
    [/p95/, 0.95],
    [/p99/, 0.99],
  ])('latency %s by service over 24 h, in hourly buckets (past 6 hours), within 2.5 %% of percentile_cont', async (title, p) => {
    const { out, intervalMs } = await series(overview, new RegExp(`^Latency ${title.source}`), day);
    expect(intervalMs).toBeLessThan(minutes(60));
    const want = expected(
      day,
      minutes(60),
      (c) => (c.duration_ms === null ? null : c.service_name),
      (cs) => percentileCont(durations(cs), p),
    );
    expectClose(out, want, 0.025);
  });

  it('latency over 6 hours and a minute: hourly buckets; over 6 hours: 5-minute buckets from raw rows; over an hour: the panel interval', async () => {
    const more = { from: ago(minutes(6 * 60 + 1)), to: T };
    const m = await series(overview, /^Latency p99/, more);
    const wantMore = expected(
      more,
      minutes(60),
      (c) => (c.duration_ms === null ? null : c.service_name),
      (cs) => percentileCont(durations(cs), 0.99),
    );
    expect(wantMore.size).toBeGreaterThan(5);
    expectClose(m.out, wantMore, 0.025);
    const six = { from: ago(minutes(6 * 60)), to: T };
    const s = await series(overview, /^Latency p99/, six);
    expect(s.intervalMs).toBe(minutes(1));
    expectClose(
      s.out,
      expected(
        six,
        minutes(5),
        (c) => (c.duration_ms === null ? null : c.service_name),
        (cs) => percentileCont(durations(cs), 0.99),
      ),
      0.025,
    );
    const hour = { from: ago(minutes(60)), to: T };
    const h = await series(overview, /^Latency p99/, hour);
    expect(latencyWidth(minutes(60), h.intervalMs)).toBe(h.intervalMs);
    expectClose(
      h.out,
      expected(
        hour,
        h.intervalMs,
        (c) => (c.duration_ms === null ? null : c.service_name),
        (cs) => percentileCont(durations(cs), 0.99),
      ),
      0.025,
    );
  });

  it('latency over a week uses buckets of at least 6 hours (over two weeks, a day), still within 2.5 %', async () => {
    const week = { from: ago(minutes(7 * 24 * 60)), to: T };
    const { out, intervalMs } = await series(overview, /^Latency p95/, week);
    expect(intervalMs).toBe(minutes(30));
    const width = minutes(6 * 60);
    const want = expected(
      week,
      width,
      (c) => (c.duration_ms === null ? null : c.service_name),
      (cs) => percentileCont(durations(cs), 0.95),
    );
    expect(want.size).toBeGreaterThan(20);
    expectClose(out, want, 0.025);
    const month = { from: ago(minutes(30 * 24 * 60)), to: T };
    const m = await series(overview, /^Latency p95/, month);
    expectClose(
      m.out,
      expected(
        month,
        86_400_000,
        (c) => (c.duration_ms === null ? null : c.service_name),
        (cs) => percentileCont(durations(cs), 0.95),
      ),
      0.025,
    );
  });

  it('days are the dashboard constant tz’s: UTC as provisioned, Asia/Almaty days start at 19:00 UTC', async () => {
    expect([provisionedTz(overview), provisionedTz(detail)]).toEqual(['UTC', 'UTC']);
    const month = { from: ago(minutes(30 * 24 * 60)), to: T };
    const DAY = 86_400_000;
    const FIVE_HOURS = 5 * 3_600_000; // Asia/Almaty is UTC+5 all year
    const p95 = (cs: Call[]) => percentileCont(durations(cs), 0.95);
    const m = await series(overview, /^Latency p95/, month, [{ name: 'tz', current: 'Asia/Almaty' }]);
    const want = new Map<string, number | null>();
    const rows = CALLS.filter((c) => inRange(c, month.from, month.to) && c.duration_ms !== null);
    for (const [k, cs] of groupBy(rows, (c) => `${Math.floor((c.created_at.getTime() + FIVE_HOURS) / DAY) * DAY - FIVE_HOURS}|${c.service_name}`)) {
      want.set(k, p95(cs));
    }
    expectClose(m.out, want, 0.025);
    expect(new Set([...m.out.keys()].map((k) => new Date(Number(k.split('|')[0])).toISOString().slice(11)))).toEqual(new Set(['19:00:00.000Z']));
    // the same panel in UTC: UTC midnights
    const u = await series(overview, /^Latency p95/, month);
    expect(new Set([...u.out.keys()].map((k) => new Date(Number(k.split('|')[0])).toISOString().slice(11)))).toEqual(new Set(['00:00:00.000Z']));
  });

  it('health table: calls, failures, rate, averages, percentiles and state per service', async () => {
    const p = panel(overview, /Service health \(PostgreSQL\)/);
    const hour = { from: ago(minutes(60)), to: T };
    const res = await run(expandPanelSql(p.targets[0].rawSql, contextFor(p, hour)).sql);
    const rows = new Map(res.rows.map((r) => [r.Service, r]));
    const inHour = CALLS.filter((c) => inRange(c, hour.from, hour.to));
    expect([...rows.keys()].sort()).toEqual([...new Set(inHour.map((c) => c.service_name))].sort());
    for (const [svc, cs] of groupBy(inHour, (c) => c.service_name)) {
      const r = rows.get(svc);
      const failed = cs.filter((c) => c.status === 'failed').length;
      const ds = durations(cs);
      expect(Number(r.Calls)).toBe(cs.length);
      expect(Number(r.Failed)).toBe(failed);
      expect(Number(r.Succeeded)).toBe(cs.filter((c) => c.status === 'success').length);
      expect(Number(r['Failure rate'])).toBe(round2((100 * failed) / cs.length));
      expect(Number(r.Avg)).toBeCloseTo(ds.reduce((s, x) => s + x, 0) / ds.length, 1);
      for (const [col, q] of [
        ['p50', 0.5],
        ['p95', 0.95],
        ['p99', 0.99],
      ] as const) {
        const want = percentileCont(ds, q)!;
        expect(Math.abs(Number(r[col]) - want) <= 0.025 * want + 0.05).toBe(true);
      }
    }
    // amocrm: 7 failed of 65 calls (10.8 %, >= 20 calls) → degraded; resend/telegram: ok.
    expect(rows.get('amocrm').State).toBe('degraded');
    expect(rows.get('resend').State).toBe('ok');
    expect(rows.get('telegram').State).toBe('ok');
  });

  it('health state: one failure out of one call at night is not down', async () => {
    const night = { from: ago(minutes(48 * 60 + 30)), to: ago(minutes(47 * 60 + 30)) }; // one mobizon call, failed (h = 48)
    const p = panel(overview, /Service health \(PostgreSQL\)/);
    const res = await run(expandPanelSql(p.targets[0].rawSql, contextFor(p, night)).sql);
    const mobizon = res.rows.find((r) => r.Service === 'mobizon');
    expect(mobizon).toMatchObject({ Service: 'mobizon', State: 'degraded' });
    expect(Number(mobizon.Calls)).toBe(1);
    expect(Number(mobizon['Failure rate'])).toBe(100);
  });

  it('recent failures: failed calls in the range, newest first', async () => {
    const p = panel(overview, /^Recent failures$/);
    const res = await run(expandPanelSql(p.targets[0].rawSql, contextFor(p, day)).sql);
    const want = CALLS.filter((c) => c.status === 'failed' && inRange(c, day.from, day.to)).sort((a, b) => b.created_at.getTime() - a.created_at.getTime());
    expect(res.rows.map((r) => r.Id)).toEqual(want.map((c) => c.id));
    expect(res.rows[0]).toMatchObject({ Service: 'amocrm', Code: '500', Error: 'upstream error' });
  });

  it('failure annotations: one per service and bucket with failures, with the counts', async () => {
    const a = overview.annotations.list.find((x: any) => x.datasource.uid === U.datasources.postgres);
    const res = await run(expandPanelSql(a.target.rawSql, { range: day, intervalMs: 60_000 }).sql);
    const width = annotationWidth(minutes(24 * 60)); // 14.4 minutes, rounded up to whole minutes
    expect(width).toBe(minutes(15));
    const want = expected(
      day,
      width,
      (c) => c.service_name,
      (cs) => cs.filter((c) => c.status === 'failed').length,
    );
    const texts = res.rows.map((r) => r.text).sort();
    const wantTexts = [...want.entries()]
      .filter(([, n]) => n! > 0)
      .map(([k, n]) => {
        const svc = k.split('|')[1];
        const total = expected(
          day,
          width,
          (c) => c.service_name,
          (cs) => cs.length,
        ).get(k);
        return `${svc}: ${n} failed of ${total} calls`;
      })
      .sort();
    expect(texts).toEqual(wantTexts);
    for (const r of res.rows) expect(r.tags).toMatch(/^failure,/);
  });
});

describe('service detail numbers equal the fixture', () => {
  const day = { from: ago(minutes(24 * 60)), to: T };
  const inSel = (services: string[], actions: string[] | 'all') => (c: Call) => services.includes(c.service_name) && (actions === 'all' || actions.includes(c.action));

  it('variables: services, then actions of the selected services', async () => {
    const [svcVar, actionVar] = detail.templating.list.filter((v: any) => v.type === 'query');
    const s = await run(expandPanelSql(svcVar.query, { range: day, intervalMs: 60_000 }).sql);
    expect(s.rows.map((r) => Object.values(r)[0])).toEqual([...new Set(CALLS.map((c) => c.service_name))].sort());
    const a = await run(expandPanelSql(actionVar.query, { range: day, intervalMs: 60_000, variables: detailVariables(['amocrm', 'telegram'], 'all') }).sql);
    expect(a.rows.map((r) => Object.values(r)[0])).toEqual(['send_message', 'sync_lead', 'test_connection']);
  });

  it('calls and failure rate by action, for a multi-value selection', async () => {
    const vars = detailVariables(['amocrm', 'resend'], ['sync_lead', 'send_email']);
    const sel = inSel(['amocrm', 'resend'], ['sync_lead', 'send_email']);
    const calls = await series(detail, /^Calls by action/, day, vars);
    expectClose(
      calls.out,
      expected(
        day,
        calls.intervalMs,
        (c) => `${c.service_name} / ${c.action}`,
        (cs) => cs.length,
        sel,
      ),
    );
    const rate = await series(detail, /^Failure rate by action/, day, vars);
    expectClose(
      rate.out,
      expected(day, rate.intervalMs, (c) => `${c.service_name} / ${c.action}`, failureRate, sel),
    );
    expect([...calls.out.keys()].some((k) => k.includes('test_connection'))).toBe(false);
  });

  it('status mix and retries with All selected', async () => {
    const vars = detailVariables('all', 'all');
    const mix = await series(detail, /^Status mix/, day, vars);
    expectClose(
      mix.out,
      expected(
        day,
        mix.intervalMs,
        (c) => c.status,
        (cs) => cs.length,
      ),
    );
    expect([...mix.out.keys()].some((k) => k.endsWith('|pending'))).toBe(true);
    const retries = await series(detail, /^Retries/, day, vars);
    const attempts = expected(
      day,
      retries.intervalMs,
      () => 'retry attempts',
      (cs) => cs.reduce((s, c) => s + c.retry_count, 0),
    );
    const retried = expected(
      day,
      retries.intervalMs,
      () => 'retried calls',
      (cs) => cs.filter((c) => c.retry_count > 0).length,
    );
    expectClose(retries.out, new Map([...attempts, ...retried]));
  });

  it('latency p50/p95/p99 of one service over 24 h (hourly buckets) within 2.5 %', async () => {
    const vars = detailVariables(['resend'], 'all');
    const { out, intervalMs } = await series(detail, /^Latency/, day, vars);
    expect(latencyWidth(minutes(24 * 60), intervalMs)).toBe(minutes(60));
    const sel = inSel(['resend'], 'all');
    const want = new Map<string, number | null>();
    for (const [name, q] of [
      ['p50', 0.5],
      ['p95', 0.95],
      ['p99', 0.99],
    ] as const) {
      for (const [k, v] of expected(
        day,
        latencyWidth(minutes(24 * 60), intervalMs),
        () => name,
        (cs) => percentileCont(durations(cs), q),
        sel,
      )) {
        want.set(k, v);
      }
    }
    expectClose(out, want, 0.025);
  });

  it('slowest calls of the selection, slowest first', async () => {
    const p = panel(detail, /^Slowest calls/);
    const vars = detailVariables(['resend', 'telegram'], 'all');
    const res = await run(expandPanelSql(p.targets[0].rawSql, contextFor(p, day, vars)).sql);
    const want = CALLS.filter((c) => ['resend', 'telegram'].includes(c.service_name) && c.duration_ms !== null && inRange(c, day.from, day.to))
      .sort((a, b) => b.duration_ms! - a.duration_ms! || b.created_at.getTime() - a.created_at.getTime())
      .slice(0, 50);
    expect(res.rows.map((r) => r.Id)).toEqual(want.map((c) => c.id));
    expect(res.rows[0]).toMatchObject({ Service: 'resend', Duration: 5000 });
  });

  it('slowest calls stay exact when only the hours that can hold them are read (ties included)', async () => {
    const p = panel(detail, /^Slowest calls/);
    const week = { from: ago(minutes(7 * 24 * 60)), to: T };
    const vars = detailVariables(['whapi'], ['send_message']);
    const res = await run(expandPanelSql(p.targets[0].rawSql, contextFor(p, week, vars)).sql);
    const want = CALLS.filter((c) => c.service_name === 'whapi' && c.action === 'send_message' && inRange(c, week.from, week.to))
      .sort((a, b) => b.duration_ms! - a.duration_ms! || b.created_at.getTime() - a.created_at.getTime())
      .slice(0, 50);
    expect(want.length).toBe(50);
    expect(new Set(want.map((c) => c.duration_ms)).size).toBeLessThan(25); // plenty of ties
    expect(res.rows.map((r) => r.Id)).toEqual(want.map((c) => c.id));
  });

  it('entity drill-down: every call about one lead, newest first; a malformed id matches nothing', async () => {
    const p = panel(detail, /^Entity drill-down/);
    const res = await run(expandPanelSql(p.targets[0].rawSql, contextFor(p, day, detailVariables('all', 'all', { type: 'lead', id: LEAD }))).sql);
    const want = CALLS.filter((c) => c.related_entity_id === LEAD).sort((a, b) => b.created_at.getTime() - a.created_at.getTime());
    expect(res.rows.map((r) => r.Id)).toEqual(want.map((c) => c.id));
    expect(new Set(res.rows.map((r) => r.Service))).toEqual(new Set(['amocrm', 'resend']));
    const bad = await run(expandPanelSql(p.targets[0].rawSql, contextFor(p, day, detailVariables('all', 'all', { type: 'lead', id: "x'; DROP TABLE integration_logs; --" }))).sql);
    expect(bad.rows).toEqual([]);
  });
});

// Every panel served from a narrower rollup (issue 16) against aggregation of the fixture's raw
// calls, at every range the dashboard bench measures (and the short ones).
describe('count panels, failure annotations and slowest calls equal raw aggregation at every range', () => {
  const ALL_RANGES: Array<[string, number]> = [...RANGES, ['6h', minutes(6 * 60)], ['30d', minutes(30 * 24 * 60)]];
  const count = (cs: Call[]) => cs.length;

  it.each(ALL_RANGES)('overview failure rate and volume by service over %s', async (_n, ms) => {
    const range = { from: ago(ms), to: T };
    const rate = await series(overview, /^Failure rate by service/, range);
    expectClose(
      rate.out,
      expected(range, countWidth(ms, rate.intervalMs), (c) => c.service_name, failureRate),
    );
    const volume = await series(overview, /^Call volume/, range);
    expectClose(
      volume.out,
      expected(range, countWidth(ms, volume.intervalMs), (c) => c.service_name, count),
    );
    expect(volume.out.size).toBeGreaterThan(0);
  });

  it.each(ALL_RANGES)('service detail calls, failure rate, status mix and retries over %s', async (_n, ms) => {
    const range = { from: ago(ms), to: T };
    const vars = detailVariables(['amocrm', 'whapi', 'resend'], 'all');
    const sel = (c: Call) => ['amocrm', 'whapi', 'resend'].includes(c.service_name);
    const pair = (c: Call) => `${c.service_name} / ${c.action}`;
    const calls = await series(detail, /^Calls by action/, range, vars);
    expectClose(calls.out, expected(range, countWidth(ms, calls.intervalMs), pair, count, sel));
    const rate = await series(detail, /^Failure rate by action/, range, vars);
    expectClose(rate.out, expected(range, countWidth(ms, rate.intervalMs), pair, failureRate, sel));
    const mix = await series(detail, /^Status mix/, range, vars);
    expectClose(
      mix.out,
      expected(range, countWidth(ms, mix.intervalMs), (c) => c.status, count, sel),
    );
    const retries = await series(detail, /^Retries/, range, vars);
    const w = countWidth(ms, retries.intervalMs);
    const attempts = expected(
      range,
      w,
      () => 'retry attempts',
      (cs) => cs.reduce((a, c) => a + c.retry_count, 0),
      sel,
    );
    const retried = expected(
      range,
      w,
      () => 'retried calls',
      (cs) => cs.filter((c) => c.retry_count > 0).length,
      sel,
    );
    expectClose(retries.out, new Map([...attempts, ...retried]));
  });

  it.each(ALL_RANGES)('failure annotations over %s: one per service and bucket with failures', async (_n, ms) => {
    const range = { from: ago(ms), to: T };
    const a = overview.annotations.list.find((x: any) => x.datasource.uid === U.datasources.postgres);
    const res = await run(expandPanelSql(a.target.rawSql, { range, intervalMs: 60_000 }).sql);
    const width = annotationWidth(ms);
    const failed = expected(
      range,
      width,
      (c) => c.service_name,
      (cs) => cs.filter((c) => c.status === 'failed').length,
    );
    const total = expected(range, width, (c) => c.service_name, count);
    const want = [...failed.entries()].filter(([, n]) => n! > 0).map(([k, n]) => `${Number(k.split('|')[0])}|${k.split('|')[1]}: ${n} failed of ${total.get(k)} calls`);
    const got = res.rows.map((r) => `${new Date(r.time).getTime()}|${r.text}`);
    expect(got.sort()).toEqual(want.sort());
    for (const r of res.rows) expect(new Date(r.timeend).getTime() - new Date(r.time).getTime()).toBe(width);
  });

  it.each(ALL_RANGES)('slowest calls over %s, All selected and one action, exact with ties', async (_n, ms) => {
    const range = { from: ago(ms), to: T };
    const p = panel(detail, /^Slowest calls/);
    for (const [services, actions] of [
      ['all', 'all'],
      [['whapi'], ['send_media']],
    ] as const) {
      const vars = detailVariables(services === 'all' ? 'all' : [...services], actions === 'all' ? 'all' : [...actions]);
      const res = await run(expandPanelSql(p.targets[0].rawSql, contextFor(p, range, vars)).sql);
      const want = CALLS.filter((c) => c.duration_ms !== null && inRange(c, range.from, range.to))
        .filter((c) => (services === 'all' || services.includes(c.service_name as never)) && (actions === 'all' || actions.includes(c.action as never)))
        .sort((a, b) => b.duration_ms! - a.duration_ms! || b.created_at.getTime() - a.created_at.getTime())
        .slice(0, 50);
      expect(res.rows.map((r) => r.Id)).toEqual(want.map((c) => c.id));
    }
  });
});

describe('service detail latency reads per-service histograms when every action of the selection is selected', () => {
  const durationsOf = (cs: Call[]) => cs.map((c) => c.duration_ms).filter((d): d is number => d !== null);
  const latencyCases: Array<[string, number, string[] | 'all', string[] | 'all']> = [
    ['90d, All', minutes(90 * 24 * 60), 'all', 'all'],
    ['7d, whapi, every action', minutes(7 * 24 * 60), ['whapi'], 'all'],
    ['7d, whapi / send_message only', minutes(7 * 24 * 60), ['whapi'], ['send_message']],
    ['24h, amocrm / sync_lead only', minutes(24 * 60), ['amocrm'], ['sync_lead']],
  ];

  it.each(latencyCases)('%s: p50/p95/p99 within 2.5 %% of percentile_cont', async (_n, ms, services, actions) => {
    const range = { from: ago(ms), to: T };
    const vars = detailVariables(services, actions);
    const { out, intervalMs } = await series(detail, /^Latency/, range, vars);
    const width = latencyWidth(ms, intervalMs);
    const sel = (c: Call) => (services === 'all' || services.includes(c.service_name)) && (actions === 'all' || actions.includes(c.action));
    const want = new Map<string, number | null>();
    for (const [name, q] of [
      ['p50', 0.5],
      ['p95', 0.95],
      ['p99', 0.99],
    ] as const) {
      for (const [k, v] of expected(
        range,
        width,
        () => name,
        (cs) => percentileCont(durationsOf(cs), q),
        (c) => sel(c) && c.duration_ms !== null,
      )) {
        want.set(k, v);
      }
    }
    expect(want.size).toBeGreaterThan(0);
    expectClose(out, want, 0.025);
  });

  it('only one of the two histogram reads runs: per service for a whole selection, per action otherwise', async () => {
    const p = panel(detail, /^Latency/);
    const range = { from: ago(minutes(7 * 24 * 60)), to: T };
    const plan = async (actions: string[] | 'all') => {
      const { sql } = expandPanelSql(p.targets[0].rawSql, contextFor(p, range, detailVariables(['whapi'], actions)));
      const res = await run(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${sql}`);
      const text = res.rows.map((r) => r['QUERY PLAN']).join('\n');
      const scan = (fn: string) => text.split('\n').find((l) => l.includes(`Function Scan on ${fn} `))!;
      return { service: scan('integration_hist_percentile_series_zone'), action: scan('integration_hist_range') };
    };
    const whole = await plan('all');
    expect(whole.action).toMatch(/never executed/);
    expect(whole.service).not.toMatch(/never executed/);
    const one = await plan(['send_message']);
    expect(one.service).toMatch(/never executed/);
    expect(one.action).not.toMatch(/never executed/);
  });
});

describe('integration_hist_percentile_series_service_zone (010), in UTC, answers as merging integration_hist_range_service', () => {
  // The general form: every (bucket, service, bin) row merged, then the percentile per bucket.
  const general = `SELECT h.bucket, h.service_name, integration_hist_percentile(array_agg(h.bin ORDER BY h.bin), array_agg(h.n ORDER BY h.bin), $4) AS value
                   FROM integration_hist_range_service($1, $2, $3::interval) h GROUP BY 1, 2 ORDER BY 1, 2`;
  const fast = "SELECT bucket, service_name, value FROM integration_hist_percentile_series_service_zone($1, $2, $3::interval, $4, 'UTC') ORDER BY 1, 2";
  it.each([
    ['90 days, one-day buckets, ends mid-day', minutes(90 * 24 * 60) + minutes(17), '1 day'],
    ['15 days, one-day buckets', minutes(15 * 24 * 60), '1 day'],
    ['20 hours inside two days, one-day buckets (no whole day: the general way)', minutes(20 * 60), '1 day'],
    ['7 days, 6-hour buckets (the general way)', minutes(7 * 24 * 60), '6 hours'],
    ['24 hours, 5-minute buckets (raw rows: percentile_cont)', minutes(24 * 60) + minutes(3), '5 minutes'],
    ['6 hours, 1-minute buckets (raw rows: percentile_cont)', minutes(6 * 60), '1 minute'],
    ['36 hours, 90-second buckets (raw rows: percentile_cont)', minutes(36 * 60), '90 seconds'],
  ])('%s', async (_n, ms, width) => {
    for (const p of [0.5, 0.95, 0.99]) {
      const args = [ago(ms), ago(minutes(7)), width, p];
      const want = (await run(general.replace(/\$(\d)/g, (_m, i) => lit(args[Number(i) - 1])))).rows;
      const got = (await run(fast.replace(/\$(\d)/g, (_m, i) => lit(args[Number(i) - 1])))).rows;
      expect(want.length).toBeGreaterThan(0);
      expect(got).toEqual(want);
    }
  });
});

describe('integration_hist_percentile_series_zone (010), in UTC, answers as merging integration_hist_range_service over the selected services', () => {
  const general = `SELECT bucket, ARRAY[integration_hist_percentile(array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin), 0.5),
                                 integration_hist_percentile(array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin), 0.95),
                                 integration_hist_percentile(array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin), 0.99)] AS ps
                   FROM (SELECT h.bucket, h.bin, sum(h.n)::bigint AS n FROM integration_hist_range_service($1, $2, $3::interval) h
                         WHERE h.service_name = ANY($4::text[]) GROUP BY 1, 2) m
                   GROUP BY 1 ORDER BY 1`;
  const fast = "SELECT bucket, ps FROM integration_hist_percentile_series_zone($1, $2, $3::interval, $4::text[], ARRAY[0.5, 0.95, 0.99], 'UTC') ORDER BY 1";
  it.each([
    ['90 days, one-day buckets, two services', minutes(90 * 24 * 60) + minutes(17), '1 day', '{whapi,mobizon}'],
    ['90 days, one-day buckets, every service', minutes(90 * 24 * 60), '1 day', '{amocrm,mobizon,resend,telegram,whapi}'],
    ['20 hours, one-day buckets (no whole day: the general way)', minutes(20 * 60), '1 day', '{amocrm,whapi}'],
    ['7 days, 6-hour buckets (the general way)', minutes(7 * 24 * 60), '6 hours', '{whapi}'],
    ['24 hours, 5-minute buckets, two services (raw rows: percentile_cont)', minutes(24 * 60) + minutes(3), '5 minutes', '{whapi,mobizon}'],
    ['6 hours, 1-minute buckets, every service (raw rows: percentile_cont)', minutes(6 * 60), '1 minute', '{amocrm,mobizon,resend,telegram,whapi}'],
  ])('%s', async (_n, ms, width, services) => {
    const args = [ago(ms), ago(minutes(7)), width, services];
    const sub = (sql: string) => sql.replace(/\$(\d)/g, (_m, i) => lit(args[Number(i) - 1]));
    const want = (await run(sub(general))).rows;
    expect(want.length).toBeGreaterThan(0);
    expect((await run(sub(fast))).rows).toEqual(want);
  });
});

function lit(v: unknown): string {
  return v instanceof Date ? `'${v.toISOString()}'::timestamptz` : typeof v === 'number' ? String(v) : `'${String(v)}'`;
}

describe('now row, error codes and entities equal the fixture', () => {
  const day = { from: ago(minutes(24 * 60)), to: T };
  const failedIn = (from: Date, to: Date) => CALLS.filter((c) => c.status === 'failed' && inRange(c, from, to));

  it("failures by error code: per code, over the selection's failed calls in the range", async () => {
    const p = panel(detail, /Failures by error code/);
    const res = await run(expandPanelSql(p.targets[0].rawSql, contextFor(p, day, detailVariables('all', 'all'))).sql);
    const want = groupBy(failedIn(day.from, day.to), (c) => c.error_code ?? '(none)');
    expect(want.size).toBeGreaterThan(0);
    expect(new Map(res.rows.map((r) => [r.Code, Number(r.Failures)]))).toEqual(new Map([...want].map(([k, v]) => [k, v.length])));
    const one = await run(expandPanelSql(p.targets[0].rawSql, contextFor(p, day, detailVariables(['amocrm'], 'all'))).sql);
    const wantOne = failedIn(day.from, day.to).filter((c) => c.service_name === 'amocrm').length;
    expect(one.rows.reduce((n, r) => n + Number(r.Failures), 0)).toBe(wantOne);
  });

  it('top failing entities: failures per entity, most first', async () => {
    const p = panel(detail, /Top failing entities/);
    const res = await run(expandPanelSql(p.targets[0].rawSql, contextFor(p, day, detailVariables('all', 'all'))).sql);
    const want = groupBy(
      failedIn(day.from, day.to).filter((c) => c.related_entity_id !== null),
      (c) => `${c.related_entity_type}|${c.related_entity_id}`,
    );
    expect(new Map(res.rows.map((r) => [`${r['Entity type']}|${r['Entity id']}`, Number(r.Failures)]))).toEqual(new Map([...want].map(([k, v]) => [k, v.length])));
    const counts = res.rows.map((r) => Number(r.Failures));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
  });

  it('now: the last 15 minutes per known service, failure % only from 20 calls, worst first', async () => {
    const p = panel(overview, /^Now:/);
    const res = await run(expandPanelSql(p.targets[0].rawSql, contextFor(p, day)).sql);
    const from = ago(minutes(15));
    const services = [...new Set(CALLS.map((c) => c.service_name))].sort();
    expect(res.rows.map((r) => r.Service).sort()).toEqual(services);
    for (const r of res.rows) {
      const cs = CALLS.filter((c) => c.service_name === r.Service && inRange(c, from, T));
      const failed = cs.filter((c) => c.status === 'failed').length;
      expect([r.Service, Number(r['Calls/min']), Number(r.Failed)]).toEqual([r.Service, round2(cs.length / 15), failed]);
      expect([r.Service, r['Failure %'] === null ? null : Number(r['Failure %'])]).toEqual([r.Service, cs.length >= 20 ? round2((100 * failed) / cs.length) : null]);
    }
    const rank = (s: string) => ({ down: 0, degraded: 1, ok: 2, 'no calls': 3 })[s]!;
    const ranks = res.rows.map((r) => rank(r.State));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  });
});
