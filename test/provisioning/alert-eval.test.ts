/**
 * The alert evaluator the provisioning tests rely on, checked on hand-made inputs: table shape
 * rules, math with label joins and nulls, reduce, threshold, and the `for` / resolve state machine.
 */
import type { PoolClient } from 'pg';
import { AlertQueryShapeError, evaluateRule, parseMath, RuleStateTracker, tableToNumbers } from './support/alerting';

const F8 = 701;
const TEXT = 25;

describe('table results as alerting reads them', () => {
  it('one numeric column, labels from the text columns', () => {
    const out = tableToNumbers(
      [
        { name: 'service_name', dataTypeID: TEXT },
        { name: 'v', dataTypeID: F8 },
      ],
      [
        { service_name: 'a', v: 1.5 },
        { service_name: 'b', v: null },
      ],
    );
    expect(out).toEqual([
      { labels: { service_name: 'a' }, value: 1.5 },
      { labels: { service_name: 'b' }, value: null },
    ]);
  });

  it('two numeric columns, or two rows with the same labels, are errors', () => {
    expect(() =>
      tableToNumbers(
        [
          { name: 's', dataTypeID: TEXT },
          { name: 'x', dataTypeID: F8 },
          { name: 'y', dataTypeID: 20 },
        ],
        [{ s: 'a', x: 1, y: 2 }],
      ),
    ).toThrow(AlertQueryShapeError);
    expect(() =>
      tableToNumbers(
        [
          { name: 's', dataTypeID: TEXT },
          { name: 'x', dataTypeID: F8 },
        ],
        [
          { s: 'a', x: 1 },
          { s: 'a', x: 2 },
        ],
      ),
    ).toThrow(/duplicate results/);
  });
});

/** A fake client answering each SQL query (by refId comment) with prepared tables. */
function fakeClient(tables: Record<string, Array<Record<string, unknown>>>): PoolClient {
  return {
    query: async (sql: string) => {
      const ref = /-- (\w+)/.exec(sql)![1];
      const rows = tables[ref];
      const fields = Object.keys(rows[0] ?? { service_name: '', v: 0 }).map((name) => ({ name, dataTypeID: name === 'service_name' ? TEXT : F8 }));
      return { rows, fields };
    },
  } as unknown as PoolClient;
}

const sqlQuery = (refId: string) => ({ refId, datasourceUid: 'pg', relativeTimeRange: { from: 600, to: 0 }, model: { refId, rawSql: `SELECT 1 -- ${refId}` } });
const expr = (refId: string, model: Record<string, unknown>) => ({ refId, datasourceUid: '__expr__', model: { refId, ...model } });

describe('expressions', () => {
  it('math joins numbers by labels, propagates null, and && / comparisons give 1 or 0', async () => {
    const rule = {
      condition: 'D',
      data: [
        sqlQuery('A'),
        sqlQuery('B'),
        expr('C', { type: 'math', expression: '($A > 14.4) && ($B > 14.4)' }),
        expr('D', { type: 'threshold', expression: 'C', conditions: [{ evaluator: { type: 'gt', params: [0] } }] }),
      ],
    };
    const client = fakeClient({
      A: [
        { service_name: 'x', v: 20 },
        { service_name: 'y', v: 20 },
        { service_name: 'z', v: null },
        { service_name: 'only_a', v: 99 },
      ],
      B: [
        { service_name: 'x', v: 15 },
        { service_name: 'y', v: 3 },
        { service_name: 'z', v: 50 },
      ],
    });
    const res = await evaluateRule(rule, client, new Date('2026-01-01T00:00:00Z'));
    expect(res.instances).toEqual([
      { labels: { service_name: 'x' }, value: 1, state: 'Alerting' },
      { labels: { service_name: 'y' }, value: 0, state: 'Normal' },
      { labels: { service_name: 'z' }, value: null, state: 'NoData' },
    ]);
  });

  it('a number without labels combines with every labelled one', async () => {
    const rule = { condition: 'C', data: [sqlQuery('A'), sqlQuery('B'), expr('C', { type: 'math', expression: '$A * $B' })] };
    const client = {
      query: async (sql: string) =>
        sql.includes('-- A')
          ? {
              rows: [
                { service_name: 'x', v: 2 },
                { service_name: 'y', v: 3 },
              ],
              fields: [
                { name: 'service_name', dataTypeID: TEXT },
                { name: 'v', dataTypeID: F8 },
              ],
            }
          : { rows: [{ v: 10 }], fields: [{ name: 'v', dataTypeID: F8 }] },
    } as unknown as PoolClient;
    const res = await evaluateRule(rule, client, new Date());
    expect(res.values.get('C')).toEqual([
      { labels: { service_name: 'x' }, value: 20 },
      { labels: { service_name: 'y' }, value: 30 },
    ]);
  });

  it('operator precedence and unary operators', () => {
    expect(parseMath('$A * ($B >= 20)')).toEqual({
      t: 'bin',
      op: '*',
      a: { t: 'var', name: 'A' },
      b: { t: 'bin', op: '>=', a: { t: 'var', name: 'B' }, b: { t: 'num', v: 20 } },
    });
    expect(parseMath('!$A || $B == 0')).toMatchObject({ t: 'bin', op: '||', a: { t: 'un', op: '!' }, b: { t: 'bin', op: '==' } });
    expect(() => parseMath('$A >')).toThrow();
  });

  it('threshold evaluators', async () => {
    const client = fakeClient({ A: [{ service_name: 'x', v: 5 }] });
    const verdict = async (type: string, params: number[]) =>
      (await evaluateRule({ condition: 'B', data: [sqlQuery('A'), expr('B', { type: 'threshold', expression: 'A', conditions: [{ evaluator: { type, params } }] })] }, client, new Date())).instances[0]
        .value;
    expect(await verdict('gt', [5])).toBe(0);
    expect(await verdict('gt', [4])).toBe(1);
    expect(await verdict('lt', [6])).toBe(1);
    expect(await verdict('within_range', [1, 10])).toBe(1);
    expect(await verdict('outside_range', [1, 10])).toBe(0);
  });

  it('no rows at all is NoData for the rule; a bad query is an Error', async () => {
    const empty = await evaluateRule({ condition: 'A', data: [sqlQuery('A')] }, fakeClient({ A: [] }), new Date());
    expect(empty.ruleState).toBe('NoData');
    const broken = { query: async () => Promise.reject(new Error('relation does not exist')) } as unknown as PoolClient;
    const err = await evaluateRule({ condition: 'A', data: [sqlQuery('A')] }, broken, new Date());
    expect(err.ruleState).toBe('Error');
  });
});

