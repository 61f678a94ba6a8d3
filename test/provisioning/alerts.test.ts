/**
 * The provisioned alert rules evaluated as Grafana would, minute by minute, on fixture incidents
 * in the real database (run as Grafana's reader role): a clear outage fires, a single failure at
 * night does not, recovery resolves; the silent-service, stuck-pending and latency rules likewise.
 * Every SQL query must give exactly one numeric column and unique label sets (else the evaluation
 * is an error).
 */
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { evaluateRule, EvalResult, RuleStateTracker } from './support/alerting';
import { asReader, Call, call, insertCalls, minutes, percentileCont, round2 } from './support/fixtures';
import { readYaml, uids } from './support/provisioning';

const U = uids();
const rules: any[] = readYaml('alerting/rules.yaml').groups.flatMap((g: any) => g.rules);
const rule = (uid: string) => rules.find((r) => r.uid === uid)!;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const at = (base: Date, offsetMs: number) => new Date(base.getTime() + offsetMs);
async function evaluate(r: any, now: Date, settings: Record<string, string> = {}): Promise<EvalResult> {
  return asReader(db.pool, async (c) => {
    for (const [k, v] of Object.entries(settings)) await c.query('SELECT set_config($1, $2, true)', [k, v]);
    const res = await evaluateRule(r, c, now);
    if (res.ruleState === 'Error') throw res.error;
    return res;
  });
}
const valueOf = (res: EvalResult, ref: string, service: string) => res.values.get(ref)!.find((n) => n.labels.service_name === service)?.value;

/** Evaluates `r` every minute over [from, to] and returns the tracker with each minute's states. */
async function timeline(r: any, from: Date, to: Date, settings: Record<string, string> = {}) {
  const tracker = new RuleStateTracker(r);
  const states = new Map<number, Map<string, string>>();
  for (let t = from.getTime(); t <= to.getTime(); t += minutes(1)) {
    const res = await evaluate(r, new Date(t), settings);
    tracker.apply(res, new Date(t));
    states.set(t, new Map([...tracker.states.values()].map((s) => [s.labels.service_name ?? '', s.state])));
  }
  const ever = (state: string) => [...new Set([...states.values()].flatMap((m) => [...m].filter(([, st]) => st === state).map(([svc]) => svc)))];
  return { tracker, stateAt: (d: Date, svc: string) => states.get(d.getTime())?.get(svc), ever };
}

describe('a clear outage fires, and recovery resolves', () => {
  const E = new Date('2026-10-01T14:00:00Z'); // outage of resend from E to E+20m
  beforeAll(async () => {
    const calls: Call[] = [];
    for (let t = -8 * 3_600_000; t < minutes(75); t += 20_000) {
      const inOutage = t >= 0 && t < minutes(20);
      const n = Math.round(t / 20_000);
      calls.push(call({ service_name: 'resend', action: 'send_email', status: inOutage && n % 10 !== 0 ? 'failed' : 'success', duration_ms: 200, created_at: at(E, t + 1000) }));
      if (n % 2 === 0) calls.push(call({ service_name: 'amocrm', action: 'sync_lead', duration_ms: 150, created_at: at(E, t + 3000) }));
    }
    await insertCalls(db.pool, calls);
  });

  it('the page rule: pending, then firing after `for`, only for the failing service; resolves after recovery', async () => {
    const r = rule(U.alertRules.failing);
    const { tracker, stateAt } = await timeline(r, at(E, -minutes(5)), at(E, minutes(55)));
    expect(stateAt(at(E, -minutes(1)), 'resend')).toBe('Normal');
    expect(stateAt(at(E, minutes(3)), 'resend')).toBe('Pending');
    expect(stateAt(at(E, minutes(10)), 'resend')).toBe('Alerting');
    expect(stateAt(at(E, minutes(10)), 'amocrm')).toBe('Normal');
    // The 6 h / 30 min leg holds the page while the outage is inside the 30-minute window (54 of
    // the 6 hours' 1080 calls failed: 10x), so one page covers the incident, then it resolves.
    expect(stateAt(at(E, minutes(40)), 'resend')).toBe('Alerting');
    expect(stateAt(at(E, minutes(55)), 'resend')).toBe('Normal');
    expect(tracker.resolved.map((l) => l.service_name)).toEqual(['resend']);
    // The numbers behind it, by hand: at E+10m the window [E, E+10m) holds 30 resend calls, 27 failed;
    // the hour [E-50m, E+10m] 180 calls, the same 27 failed.
    const res = await evaluate(r, at(E, minutes(10)));
    expect(valueOf(res, 'A', 'resend')).toBe(90);
    expect(valueOf(res, 'B', 'resend')).toBeCloseTo(27 / 180 / 0.005, 6);
    expect(valueOf(res, 'C', 'resend')).toBeGreaterThan(14.4);
    expect(valueOf(res, 'G', 'resend')).toBe(1);
    expect(valueOf(res, 'G', 'amocrm')).toBe(0);
  });

  it("the 14.4x leg alone (1 h and 5 min) sees the outage once 13 of the hour's 180 calls failed", async () => {
    const r = rule(U.alertRules.failing);
    const early = await evaluate(r, at(E, minutes(3)));
    expect(valueOf(early, 'B', 'resend')).toBeLessThan(14.4); // 8 failed of 180: 8.9x
    const later = await evaluate(r, at(E, minutes(6)));
    expect(valueOf(later, 'B', 'resend')).toBeGreaterThan(14.4);
    expect(valueOf(later, 'C', 'resend')).toBeGreaterThan(14.4);
  });

  it('the SLO is configurable: at intmon.slo_target = 50 the burn legs see a 0.3x burn; only the sharp 10 % leg still pages', async () => {
    const r = rule(U.alertRules.failing);
    const res = await evaluate(r, at(E, minutes(10)), { 'intmon.slo_target': '50' });
    expect(valueOf(res, 'B', 'resend')).toBeCloseTo(27 / 180 / 0.5, 6);
    expect(valueOf(res, 'C', 'resend')).toBeLessThan(14.4);
    expect(valueOf(res, 'A', 'resend')).toBe(90);
    expect(valueOf(res, 'G', 'resend')).toBe(1);
  });

  it("the low-volume rule stays out of a busy provider's outage (the page rule has it)", async () => {
    const res = await evaluate(rule(U.alertRules.lowVolume), at(E, minutes(10)));
    expect(valueOf(res, 'A', 'resend')).toBe(5); // its last 5 calls all failed…
    expect(valueOf(res, 'B', 'resend')).toBe(180); // …but with 180 calls in the hour the rate legs judge it
    expect(valueOf(res, 'D', 'resend')).toBe(0);
  });
});

