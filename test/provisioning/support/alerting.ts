/**
 * Evaluates a provisioned Grafana alert rule the way Grafana's unified alerting does, against the
 * real database: SQL queries run with the rule's relative time range (macros expanded as Grafana),
 * table results become one labelled number per row (server-side expressions' "numeric" data),
 * then math / reduce / threshold expressions, then the condition's value decides each instance:
 * null → NoData, 0 → Normal, anything else → Alerting. A small state machine applies `for`,
 * noDataState and execErrState across successive evaluations.
 *
 * Semantics reproduced from Grafana's SSE (pkg/expr): binary math between two sets of numbers
 * pairs items whose label sets are equal or one contains the other (the union join) and drops
 * the rest; comparisons and && / || give 1 or 0; null propagates; reduce over a number is the
 * number; threshold evaluators gt/lt/eq/ne/gte/lte/within_range/outside_range give 1 or 0.
 */
import type { PoolClient } from 'pg';
import { expandAlertSql, parseGrafanaInterval } from '../../helpers/grafana-macros';

export type Labels = Record<string, string>;
export interface Num {
  labels: Labels;
  value: number | null;
}
export interface Series {
  labels: Labels;
  points: Array<[number, number | null]>;
}
type Value = { kind: 'numbers'; items: Num[] } | { kind: 'series'; items: Series[] };

export class AlertQueryShapeError extends Error {}

const labelKey = (l: Labels) =>
  JSON.stringify(
    Object.keys(l)
      .sort()
      .map((k) => [k, l[k]]),
  );

const NUMERIC_OIDS = new Set([20, 21, 23, 700, 701, 1700]); // int8 int2 int4 float4 float8 numeric
const TEXT_OIDS = new Set([25, 1043, 1042, 19]); // text varchar bpchar name

/**
 * A table result as Grafana's alerting reads it: exactly one numeric column, the string columns
 * are labels, and two rows with the same labels are an error ("duplicate results").
 */
export function tableToNumbers(fields: Array<{ name: string; dataTypeID: number }>, rows: Array<Record<string, unknown>>): Num[] {
  const numeric = fields.filter((f) => NUMERIC_OIDS.has(f.dataTypeID));
  const labels = fields.filter((f) => TEXT_OIDS.has(f.dataTypeID));
  if (numeric.length !== 1) throw new AlertQueryShapeError(`expected exactly one numeric column, got ${numeric.map((f) => f.name).join(', ') || 'none'}`);
  if (labels.length + numeric.length !== fields.length) {
    throw new AlertQueryShapeError(`unexpected column types: ${fields.map((f) => `${f.name}:${f.dataTypeID}`).join(', ')}`);
  }
  const seen = new Set<string>();
  return rows.map((r) => {
    const l: Labels = {};
    for (const f of labels) if (r[f.name] !== null && r[f.name] !== undefined) l[f.name] = String(r[f.name]);
    const key = labelKey(l);
    if (seen.has(key)) throw new AlertQueryShapeError(`duplicate results with labels ${key}`);
    seen.add(key);
    const raw = r[numeric[0].name];
    return { labels: l, value: raw === null || raw === undefined ? null : Number(raw) };
  });
}

// ---- math expressions ----------------------------------------------------------------------------

type Node = { t: 'num'; v: number } | { t: 'var'; name: string } | { t: 'un'; op: string; a: Node } | { t: 'bin'; op: string; a: Node; b: Node };