describe('state over evaluations', () => {
  const t0 = new Date('2026-01-01T00:00:00Z').getTime();
  const at = (m: number) => new Date(t0 + m * 60_000);
  const result = (value: number) => ({
    values: new Map(),
    ruleState: 'Ok' as const,
    instances: [{ labels: { service_name: 'x' }, value, state: (value ? 'Alerting' : 'Normal') as 'Alerting' | 'Normal' }],
  });

  it('Pending until `for` has passed, then Alerting; back to Normal is a resolve', () => {
    const tr = new RuleStateTracker({ for: '3m', noDataState: 'OK', execErrState: 'Error' });
    const seen: string[] = [];
    for (const [m, v] of [
      [0, 0],
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
      [5, 0],
    ] as const) {
      tr.apply(result(v), at(m));
      seen.push(tr.stateOf({ service_name: 'x' })!);
    }
    expect(seen).toEqual(['Normal', 'Pending', 'Pending', 'Pending', 'Alerting', 'Normal']);
    expect(tr.resolved).toEqual([{ service_name: 'x' }]);
  });

  it('a blip shorter than `for` never alerts; NoData maps through noDataState, errors through execErrState', () => {
    const tr = new RuleStateTracker({ for: '5m', noDataState: 'OK', execErrState: 'Error' });
    tr.apply(result(1), at(0));
    tr.apply(result(0), at(1));
    expect(tr.resolved).toEqual([]);
    // manager.go: a rule without any series is one result without labels (NoData → OK here); the
    // service's instance is then a missing series, dropped as stale after two evaluations without it.
    tr.apply({ values: new Map(), ruleState: 'NoData', instances: [] }, at(2));
    expect(tr.stateOf({})).toBe('Normal');
    expect(tr.stateOf({ service_name: 'x' })).toBe('Normal');
    tr.apply({ values: new Map(), ruleState: 'Error', instances: [] }, at(3));
    expect(tr.stateOf({})).toBe('Error');
    expect(tr.stateOf({ service_name: 'x' })).toBeUndefined();
  });

  it('keepFiringFor: a firing instance stays firing (Recovering) until Normal has held that long', () => {
    const tr = new RuleStateTracker({ for: '0s', keepFiringFor: '3m', noDataState: 'OK', execErrState: 'Error' });
    const seen: string[] = [];
    for (const [m, v] of [
      [0, 1],
      [1, 0],
      [2, 1],
      [3, 0],
      [4, 0],
      [5, 0],
      [6, 0],
    ] as const) {
      tr.apply(result(v), at(m));
      seen.push(tr.stateOf({ service_name: 'x' })!);
    }
    expect(seen).toEqual(['Alerting', 'Recovering', 'Alerting', 'Recovering', 'Recovering', 'Recovering', 'Normal']);
    expect(tr.transitions.filter((t) => t.to === 'Alerting' && t.from !== 'Recovering')).toHaveLength(1); // one notification
  });

  it('an instance that disappears from the results resolves after two missing evaluations', () => {
    const tr = new RuleStateTracker({ for: '0s', noDataState: 'OK', execErrState: 'Error' });
    tr.apply(result(1), at(0));
    const other = { values: new Map(), ruleState: 'Ok' as const, instances: [{ labels: { service_name: 'y' }, value: 0, state: 'Normal' as const }] };
    tr.apply(other, at(1));
    expect(tr.stateOf({ service_name: 'x' })).toBe('Alerting');
    tr.apply(other, at(2));
    expect(tr.stateOf({ service_name: 'x' })).toBeUndefined();
    expect(tr.resolved).toEqual([{ service_name: 'x' }]);
    expect(tr.transitions.at(-1)).toMatchObject({ from: 'Alerting', to: 'Normal', reason: 'MissingSeries' });
  });
});
