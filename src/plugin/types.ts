/**
 * The plugin's query model and settings. The API's request/response shapes come from the contract
 * as types only; the few lists needed at runtime (menus, validation) are repeated here so no schema
 * code reaches the bundle — test/plugin/contract.test.ts keeps them equal to the contract's.
 */
import type { DataQuery, DataSourceJsonData } from '@grafana/schema';

export const API_PREFIX = '/api/admin/integrations/monitoring';
/** Liveness endpoint of the API: no auth, no data. */
export const HEALTHZ_PATH = '/healthz';

export const METRICS = ['volume', 'failure_rate', 'latency_avg', 'latency_p50', 'latency_p95', 'latency_p99'] as const;
export const GROUP_BY = ['service', 'action', 'status'] as const;
export const STATUSES = ['success', 'failed', 'pending', 'retrying'] as const;
export const QUERY_TYPES = ['timeseries', 'health', 'failures', 'logs'] as const;

export type Metric = (typeof METRICS)[number];
export type GroupBy = (typeof GROUP_BY)[number];
export type Status = (typeof STATUSES)[number];
export type QueryType = (typeof QUERY_TYPES)[number];

export const METRIC_LABELS: Record<Metric, string> = {
  volume: 'Call volume',
  failure_rate: 'Failure rate %',
  latency_avg: 'Latency avg',
  latency_p50: 'Latency p50',
  latency_p95: 'Latency p95',
  latency_p99: 'Latency p99',
};

export const QUERY_TYPE_LABELS: Record<QueryType, string> = {
  timeseries: 'Time series',
  health: 'Health',
  failures: 'Failures',
  logs: 'Logs',
};

/** Filters shared by query types; each entry is a literal or a template variable such as `$service`. */
export interface Filters {
  services?: string[];
  actions?: string[];
}

export interface TimeseriesQuery extends DataQuery, Filters {
  queryType: 'timeseries';
  metric: Metric;
  groupBy?: GroupBy;
  statuses?: Status[];
  /** Bucket width override (e.g. `5m`); empty means Grafana's `$__interval`. */
  interval?: string;
}

export interface HealthQuery extends DataQuery {
  queryType: 'health';
  /** Look-back window such as `24h`; empty means the dashboard's time range. */
  window?: string;
}

export interface FailuresQuery extends DataQuery, Filters {
  queryType: 'failures';
  limit?: number;
  entityType?: string;
  entityId?: string;
}

export interface LogsQuery extends DataQuery {
  queryType: 'logs';
  entityType?: string;
  entityId?: string;
  services?: string[];
  limit?: number;
}

/** The query union, keyed on `queryType`. */
export type IntmonQuery = TimeseriesQuery | HealthQuery | FailuresQuery | LogsQuery;

export type VariableQueryKind = 'services' | 'actions';
export interface VariableQuery extends DataQuery {
  kind: VariableQueryKind;
  /** For `actions`: restrict to these services (literals or `$variables`). */
  services?: string[];
}

export interface IntmonOptions extends DataSourceJsonData {
  /** Base URL of the monitoring API, used only by Grafana's data proxy route. */
  apiUrl?: string;
}

export interface IntmonSecureOptions {
  apiToken?: string;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

export const DEFAULT_QUERY: Omit<TimeseriesQuery, 'refId'> = {
  queryType: 'timeseries',
  metric: 'failure_rate',
  groupBy: 'service',
};

export function isMetric(v: unknown): v is Metric {
  return typeof v === 'string' && (METRICS as readonly string[]).includes(v);
}
export function isGroupBy(v: unknown): v is GroupBy {
  return typeof v === 'string' && (GROUP_BY as readonly string[]).includes(v);
}
export function isStatus(v: unknown): v is Status {
  return typeof v === 'string' && (STATUSES as readonly string[]).includes(v);
}
export function isQueryType(v: unknown): v is QueryType {
  return typeof v === 'string' && (QUERY_TYPES as readonly string[]).includes(v);
}

/** An interpolated query worth sending: a logs query needs an entity or a service (else it lists everyone's calls). */
export function isComplete(q: IntmonQuery): boolean {
  switch (q.queryType) {
    case 'timeseries':
      return isMetric(q.metric);
    case 'logs':
      return Boolean(q.entityId || q.entityType || q.services?.length);
    default:
      return true;
  }
}