/** Parser for Grafana's math expression subset used here: $A / ${A}, numbers, ( ), ! - and the binary operators. */
export function parseMath(src: string): Node {
  const tokens = src.match(/\$\{[A-Za-z0-9_]+\}|\$[A-Za-z0-9_]+|\d+(?:\.\d+)?(?:e[+-]?\d+)?|&&|\|\||==|!=|>=|<=|[-+*/%^()<>!]/g) ?? [];
  if (tokens.join('') !== src.replace(/\s+/g, '')) throw new Error(`cannot parse math expression ${JSON.stringify(src)}`);
  let i = 0;
  const peek = () => tokens[i];
  const take = () => tokens[i++];
  const levels = [['||'], ['&&'], ['==', '!='], ['>', '<', '>=', '<='], ['+', '-'], ['*', '/', '%'], ['^']];
  const parseLevel = (lvl: number): Node => {
    if (lvl === levels.length) return parseUnary();
    let a = parseLevel(lvl + 1);
    while (levels[lvl].includes(peek())) {
      const op = take();
      a = { t: 'bin', op, a, b: parseLevel(lvl + 1) };
    }
    return a;
  };
  const parseUnary = (): Node => {
    if (peek() === '!' || peek() === '-') return { t: 'un', op: take(), a: parseUnary() };
    const tok = take();
    if (tok === '(') {
      const e = parseLevel(0);
      if (take() !== ')') throw new Error(`unbalanced parentheses in ${src}`);
      return e;
    }
    if (tok?.startsWith('$')) return { t: 'var', name: tok.replace(/^\$\{?|\}$/g, '') };
    if (tok !== undefined && /^\d/.test(tok)) return { t: 'num', v: Number(tok) };
    throw new Error(`unexpected ${tok} in ${src}`);
  };
  const e = parseLevel(0);
  if (i !== tokens.length) throw new Error(`trailing tokens in ${src}`);
  return e;
}

function applyBin(op: string, a: number | null, b: number | null): number | null {
  if (a === null || b === null) return null;
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '^':
      return a ** b;
    case '>':
      return a > b ? 1 : 0;
    case '<':
      return a < b ? 1 : 0;
    case '>=':
      return a >= b ? 1 : 0;
    case '<=':
      return a <= b ? 1 : 0;
    case '==':
      return a === b ? 1 : 0;
    case '!=':
      return a !== b ? 1 : 0;
    case '&&':
      return a !== 0 && b !== 0 ? 1 : 0;
    case '||':
      return a !== 0 || b !== 0 ? 1 : 0;
    default:
      throw new Error(`operator ${op}`);
  }
}

const isSubset = (a: Labels, b: Labels) => Object.entries(a).every(([k, v]) => b[k] === v);

/** Numbers-only evaluation (every input here is a table result or an expression over them). */
function evalMath(node: Node, vars: Map<string, Value>): Num[] | number {
  switch (node.t) {
    case 'num':
      return node.v;
    case 'var': {
      const v = vars.get(node.name);
      if (!v) throw new Error(`math: unknown ref ${node.name}`);
      if (v.kind !== 'numbers') throw new Error('math over series is not used by these rules');
      return v.items;
    }
    case 'un': {
      const a = evalMath(node.a, vars);
      const f = (x: number | null) => (x === null ? null : node.op === '!' ? (x === 0 ? 1 : 0) : -x);
      return typeof a === 'number' ? (f(a) as number) : a.map((n) => ({ labels: n.labels, value: f(n.value) }));
    }
    case 'bin': {
      const a = evalMath(node.a, vars);
      const b = evalMath(node.b, vars);
      if (typeof a === 'number' && typeof b === 'number') return applyBin(node.op, a, b) as number;
      if (typeof a === 'number') return (b as Num[]).map((n) => ({ labels: n.labels, value: applyBin(node.op, a, n.value) }));
      if (typeof b === 'number') return a.map((n) => ({ labels: n.labels, value: applyBin(node.op, n.value, b) }));
      // SSE union: pair items whose labels are equal or one is a subset of the other.
      const out: Num[] = [];
      for (const x of a) {
        for (const y of b) {
          if (isSubset(x.labels, y.labels) || isSubset(y.labels, x.labels)) {
            const labels = Object.keys(x.labels).length >= Object.keys(y.labels).length ? x.labels : y.labels;
            out.push({ labels, value: applyBin(node.op, x.value, y.value) });
          }
        }
      }
      return out;
    }
  }
}

