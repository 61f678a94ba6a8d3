/**
 * Template-variable interpolation, in one place. Every user-typed value goes through
 * `getTemplateSrv().replace` with a format function, so multi-value variables and "All" come back
 * as lists that become repeated query parameters (`service=a&service=b`), which is what the API
 * takes. "All" with a wildcard custom all value (`*`, `.*`, `.+`, `%`, `$__all`) means "no filter":
 * the parameter is left out rather than sent as a literal the API would reject. Grafana hands a
 * custom all value back raw, without calling the format function (template_srv.ts "skip formatting
 * of custom all values"; CustomAllValue in Scenes), so wildcards are also recognised in the
 * replaced text, not only inside the format function.
 */
import type { ScopedVars } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';

import type { FailuresQuery, IntmonQuery, LogsQuery, TimeseriesQuery, VariableQuery } from './types';

/** Unit separator: cannot appear in service/action names (the API restricts them to [A-Za-z0-9_.:-]). */
const SEP = '\u001f';
const ALL_MARK = '\u001e';
const WILDCARDS = new Set(['*', '.*', '.+', '%', '$__all']);

/** Format function handed to TemplateSrv: lists are joined with SEP, wildcard "All" becomes ALL_MARK. */
function listFormat(value: unknown): string {
  const values = Array.isArray(value) ? value : [value];
  const strings = values.map((v) => (v === null || v === undefined ? '' : String(v)));
  if (strings.some((v) => WILDCARDS.has(v.trim()))) {
    return ALL_MARK;
  }
  return strings.join(SEP);
}

/**
 * Interpolates a list of literals/variables into the values to send. `undefined` means "do not
 * filter" (nothing chosen, or a wildcard All).
 */
export function interpolateList(values: readonly string[] | undefined, scopedVars?: ScopedVars): string[] | undefined {
  if (!values || values.length === 0) {
    return undefined;
  }
  const out: string[] = [];
  for (const raw of values) {
    const replaced = getTemplateSrv().replace(raw, scopedVars, listFormat);
    const pieces = replaced.split(SEP).map((v) => v.trim());
    if (replaced.includes(ALL_MARK) || pieces.some((v) => WILDCARDS.has(v))) {
      return undefined;
    }
    for (const t of pieces) {
      if (t !== '' && !out.includes(t)) {
        out.push(t);
      }
    }
  }
  return out.length ? out : undefined;
}

/** Interpolates a scalar; a multi-value variable contributes its first value (the API takes one). */
export function interpolateScalar(value: string | undefined, scopedVars?: ScopedVars): string | undefined {
  if (value === undefined || value.trim() === '') {
    return undefined;
  }
  const replaced = getTemplateSrv().replace(value, scopedVars, listFormat);
  const first = replaced.split(SEP)[0]?.trim();
  if (replaced.includes(ALL_MARK) || (first !== undefined && WILDCARDS.has(first))) {
    return undefined;
  }
  return first ? first : undefined;
}

/** Returns the query with every variable resolved; the shape stays the same. */
export function interpolateQuery<Q extends IntmonQuery>(query: Q, scopedVars?: ScopedVars): Q {
  switch (query.queryType) {
    case 'timeseries': {
      const q: TimeseriesQuery = {
        ...query,
        services: interpolateList(query.services, scopedVars),
        actions: interpolateList(query.actions, scopedVars),
        interval: interpolateScalar(query.interval, scopedVars),
      };
      return q as Q;
    }
    case 'failures': {
      const q: FailuresQuery = {
        ...query,
        services: interpolateList(query.services, scopedVars),
        actions: interpolateList(query.actions, scopedVars),
        entityType: interpolateScalar(query.entityType, scopedVars),
        entityId: interpolateScalar(query.entityId, scopedVars),
      };
      return q as Q;
    }
    case 'logs': {
      const q: LogsQuery = {
        ...query,
        services: interpolateList(query.services, scopedVars),
        entityType: interpolateScalar(query.entityType, scopedVars),
        entityId: interpolateScalar(query.entityId, scopedVars),
      };
      return q as Q;
    }
    case 'health':
      return { ...query, window: interpolateScalar(query.window, scopedVars) };
    default:
      return query;
  }
}

export function interpolateVariableQuery(query: VariableQuery, scopedVars?: ScopedVars): VariableQuery {
  return { ...query, services: interpolateList(query.services, scopedVars) };
}
