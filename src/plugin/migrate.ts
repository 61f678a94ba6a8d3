/**
 * Upgrades saved queries from older shapes so dashboards built on earlier plugin versions keep
 * working: 0.x stored one query per metric (`queryType: 'failure_rate'`), scalar comma-separated
 * `service`/`action`/`status` strings and a string `limit`; queries saved before `queryType`
 * existed only had `metric`.
 */
import { DEFAULT_LIMIT, DEFAULT_QUERY, IntmonQuery, isGroupBy, isMetric, isQueryType, isStatus, Metric, Status } from './types';

type Loose = Record<string, unknown> & { refId?: string };

function list(v: unknown): string[] | undefined {
  if (Array.isArray(v)) {
    const out = v.filter((x): x is string => typeof x === 'string' && x.trim() !== '').map((x) => x.trim());
    return out.length ? out : undefined;
  }
  if (typeof v === 'string' && v.trim() !== '') {
    return v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  }
  return undefined;
}

function limit(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Drops keys whose value is undefined so migrated queries compare cleanly. */
function compact<T extends object>(q: T): T {
  return Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) as T;
}

export function migrateQuery(input: Partial<IntmonQuery> | Loose): IntmonQuery {
  const q = input as Loose;
  // Keys Grafana itself keeps on a query (key, datasource, hide, …) survive; 0.x names do not.
  const { service: _s, action: _a, status: _st, group_by: _g, entity_type: _et, entity_id: _ei, ...rest } = q;
  const base = compact({ ...rest, refId: q.refId ?? 'A' });
  let type = q.queryType;
  if (isMetric(type)) {
    // 0.x: the metric was the query type.
    return migrateQuery({ ...q, queryType: 'timeseries', metric: type });
  }
  if (!isQueryType(type)) {
    type = q.metric !== undefined ? 'timeseries' : undefined;
  }
  const services = list(q.services ?? q.service);
  const actions = list(q.actions ?? q.action);
  switch (type) {
    case 'timeseries': {
      const statuses: Status[] | undefined = list(q.statuses ?? q.status)?.filter(isStatus);
      const groupBy = q.groupBy ?? q.group_by;
      return compact({
        ...base,
        queryType: 'timeseries',
        // A missing metric gets the default; an unknown one is kept so filterQuery drops it
        // instead of silently charting something else.
        metric: q.metric === undefined || q.metric === '' ? DEFAULT_QUERY.metric : (q.metric as Metric),
        groupBy: isGroupBy(groupBy) ? groupBy : undefined,
        services,
        actions,
        statuses: statuses?.length ? statuses : undefined,
        interval: str(q.interval),
      });
    }
    case 'health':
      return compact({ ...base, queryType: 'health', window: str(q.window) });
    case 'failures':
      return compact({
        ...base,
        queryType: 'failures',
        limit: limit(q.limit) ?? DEFAULT_LIMIT,
        services,
        actions,
        entityType: str(q.entityType ?? q.entity_type),
        entityId: str(q.entityId ?? q.entity_id),
      });
    case 'logs':
      return compact({
        ...base,
        queryType: 'logs',
        limit: limit(q.limit) ?? DEFAULT_LIMIT,
        services,
        entityType: str(q.entityType ?? q.entity_type),
        entityId: str(q.entityId ?? q.entity_id),
      });
    default:
      return { ...base, ...DEFAULT_QUERY };
  }
}