const REDUCERS: Record<string, (xs: number[]) => number | null> = {
  last: (xs) => (xs.length ? xs[xs.length - 1] : null),
  mean: (xs) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null),
  sum: (xs) => xs.reduce((s, x) => s + x, 0),
  min: (xs) => (xs.length ? Math.min(...xs) : null),
  max: (xs) => (xs.length ? Math.max(...xs) : null),
  count: (xs) => xs.length,
};

function evalReduce(model: any, input: Value): Num[] {
  if (input.kind === 'numbers') return input.items.map((n) => ({ ...n })); // reducing a number is a no-op
  const fn = REDUCERS[model.reducer];
  if (!fn) throw new Error(`reducer ${model.reducer}`);
  const mode = model.settings?.mode ?? 'strict';
  return input.items.map((s) => {
    let vals = s.points.map((p) => p[1]);
    if (mode === 'dropNN') vals = vals.filter((v) => v !== null && !Number.isNaN(v));
    if (mode === 'replaceNN') vals = vals.map((v) => (v === null || Number.isNaN(v) ? Number(model.settings.replaceWithValue) : v));
    if (mode === 'strict' && vals.some((v) => v === null || Number.isNaN(v as number))) return { labels: s.labels, value: null };
    return { labels: s.labels, value: fn(vals as number[]) };
  });
}

function evalThreshold(model: any, input: Value): Num[] {
  if (input.kind !== 'numbers') throw new Error('threshold over series is not used by these rules');
  const ev = model.conditions[0].evaluator;
  const [p0, p1] = ev.params as number[];
  const test = (v: number): boolean => {
    switch (ev.type) {
      case 'gt':
        return v > p0;
      case 'lt':
        return v < p0;
      case 'eq':
        return v === p0;
      case 'ne':
        return v !== p0;
      case 'gte':
        return v >= p0;
      case 'lte':
        return v <= p0;
      case 'within_range':
        return v > p0 && v < p1;
      case 'outside_range':
        return v < p0 || v > p1;
      default:
        throw new Error(`evaluator ${ev.type}`);
    }
  };
  return input.items.map((n) => ({ labels: n.labels, value: n.value === null ? null : test(n.value) ? 1 : 0 }));
}

export interface EvalResult {
  /** Per query/expression refId, the values produced. */
  values: Map<string, Num[]>;
  /** Per instance (labels), the state of this single evaluation. */
  instances: Array<{ labels: Labels; state: 'Normal' | 'Alerting' | 'NoData'; value: number | null }>;
  /** Whole-rule outcome when there is no instance at all, or an error. */
  ruleState: 'Ok' | 'NoData' | 'Error';
  error?: Error;
}

export interface QueryTable {
  fields: Array<{ name: string; dataTypeID: number }>;
  rows: Array<Record<string, unknown>>;
}

/** The rule's SQL queries' results at one instant → its expressions and per-instance verdicts (pkg/services/ngalert/eval). */
export async function evaluateData(rule: any, table: (d: any) => Promise<QueryTable> | QueryTable): Promise<EvalResult> {
  const vars = new Map<string, Value>();
  const values = new Map<string, Num[]>();
  try {
    for (const d of rule.data) {
      let v: Value;
      if (d.datasourceUid === '__expr__') {
        const m = d.model;
        if (m.type === 'math') {
          const r = evalMath(parseMath(m.expression), vars);
          v = { kind: 'numbers', items: typeof r === 'number' ? [{ labels: {}, value: r }] : r };
        } else if (m.type === 'reduce') v = { kind: 'numbers', items: evalReduce(m, vars.get(m.expression)!) };
        else if (m.type === 'threshold') v = { kind: 'numbers', items: evalThreshold(m, vars.get(m.expression)!) };
        else throw new Error(`expression type ${m.type}`);
      } else {
        const res = await table(d);
        v = { kind: 'numbers', items: tableToNumbers(res.fields, res.rows) };
      }
      vars.set(d.refId, v);
      values.set(d.refId, v.items as Num[]);
    }
  } catch (error) {
    return { values, instances: [], ruleState: 'Error', error: error as Error };
  }
  const cond = values.get(rule.condition) ?? [];
  if (cond.length === 0) return { values, instances: [], ruleState: 'NoData' };
  return {
    values,
    ruleState: 'Ok',
    instances: cond.map((n) => ({ labels: n.labels, value: n.value, state: n.value === null ? 'NoData' : n.value !== 0 ? 'Alerting' : 'Normal' })),
  };
}

