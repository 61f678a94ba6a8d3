/**
 * Alert replay: a simulated day of traffic for a set of scenarios (one service or two each, with
 * seven days of ordinary history before it so the silent-service rule has its baseline), every
 * provisioned rule evaluated at every tick of its group's interval as Grafana would
 * (support/replay.ts, support/alerting.ts), and each scenario judged on what an on-call person
 * would experience: was each incident paged in time, did anything page that should not have,
 * did a resolved incident page again. Prints one table row per scenario; fails on a miss, a
 * late page, a false page or a re-page, or any evaluation error.
 *
 * Scenarios share one database and one timeline; every rule query groups by service, so
 * services cannot see each other (the sampled-tick check below holds the batched evaluation to
 * the single-evaluation path).
 */
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { prng } from '../helpers/prng';
import { evaluateRule } from './support/alerting';
import { asReader, Call, call, insertCalls, minutes } from './support/fixtures';
import { readYaml } from './support/provisioning';
import { evaluateRuleAt, replayRules, RuleReplay } from './support/replay';

const groups: any[] = readYaml('alerting/rules.yaml').groups;
const rules: any[] = groups.flatMap((g) => g.rules);

const DAY0 = Date.parse('2026-06-01T00:00:00Z'); // the replayed day; history from DAY0 − 7 days
const HISTORY_DAYS = 7;
const DAY = 1440;

/** Traffic of one service in minute `m` (minutes from DAY0; negative = history). */
interface Minute {
  /** Calls per minute (fractions accumulate: 0.1 is one call every ten minutes). */
  rate: number;
  /** Probability that a call fails. */
  fail: number;
  /** Probability that a call takes 5 s. */
  slow?: number;
}
type Traffic = (m: number) => Minute;

interface Incident {
  service: string;
  start: number;
  end: number;
  /** What the on-call person should get, and within how many minutes of `start`. */
  expect: 'page' | 'ticket';
  within: number;
}

interface Scenario {
  name: string;
  services: Record<string, Traffic>;
  incidents: Incident[];
  /** Extra calls (e.g. ones left pending). */
  extra?: () => Call[];
}

const minuteOfDay = (m: number) => ((m % DAY) + DAY) % DAY;
const during = (m: number, start: number, end: number) => m >= start && m < end;
const normal: Traffic = () => ({ rate: 3, fail: 0.01 });

const SCENARIOS: Scenario[] = [
  {
    name: 'outage (provider down for 30 min)',
    services: { outage: (m) => (during(m, 600, 630) ? { rate: 3, fail: 1 } : normal(m)) },
    incidents: [{ service: 'outage', start: 600, end: 630, expect: 'page', within: 5 }],
  },
  {
    name: 'partial outage (60 % failing for 30 min)',
    services: { partial: (m) => (during(m, 400, 430) ? { rate: 3, fail: 0.6 } : normal(m)) },
    incidents: [{ service: 'partial', start: 400, end: 430, expect: 'page', within: 5 }],
  },
  {
    name: 'recovery, then 1 % background failures',
    services: { recovery: (m) => (during(m, 120, 180) ? { rate: 3, fail: 1 } : normal(m)) },
    incidents: [{ service: 'recovery', start: 120, end: 180, expect: 'page', within: 5 }],
  },
  {
    name: 'steady slow burn (2 %, 4x budget)',
    services: { slowburn: () => ({ rate: 3, fail: 0.02 }) },
    incidents: [],
  },
  {
    name: 'quiet night with single failures',
    services: { night: (m) => (minuteOfDay(m) < 360 ? { rate: 0.1, fail: 0.15 } : normal(m)) },
    incidents: [],
  },
  {
    name: 'two services failing at once',
    services: {
      'pair-a': (m) => (during(m, 840, 870) ? { rate: 3, fail: 1 } : normal(m)),
      'pair-b': (m) => (during(m, 840, 870) ? { rate: 2, fail: 1 } : { rate: 2, fail: 0.01 }),
    },
    incidents: [
      { service: 'pair-a', start: 840, end: 870, expect: 'page', within: 5 },
      { service: 'pair-b', start: 840, end: 870, expect: 'page', within: 5 },
    ],
  },
  {
    name: 'latency degradation (30 % of calls take 5 s)',
    services: { latency: (m) => (during(m, 720, 780) ? { rate: 3, fail: 0.01, slow: 0.3 } : normal(m)) },
    // A ticket: the 10-minute window plus `for` 10m.
    incidents: [{ service: 'latency', start: 720, end: 780, expect: 'ticket', within: 15 }],
  },
  {
    name: 'silent service (no calls for 2 h)',
    services: { silent: (m) => (during(m, 960, 1080) ? { rate: 0, fail: 0 } : normal(m)) },
    // Silence is only visible once the 15-minute window is empty, then `for` 5m.
    incidents: [{ service: 'silent', start: 960, end: 1080, expect: 'page', within: 21 }],
  },
  {
    name: 'calls stuck in pending',
    services: { stuck: normal },
    // Pending for 10 minutes before it counts, then `for` 5m; the calls stay pending all day.
    incidents: [{ service: 'stuck', start: 540, end: DAY, expect: 'ticket', within: 17 }],
    extra: () =>
      [10_000, 20_000, 30_000].map((ms) =>
        call({ service_name: 'stuck', action: 'send', status: 'pending', duration_ms: null, created_at: new Date(DAY0 + minutes(540) + ms) }),
      ),
  },
  {
    name: 'flapping (5 min failing, 5 min fine, for an hour)',
    services: { flappy: (m) => (during(m, 1200, 1260) && Math.floor((m - 1200) / 5) % 2 === 0 ? { rate: 3, fail: 1 } : normal(m)) },
    incidents: [{ service: 'flappy', start: 1200, end: 1260, expect: 'page', within: 5 }],
  },
];

