/**
 * Turns an (already interpolated) query plus the dashboard's time range into the API path and its
 * query string. Lists become repeated parameters; empty values are left out so the API applies its
 * own defaults.
 */
import type { TimeRange } from '@grafana/data';

import { DEFAULT_LIMIT, type FailuresQuery, type HealthQuery, type IntmonQuery, type LogsQuery, MAX_LIMIT, type TimeseriesQuery } from './types';

export interface ApiRequest {
  /** Path below the API prefix, e.g. `/timeseries`. */
  path: string;
  params: URLSearchParams;
}

function add(params: URLSearchParams, key: string, value: string | number | undefined | readonly string[]) {
  if (value === undefined || value === '') {
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) {
      params.append(key, v);
    }
    return;
  }
  params.append(key, String(value));
}

/** Grafana's interval in ms as the API's bucket width (`30s`, `5m`, `1h`, `1d`); at least one second. */
function intervalToApi(intervalMs: number): string {
  const ms = Math.max(1000, Math.ceil(intervalMs / 1000) * 1000);
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ];
  for (const [unit, size] of units) {
    if (ms % size === 0) {
      return `${ms / size}${unit}`;
    }
  }
  return `${ms / 1000}s`;
}

/** A time range's length as a health window (`15m`, `36h`, `90d`), within the API's 4-digit limit. */
function rangeToWindow(range: TimeRange): string {
  const minutes = Math.max(1, Math.round((range.to.valueOf() - range.from.valueOf()) / 60_000));
  if (minutes <= 9999) {
    return `${minutes}m`;
  }
  const hours = Math.round(minutes / 60);
  return hours <= 9999 ? `${hours}h` : `${Math.min(9999, Math.round(hours / 24))}d`;
}

/**
 * The dashboard's time zone as the API's `tz`, so day and hour buckets are the viewer's. Grafana
 * gives a request's `timezone` as '' (default) or 'browser' (the viewer's own zone), 'utc', or an
 * IANA name (packages/grafana-data/src/datetime/timezones.ts, InternalTimeZones); the browser's
 * zone is what Intl resolves here, in the browser.
 */
export function apiTimeZone(timezone: string | undefined): string {
  if (!timezone || timezone === 'browser') {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  }
  return timezone.toLowerCase() === 'utc' ? 'UTC' : timezone;
}

function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) {
    return DEFAULT_LIMIT;
  }
  return Math.min(MAX_LIMIT, Math.max(1, Math.floor(limit)));
}

function timeseries(q: TimeseriesQuery, range: TimeRange, intervalMs: number, timeZone: string | undefined): ApiRequest {
  const params = new URLSearchParams();
  add(params, 'metric', q.metric);
  add(params, 'interval', q.interval || intervalToApi(intervalMs));
  add(params, 'from', range.from.toISOString());
  add(params, 'to', range.to.toISOString());
  add(params, 'group_by', q.groupBy);
  add(params, 'service', q.services);
  add(params, 'action', q.actions);
  add(params, 'status', q.statuses);
  add(params, 'tz', timeZone);
  return { path: '/timeseries', params };
}

function health(q: HealthQuery, range: TimeRange): ApiRequest {
  const params = new URLSearchParams();
  add(params, 'window', q.window || rangeToWindow(range));
  return { path: '/health', params };
}

function failures(q: FailuresQuery, range: TimeRange): ApiRequest {
  const params = new URLSearchParams();
  add(params, 'limit', clampLimit(q.limit));
  add(params, 'from', range.from.toISOString());
  add(params, 'to', range.to.toISOString());
  add(params, 'service', q.services);
  add(params, 'action', q.actions);
  add(params, 'entity_type', q.entityType);
  add(params, 'entity_id', q.entityId);
  return { path: '/failures', params };
}

function logs(q: LogsQuery): ApiRequest {
  const params = new URLSearchParams();
  add(params, 'entity_type', q.entityType);
  add(params, 'entity_id', q.entityId);
  add(params, 'service', q.services);
  add(params, 'limit', clampLimit(q.limit));
  return { path: '/logs', params };
}

/** `timeZone`: the API's `tz` for queries that bucket by time (see apiTimeZone). */
export function toApiRequest(query: IntmonQuery, range: TimeRange, intervalMs: number, timeZone?: string): ApiRequest {
  switch (query.queryType) {
    case 'timeseries':
      return timeseries(query, range, intervalMs, timeZone);
    case 'health':
      return health(query, range);
    case 'failures':
      return failures(query, range);
    case 'logs':
      return logs(query);
  }
}