/** One evaluation of a provisioned rule at `now`, with its SQL run on `client` (already the reader role). */
export async function evaluateRule(rule: any, client: PoolClient, now: Date): Promise<EvalResult> {
  return evaluateData(rule, async (d) => {
    const range = { from: new Date(now.getTime() - d.relativeTimeRange.from * 1000), to: new Date(now.getTime() - d.relativeTimeRange.to * 1000) };
    const { sql } = expandAlertSql(d.model.rawSql, { range, intervalMs: d.model.intervalMs ?? 1000 });
    return client.query(sql);
  });
}

export type InstanceState = 'Normal' | 'Pending' | 'Alerting' | 'Recovering' | 'Error' | 'NoData';

export interface Transition {
  at: number;
  labels: Labels;
  from: InstanceState;
  to: InstanceState;
  /** Set when the instance left the results (a missing series) rather than evaluating Normal. */
  reason?: 'MissingSeries';
}

interface InstanceRecord {
  labels: Labels;
  state: InstanceState;
  /** StartsAt of Grafana's State: when Pending / Alerting / Recovering / Error began. */
  startsAt: number;
  lastEvaluatedAt: number;
}

/**
 * Successive evaluations → alert states per instance, as Grafana's state manager does it:
 *
 * - pkg/services/ngalert/state/state.go `transition` dispatches on the result: `resultNormal`
 *   (anything not Normal becomes Normal; Alerting → Normal is a resolve), `resultAlerting`
 *   (Alerting stays, Pending becomes Alerting once `EvaluatedAt − StartsAt >= For`, anything else
 *   becomes Pending — or Alerting at once when `for` is 0), `resultNoData` (noDataState: Alerting →
 *   resultAlerting, OK → resultNormal, NoData → the NoData state, KeepLast → `resultKeepLast`) and
 *   `resultError` (execErrState: Alerting → resultAlerting, Error → the Error state at once,
 *   OK → resultNormal, KeepLast).
 * - `keep_firing_for` (Grafana 12+, state.go: a Normal result on a firing instance goes to
 *   Recovering and stays firing until Normal has held for keepFiringFor; an Alerting result in
 *   Recovering is Alerting again). The rules here set none; the replay tests it on a fixture.
 * - pkg/services/ngalert/state/manager.go: a rule with no series at all is one NoData (or Error)
 *   result without labels; an instance missing from the results is stale once it has been missing
 *   for `missingSeriesEvalsToResolve` evaluations (default 2; before 12 the same as
 *   `stateIsStale`: last evaluation + 2 × interval), and a stale firing instance is resolved.
 */
export class RuleStateTracker {
  private readonly forMs: number;
  private readonly keepFiringForMs: number;
  private readonly missingEvalsToResolve: number;
  private readonly intervalMs: number;
  private readonly records = new Map<string, InstanceRecord>();
  readonly resolved: Labels[] = [];
  readonly transitions: Transition[] = [];

  constructor(
    private readonly rule: any,
    opts: { intervalMs?: number; missingSeriesEvalsToResolve?: number } = {},
  ) {
    this.forMs = parseGrafanaInterval(rule.for ?? '0s');
    this.keepFiringForMs = parseGrafanaInterval(rule.keepFiringFor ?? rule.keep_firing_for ?? '0s');
    this.missingEvalsToResolve = opts.missingSeriesEvalsToResolve ?? rule.missingSeriesEvalsToResolve ?? 2;
    this.intervalMs = opts.intervalMs ?? 60_000;
  }