describe('a single failure at night pages nobody', () => {
  const E = new Date('2026-09-01T03:00:00Z');
  beforeAll(async () => {
    const calls: Call[] = [];
    for (let h = 1; h <= 6; h++) calls.push(call({ service_name: 'telegram', action: 'send_message', duration_ms: 80, created_at: at(E, -minutes(h * 60 - 2)) }));
    calls.push(call({ service_name: 'telegram', action: 'send_message', status: 'failed', duration_ms: 30_000, created_at: at(E, -minutes(5)) }));
    await insertCalls(db.pool, calls);
  });

  it.each(rules.map((r) => [r.uid, r]))('%s stays Normal', async (_uid, r) => {
    const { tracker, ever } = await timeline(r, at(E, -minutes(3)), at(E, minutes(12)));
    expect([ever('Pending'), ever('Alerting')]).toEqual([[], []]);
    expect([...tracker.states.values()].every((s) => s.state === 'Normal')).toBe(true);
  });

  it('…because of the volume guards, not because the failure went unseen', async () => {
    const res = await evaluate(rule(U.alertRules.failing), E);
    expect(valueOf(res, 'A', 'telegram')).toBe(0); // 1 failed of 1 call in 10 min: below 20 calls and 6 failures, not judged
    expect(valueOf(res, 'B', 'telegram')).toBe(0); // fewer than 20 calls in the hour: not judged
    expect(valueOf(res, 'C', 'telegram')).toBe(0); // one failure: below the short window's 3-failure guard
    expect(valueOf(res, 'G', 'telegram')).toBe(0);
    const low = await evaluate(rule(U.alertRules.lowVolume), E);
    expect(valueOf(low, 'A', 'telegram')).toBe(1); // one of its last 5 calls failed
    expect(valueOf(low, 'D', 'telegram')).toBe(0);
  });
});

describe('a service that goes silent where it normally has traffic', () => {
  const E = new Date('2026-08-01T14:00:00Z');
  beforeAll(async () => {
    const calls: Call[] = [];
    for (let day = 1; day <= 7; day++) {
      const base = at(E, -day * 86_400_000);
      for (let m = -60; m < 60; m++) calls.push(call({ service_name: 'mobizon', action: 'send_sms', created_at: at(base, minutes(m) + 5000) }));
      if (day % 2 === 0) calls.push(call({ service_name: 'whapi', action: 'send_message', created_at: at(base, -minutes(3)) }));
    }
    for (let m = 20; m <= 120; m++) calls.push(call({ service_name: 'mobizon', action: 'send_sms', created_at: at(E, -minutes(m)) }));
    await insertCalls(db.pool, calls);
  });

  it('fires for the normally busy service, not for the normally quiet one, and resolves when calls return', async () => {
    const r = rule(U.alertRules.silentService);
    const res = await evaluate(r, E);
    expect(valueOf(res, 'A', 'mobizon')).toBe(0);
    expect(valueOf(res, 'B', 'mobizon')).toBe(15); // 15 calls in this quarter hour on each of the last 7 days
    expect(valueOf(res, 'A', 'whapi')).toBe(0);
    expect(valueOf(res, 'B', 'whapi')).toBe(0); // quiet on some of those days: no expectation of traffic
    const { stateAt } = await timeline(r, at(E, -minutes(6)), at(E, minutes(3)));
    expect(stateAt(at(E, -minutes(6)), 'mobizon')).toBe('Normal');
    expect(stateAt(at(E, minutes(3)), 'mobizon')).toBe('Alerting');
    expect(stateAt(at(E, minutes(3)), 'whapi')).toBe('Normal');

    await insertCalls(db.pool, [call({ service_name: 'mobizon', action: 'send_sms', created_at: at(E, minutes(4)) })]);
    const tracker = new RuleStateTracker(r);
    for (const m of [-4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6]) tracker.apply(await evaluate(r, at(E, minutes(m))), at(E, minutes(m)));
    expect(tracker.stateOf({ service_name: 'mobizon' })).toBe('Normal');
    expect(tracker.resolved.map((l) => l.service_name)).toEqual(['mobizon']);
  });
});