/** A service's calls from DAY0 − HISTORY_DAYS to the end of DAY0, from its traffic profile. */
function generate(service: string, traffic: Traffic, seed: number): Call[] {
  const rnd = prng(seed);
  const calls: Call[] = [];
  let carry = 0;
  for (let m = -HISTORY_DAYS * DAY; m < DAY; m++) {
    const t = traffic(m);
    carry += t.rate;
    const n = Math.floor(carry);
    carry -= n;
    for (let j = 0; j < n; j++) {
      const at = DAY0 + minutes(m) + Math.floor(((j + rnd()) * 60_000) / n);
      const slow = t.slow !== undefined && rnd() < t.slow;
      calls.push(
        call({
          service_name: service,
          action: j % 2 ? 'send' : 'sync',
          status: rnd() < t.fail ? 'failed' : 'success',
          duration_ms: slow ? 5000 : 120 + Math.floor(rnd() * 300),
          created_at: new Date(at),
        }),
      );
    }
  }
  return calls;
}

let db: TestDatabase;
let replay: RuleReplay[];

beforeAll(async () => {
  db = await createTestDatabase();
  let seed = 1;
  for (const s of SCENARIOS) {
    for (const [service, traffic] of Object.entries(s.services)) await insertCalls(db.pool, generate(service, traffic, seed++));
    if (s.extra) await insertCalls(db.pool, s.extra());
  }
  await db.pool.query('ANALYZE');
  replay = await asReader(db.pool, (c) => replayRules(groups, c, new Date(DAY0), new Date(DAY0 + minutes(DAY - 1))));
}, 600_000);

afterAll(async () => {
  await db?.drop();
});

interface Notification {
  at: number;
  service: string;
  rule: string;
  severity: string;
}

/** Transitions into Alerting (not back from Recovering): what reaches the contact point as a new alert. */
function notifications(): Notification[] {
  return replay.flatMap((r) =>
    r.transitions
      .filter((t) => t.to === 'Alerting' && t.from !== 'Recovering')
      .map((t) => ({ at: (t.at - DAY0) / 60_000, service: t.labels.service_name ?? '', rule: r.rule.title, severity: r.rule.labels.severity })),
  );
}

interface Verdict {
  scenario: string;
  timeToPage: string;
  pages: number;
  falsePages: Notification[];
  tickets: number;
  misses: string[];
}