  /** Instances and their current state (for tests that read them directly). */
  get states(): Map<string, { labels: Labels; state: InstanceState }> {
    return new Map([...this.records].map(([k, r]) => [k, { labels: r.labels, state: r.state }]));
  }

  private record(labels: Labels, at: number): InstanceRecord {
    const key = labelKey(labels);
    let r = this.records.get(key);
    if (!r) {
      r = { labels, state: 'Normal', startsAt: at, lastEvaluatedAt: at };
      this.records.set(key, r);
    }
    return r;
  }

  private move(r: InstanceRecord, to: InstanceState, at: number, reason?: 'MissingSeries') {
    const from = r.state;
    if (from === to) return;
    r.state = to;
    r.startsAt = at;
    this.transitions.push({ at, labels: r.labels, from, to, ...(reason ? { reason } : {}) });
    if ((from === 'Alerting' || from === 'Recovering') && to === 'Normal') this.resolved.push(r.labels);
  }

  private resultNormal(r: InstanceRecord, at: number) {
    if (this.keepFiringForMs > 0 && r.state === 'Alerting') return this.move(r, 'Recovering', at);
    if (r.state === 'Recovering' && at - r.startsAt < this.keepFiringForMs) return;
    this.move(r, 'Normal', at);
  }

  private resultAlerting(r: InstanceRecord, at: number) {
    switch (r.state) {
      case 'Alerting':
        return;
      case 'Recovering':
        r.state = 'Alerting'; // still firing: no new notification, StartsAt kept
        this.transitions.push({ at, labels: r.labels, from: 'Recovering', to: 'Alerting' });
        return;
      case 'Pending':
        if (at - r.startsAt >= this.forMs) this.move(r, 'Alerting', at);
        return;
      default:
        this.move(r, this.forMs > 0 ? 'Pending' : 'Alerting', at);
    }
  }

  private resultKeepLast(r: InstanceRecord, at: number) {
    if (r.state === 'Alerting' || (r.state === 'Pending' && at - r.startsAt >= this.forMs)) this.resultAlerting(r, at);
    else if (r.state !== 'Pending') this.resultNormal(r, at);
  }

  private step(r: InstanceRecord, result: 'Normal' | 'Alerting' | 'NoData' | 'Error', at: number) {
    r.lastEvaluatedAt = at;
    if (result === 'Normal') return this.resultNormal(r, at);
    if (result === 'Alerting') return this.resultAlerting(r, at);
    const setting = result === 'NoData' ? this.rule.noDataState : this.rule.execErrState;
    if (setting === 'Alerting') return this.resultAlerting(r, at);
    if (setting === 'OK') return this.resultNormal(r, at);
    if (setting === 'KeepLast') return this.resultKeepLast(r, at);
    this.move(r, result, at); // 'NoData' / 'Error' (the default settings)
  }

  apply(result: EvalResult, at: Date): void {
    const t = at.getTime();
    const seen = new Set<string>();
    if (result.ruleState !== 'Ok') {
      // manager.go: one result without labels for the whole rule.
      const r = this.record({}, t);
      seen.add(labelKey({}));
      this.step(r, result.ruleState, t);
    } else {
      for (const inst of result.instances) {
        const r = this.record(inst.labels, t);
        seen.add(labelKey(inst.labels));
        this.step(r, inst.state, t);
      }
    }
    for (const [key, r] of this.records) {
      if (seen.has(key)) continue;
      // Missing series: stale after `missingEvalsToResolve` evaluations without it.
      if (t - r.lastEvaluatedAt >= this.missingEvalsToResolve * this.intervalMs) {
        if (r.state !== 'Normal') this.move(r, 'Normal', t, 'MissingSeries');
        this.records.delete(key);
      }
    }
  }

  stateOf(labels: Labels): InstanceState | undefined {
    return this.records.get(labelKey(labels))?.state;
  }

  firing(): Labels[] {
    return [...this.records.values()].filter((s) => s.state === 'Alerting' || s.state === 'Recovering').map((s) => s.labels);
  }
}
