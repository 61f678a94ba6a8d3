/**
 * Replays provisioned alert rules over a stretch of simulated time: every rule evaluated at every
 * tick of its group's `interval`, its SQL run on the real database as Grafana's reader role, the
 * results fed through the expressions (evaluateData) and Grafana's state machine
 * (RuleStateTracker), so what comes out is each instance's transitions — pages and tickets.
 *
 * One evaluation per tick per rule would be 1440 × queries per simulated day. Instead each SQL
 * query runs once for all ticks: the query is expanded exactly as for a single evaluation
 * (expandAlertSql, with a sentinel time range), then the two expanded time literals — what
 * `$__timeFrom()` / `$__timeTo()` / `$__timeFilter` became — are replaced by the tick's own range,
 * `tick − relativeTimeRange.from` and `tick − relativeTimeRange.to`, inside a LATERAL join over
 * the ticks. Each tick's rows are then exactly the rows a single evaluation at that tick returns
 * (test/provisioning/alert-replay.test.ts checks this against evaluateRule at sampled ticks).
 */
import type { PoolClient } from 'pg';

import { expandAlertSql, formatRFC3339Nano, parseGrafanaInterval } from '../../helpers/grafana-macros';
import { evaluateData, EvalResult, QueryTable, RuleStateTracker, Transition } from './alerting';

const SENTINEL = { from: new Date('2001-02-03T04:05:06Z'), to: new Date('2001-02-04T04:05:06Z') };
const EVAL_AT = '__eval_at';

/** A rule query rewritten to run at every tick given as `$1` (timestamptz[]). */
export function batchedQuerySql(d: any): string {
  const { sql, fill } = expandAlertSql(d.model.rawSql, { range: SENTINEL, intervalMs: d.model.intervalMs ?? 1000 });
  if (fill) throw new Error(`${d.refId}: fill is not modelled by the replay`);
  const lit = (t: Date) => `'${formatRFC3339Nano(t)}'`;
  for (const epoch of [SENTINEL.from, SENTINEL.to].map((t) => String(Math.floor(t.getTime() / 1000)))) {
    if (sql.includes(epoch)) throw new Error(`${d.refId}: epoch-second macros are not modelled by the replay`);
  }
  const fromExpr = `(__ev.t - make_interval(secs => ${Number(d.relativeTimeRange.from)}))`;
  const toExpr = `(__ev.t - make_interval(secs => ${Number(d.relativeTimeRange.to)}))`;
  const perTick = sql.split(lit(SENTINEL.from)).join(fromExpr).split(lit(SENTINEL.to)).join(toExpr);
  return `SELECT __ev.t AS ${EVAL_AT}, q.* FROM unnest($1::timestamptz[]) AS __ev(t) CROSS JOIN LATERAL (${perTick}) AS q`;
}

/** Every tick's evaluation of `rule`, with one SQL statement per query. */
export async function evaluateRuleAt(rule: any, client: PoolClient, ticks: Date[]): Promise<Map<number, EvalResult>> {
  const perQuery = new Map<string, Map<number, QueryTable> | Error>();
  for (const d of rule.data.filter((x: any) => x.datasourceUid !== '__expr__')) {
    try {
      const res = await client.query(batchedQuerySql(d), [ticks]);
      const fields = res.fields.filter((f) => f.name !== EVAL_AT);
      const byTick = new Map<number, QueryTable>(ticks.map((t) => [t.getTime(), { fields, rows: [] }]));
      for (const row of res.rows) {
        const { [EVAL_AT]: at, ...rest } = row;
        byTick.get((at as Date).getTime())!.rows.push(rest);
      }
      perQuery.set(d.refId, byTick);
    } catch (error) {
      perQuery.set(d.refId, error as Error);
    }
  }
  const out = new Map<number, EvalResult>();
  for (const t of ticks) {
    out.set(
      t.getTime(),
      await evaluateData(rule, (d) => {
        const q = perQuery.get(d.refId)!;
        if (q instanceof Error) throw q;
        return q.get(t.getTime())!;
      }),
    );
  }
  return out;
}

export interface RuleReplay {
  rule: any;
  tracker: RuleStateTracker;
  transitions: Transition[];
  /** Ticks whose evaluation failed (a DatasourceError in Grafana). */
  errors: Array<{ at: number; error: Error }>;
}

/**
 * Every rule of every group evaluated at each tick of its group's interval over [from, to], in
 * chunks of ticks (memory stays flat over long replays); state carried across chunks.
 */
export async function replayRules(groups: any[], client: PoolClient, from: Date, to: Date, chunkTicks = 360): Promise<RuleReplay[]> {
  const out: RuleReplay[] = [];
  for (const g of groups) {
    const intervalMs = parseGrafanaInterval(g.interval);
    const ticks: Date[] = [];
    // The scheduler evaluates on multiples of the interval (plus a per-rule jitter ignored here).
    for (let t = Math.ceil(from.getTime() / intervalMs) * intervalMs; t <= to.getTime(); t += intervalMs) ticks.push(new Date(t));
    for (const rule of g.rules) {
      const tracker = new RuleStateTracker(rule, { intervalMs });
      const errors: RuleReplay['errors'] = [];
      for (let i = 0; i < ticks.length; i += chunkTicks) {
        const chunk = ticks.slice(i, i + chunkTicks);
        const results = await evaluateRuleAt(rule, client, chunk);
        for (const t of chunk) {
          const r = results.get(t.getTime())!;
          if (r.ruleState === 'Error') errors.push({ at: t.getTime(), error: r.error! });
          tracker.apply(r, t);
        }
      }
      out.push({ rule, tracker, transitions: tracker.transitions, errors });
    }
  }
  return out;
}
