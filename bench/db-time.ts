/**
 * The database's own time for a query: planning + execution from EXPLAIN (ANALYZE, SUMMARY), with
 * the rows produced but not sent. The bench reports it beside the time the Node client observes,
 * because at ~1,000-row results the client's figure carries pauses of the bench process itself
 * (a plain `generate_series` of the same size shows the same 15-25 ms p95 spikes on this VM) that
 * belong to neither design.
 */
import type { ClientBase, QueryResult } from 'pg';

export interface DbTimer {
  /** Stands in for the client: each query is run under EXPLAIN ANALYZE and answers no rows. */
  client: ClientBase;
  /** Planning + execution ms of the queries run through `client` since the last call. */
  take(): number;
}

type Query = string | { name?: string; text: string; values?: unknown[] };

/** A bind value as an SQL literal, for EXECUTE of a prepared statement (bench values only). */
function literal(c: ClientBase, v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (v instanceof Date) return c.escapeLiteral(v.toISOString());
  if (Array.isArray(v)) return c.escapeLiteral(`{${v.map((x) => `"${String(x).replace(/["\\]/g, '\\$&')}"`).join(',')}}`);
  return c.escapeLiteral(String(v));
}

export function dbTimer(c: ClientBase): DbTimer {
  let total = 0;
  const prepared = new Set<string>();
  const explain = async (text: string, params?: unknown[]) => {
    const { rows } = await c.query(`EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT JSON) ${text}`, params);
    const plan = (rows[0] as { 'QUERY PLAN': Array<{ 'Planning Time': number; 'Execution Time': number }> })['QUERY PLAN'][0];
    total += plan['Planning Time'] + plan['Execution Time'];
  };
  const query = async (q: Query, params?: unknown[]): Promise<QueryResult> => {
    if (typeof q === 'string') await explain(q, params);
    else if (!q.name) await explain(q.text, q.values);
    else {
      // A named statement (as the API sends its list queries) is timed as its cached plan runs:
      // prepared once on this connection, then EXPLAIN EXECUTE.
      if (!prepared.has(q.name)) {
        await c.query(q);
        prepared.add(q.name);
      }
      await explain(`EXECUTE ${q.name}(${(q.values ?? []).map((v) => literal(c, v)).join(', ')})`);
    }
    return { rows: [], rowCount: 0, command: 'SELECT', oid: 0, fields: [] };
  };
  return {
    client: { query } as unknown as ClientBase,
    take: () => {
      const t = total;
      total = 0;
      return t;
    },
  };
}
