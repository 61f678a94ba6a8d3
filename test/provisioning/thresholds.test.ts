/**
 * One definition of "bad": provisioning/thresholds.json. The alert rules' windows and thresholds,
 * the API's /health defaults and the dashboards' colour thresholds must all carry its numbers.
 */
import { DEFAULT_HEALTH_THRESHOLDS } from '../../src/config';
import { readJson, readYaml, uids } from './support/provisioning';

const T = readJson('thresholds.json');
const U = uids();
const rules: any[] = readYaml('alerting/rules.yaml').groups.flatMap((g: any) => g.rules);
const rule = (uid: string) => rules.find((r) => r.uid === uid)!;
const query = (r: any, refId: string) => r.data.find((d: any) => d.refId === refId);
const math = (r: any) => r.data.find((d: any) => d.model.type === 'math').model.expression as string;

describe('thresholds.json is the one definition', () => {
  it('/health defaults (src/config.ts) are the same numbers', () => {
    expect(DEFAULT_HEALTH_THRESHOLDS.minRequests).toBe(T.minCalls);
    expect(DEFAULT_HEALTH_THRESHOLDS.degradedFailureRatePercent).toBe(T.health.degradedFailurePercent);
    expect(DEFAULT_HEALTH_THRESHOLDS.downFailureRatePercent).toBe(T.health.downFailurePercent);
  });

  it('the page rule: sharp leg, 14.4x over 1 h and 5 min, 6x over 6 h and 30 min (Sloth page pair)', () => {
    const r = rule(U.alertRules.failing);
    const P = T.page;
    expect(math(r)).toBe(`($A > ${P.sharp.failurePercent}) || (($B > ${P.fast.burn}) && ($C > ${P.fast.burn})) || (($D > ${P.slow.burn}) && ($E > ${P.slow.burn}))`);
    expect(['A', 'B', 'C', 'D', 'E'].map((x) => query(r, x).relativeTimeRange.from)).toEqual([P.sharp.windowSeconds, P.fast.longSeconds, P.fast.shortSeconds, P.slow.longSeconds, P.slow.shortSeconds]);
    expect(query(r, 'A').model.rawSql).toContain(`s.calls >= ${T.minCalls} AND s.failed >= ${P.sharp.minFailed}`);
    expect(query(r, 'B').model.rawSql).toContain(`s.calls >= ${T.minCalls}`);
    expect(query(r, 'C').model.rawSql).toContain(`s.failed >= ${P.fast.minFailedShort}`);
    expect(query(r, 'E').model.rawSql).toContain(`s.failed >= ${P.slow.minFailedShort}`);
    for (const x of ['B', 'C', 'D', 'E']) expect(query(r, x).model.rawSql).toContain(`'${T.sloTargetPercent}'`);
  });

  it('the ticket rule: 3x over 1 d and 2 h, or 1x over 3 d and 6 h', () => {
    const r = rule(U.alertRules.budgetTicket);
    const K = T.ticket;
    expect(math(r)).toBe(`(($A > ${K.fast.burn}) && ($B > ${K.fast.burn})) || (($C > ${K.slow.burn}) && ($D > ${K.slow.burn}))`);
    expect(['A', 'B', 'C', 'D'].map((x) => query(r, x).relativeTimeRange.from)).toEqual([K.fast.longSeconds, K.fast.shortSeconds, K.slow.longSeconds, K.slow.shortSeconds]);
    expect(r.labels.severity).toBe('ticket');
  });

  it('the low-volume rule: the last K calls all failed, only where the rate legs lack volume', () => {
    const r = rule(U.alertRules.lowVolume);
    expect(math(r)).toBe(`($A >= ${T.lowVolume.lastCalls}) && ($B < ${T.minCalls})`);
    expect(query(r, 'A').model.rawSql).toContain(`LIMIT ${T.lowVolume.lastCalls}`);
    expect(query(r, 'A').relativeTimeRange.from).toBe(T.lowVolume.windowSeconds);
  });

  it('the latency rule uses the p95 threshold', () => {
    const r = rule(U.alertRules.latencyP95);
    expect(r.data.find((d: any) => d.model.type === 'threshold').model.conditions[0].evaluator.params).toEqual([T.latencyP95Ms]);
  });
});