describe('calls stuck in pending', () => {
  const E = new Date('2026-07-01T10:00:00Z');
  const stuck = [30, 25, 12].map((m) => call({ service_name: 'whapi', action: 'send_message', status: 'pending', duration_ms: null, created_at: at(E, -minutes(m)) }));
  const fresh = call({ service_name: 'whapi', action: 'send_message', status: 'pending', duration_ms: null, created_at: at(E, -minutes(3)) });
  beforeAll(async () => {
    const calls: Call[] = [...stuck, fresh];
    for (let m = 1; m <= 120; m++) calls.push(call({ service_name: 'whapi', action: 'send_message', created_at: at(E, -minutes(m) + 7000) }));
    await insertCalls(db.pool, calls);
  });

  it('counts calls pending for more than 10 minutes, fires after `for`, and resolves when they complete', async () => {
    const r = rule(U.alertRules.stuckPending);
    expect(valueOf(await evaluate(r, E), 'A', 'whapi')).toBe(3);
    expect(valueOf(await evaluate(r, at(E, minutes(8))), 'A', 'whapi')).toBe(4); // the fresh one is now 11 minutes old
    const { tracker } = await timeline(r, E, at(E, minutes(6)));
    expect(tracker.stateOf({ service_name: 'whapi' })).toBe('Alerting');
    // the calls finish: the recorder updates pending → success
    await db.pool.query("UPDATE integration_logs SET status = 'success', duration_ms = 900 WHERE id = ANY($1::uuid[])", [[...stuck, fresh].map((c) => c.id)]);
    tracker.apply(await evaluate(r, at(E, minutes(7))), at(E, minutes(7)));
    expect(tracker.stateOf({ service_name: 'whapi' })).toBe('Normal');
    expect(tracker.resolved).toEqual([{ service_name: 'whapi' }]);
  });
});

describe('p95 latency', () => {
  const E = new Date('2026-06-01T10:00:00Z');
  const slow = Array.from({ length: 30 }, (_, i) => 4000 + i * 70);
  beforeAll(async () => {
    const calls: Call[] = slow.map((d, i) => call({ service_name: 'amocrm', action: 'sync_lead', duration_ms: d, created_at: at(E, -minutes(9) + i * 17_000) }));
    for (let i = 0; i < 5; i++) calls.push(call({ service_name: 'resend', action: 'send_email', duration_ms: 9000, created_at: at(E, -minutes(i + 1)) }));
    await insertCalls(db.pool, calls);
  });

  it('the condition holds for a slow service with enough calls, not for five slow calls; `for` 10m outlasts a passing burst', async () => {
    const r = rule(U.alertRules.latencyP95);
    const res = await evaluate(r, E);
    const p95 = valueOf(res, 'A', 'amocrm')!;
    const want = percentileCont(slow, 0.95)!;
    expect(Math.abs(p95 - want) / want).toBeLessThanOrEqual(0.025);
    expect(valueOf(res, 'D', 'amocrm')).toBe(p95); // enough calls: the condition's input is the p95 itself
    expect(valueOf(res, 'E', 'amocrm')).toBe(1);
    expect(valueOf(res, 'A', 'resend')).toBeGreaterThan(3000);
    expect(valueOf(res, 'E', 'resend')).toBe(0);
    const { tracker } = await timeline(r, E, at(E, minutes(10)));
    // the slow calls leave the 10-minute window before `for` (10m) has elapsed: never Alerting
    expect(tracker.firing()).toEqual([]);
    expect(round2(p95)).toBeGreaterThan(3000);
  });
});

describe('every alert query has the shape Grafana needs', () => {
  it.each(rules.map((r) => [r.uid, r]))('%s: one numeric column, unique labels, on all the fixture data', async (_uid, r) => {
    for (const when of ['2026-10-01T14:10:00Z', '2026-09-01T03:00:00Z', '2026-08-01T14:00:00Z', '2026-07-01T10:00:00Z', '2026-06-01T10:00:00Z']) {
      const res = await asReader(db.pool, (c) => evaluateRule(r, c, new Date(when)));
      expect(res.error?.message).toBeUndefined();
      for (const [, items] of res.values) for (const n of items) expect(n.value === null || Number.isFinite(n.value)).toBe(true);
    }
  });
});