function judge(s: Scenario, all: Notification[]): Verdict {
  const mine = all.filter((n) => n.service in s.services);
  const pages = mine.filter((n) => n.severity === 'page');
  const tickets = mine.filter((n) => n.severity === 'ticket');
  const misses: string[] = [];
  const delays: string[] = [];
  const accounted = new Set<Notification>();
  for (const inc of s.incidents) {
    // Each rule may notify once for an incident, up to 30 min after it ended (long windows lag).
    const inWindow = (n: Notification) => n.service === inc.service && n.at >= inc.start && n.at < inc.end + 30;
    const pool = inc.expect === 'page' ? pages : tickets;
    const firstPerRule = new Map<string, Notification>();
    for (const n of pool.filter(inWindow)) if (!firstPerRule.has(n.rule)) firstPerRule.set(n.rule, n);
    for (const n of firstPerRule.values()) accounted.add(n);
    const first = Math.min(...[...firstPerRule.values()].map((n) => n.at));
    if (!Number.isFinite(first)) misses.push(`${inc.service}: no ${inc.expect}`);
    else {
      delays.push(`${inc.service} ${first - inc.start} min${inc.expect === 'ticket' ? ' (ticket)' : ''}`);
      if (first - inc.start > inc.within) misses.push(`${inc.service}: ${inc.expect} after ${first - inc.start} min (limit ${inc.within})`);
    }
  }
  return {
    scenario: s.name,
    timeToPage: delays.join(', ') || '—',
    pages: pages.length,
    falsePages: pages.filter((n) => !accounted.has(n)),
    tickets: tickets.length,
    misses,
  };
}

describe('alert replay: a simulated day, every rule every minute', () => {
  let verdicts: Verdict[];
  beforeAll(() => {
    const all = notifications();
    verdicts = SCENARIOS.map((s) => judge(s, all));
    const rows = verdicts.map((v) => [v.scenario, v.timeToPage, String(v.pages), String(v.falsePages.length), String(v.tickets)]);
    const head = ['scenario', 'time to page / ticket', 'pages', 'false pages', 'tickets'];
    const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(width[i])).join(' | ')} |`;
    const details = verdicts.flatMap((v) => [...v.misses.map((m) => `MISS ${v.scenario}: ${m}`), ...v.falsePages.map((n) => `FALSE PAGE ${v.scenario}: ${n.rule} for ${n.service} at minute ${n.at}`)]);
    console.log(
      ['Alert replay (DAY0 = 2026-06-01, 1440 evaluations per rule)', line(head), line(width.map((w) => '-'.repeat(w))), ...rows.map(line), ...details].join('\n'),
    );
  });

  it('no evaluation failed', () => {
    expect(replay.flatMap((r) => r.errors.map((e) => `${r.rule.uid} at ${new Date(e.at).toISOString()}: ${e.error.message}`))).toEqual([]);
  });

  it.each(SCENARIOS.map((s) => [s.name]))('%s: every incident notified in time', (name) => {
    expect(verdicts.find((x) => x.scenario === name)!.misses).toEqual([]);
  });

  it.each(SCENARIOS.map((s) => [s.name]))('%s: no false page, no re-page', (name) => {
    const v = verdicts.find((x) => x.scenario === name)!;
    expect(v.falsePages.map((n) => `${n.rule} for ${n.service} at minute ${n.at}`)).toEqual([]);
  });

  it('each rule pages at most once per instance and incident (flapping included)', () => {
    const flappy = notifications().filter((n) => n.service === 'flappy' && n.severity === 'page');
    expect(new Set(flappy.map((n) => n.rule)).size).toBe(flappy.length);
  });
});

describe('the batched evaluation is the single evaluation', () => {
  it('at sampled ticks, every rule gives the same values per query and expression as evaluateRule', async () => {
    const ticks = [610, 125, 845, 975, 560, 1210].map((m) => new Date(DAY0 + minutes(m)));
    await asReader(db.pool, async (c) => {
      for (const rule of rules) {
        const batched = await evaluateRuleAt(rule, c, ticks);
        for (const t of ticks) {
          const single = await evaluateRule(rule, c, t);
          const b = batched.get(t.getTime())!;
          expect(b.ruleState).toBe(single.ruleState);
          const sorted = (m: Map<string, Array<{ labels: Record<string, string>; value: number | null }>>) =>
            Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort((x, y) => (x.labels.service_name ?? '').localeCompare(y.labels.service_name ?? ''))]));
          expect(sorted(b.values)).toEqual(sorted(single.values));
        }
      }
    });
  });
});
