/**
 * API responses → Grafana data frames. Field names stay the API's column names (stable for panel
 * overrides and provisioned dashboards); `displayName` gives people readable headers. Units follow
 * Grafana's unit ids: `percent` (0–100), `ms`, `short`.
 */
import { createDataFrame, DataFrame, DataFrameType, FieldType, MappingType } from '@grafana/data';

import type { HealthResponse, LogPage, LogRecord, TimeseriesResponse } from '../contract';
import { isMetric, Metric, METRIC_LABELS } from './types';

type Unit = 'percent' | 'ms' | 'short';

/** The API names the unit; the metric is the fallback so a missing unit never shows raw numbers. */
function unitFor(metric: string, apiUnit?: string): Unit {
  if (apiUnit === 'percent' || apiUnit === 'ms' || apiUnit === 'short') {
    return apiUnit;
  }
  if (metric === 'failure_rate') {
    return 'percent';
  }
  return metric.startsWith('latency_') ? 'ms' : 'short';
}

const LABEL_ORDER = ['service', 'action', 'status'];

/** `resend`, `resend / send_email`, or the metric's label when the series is ungrouped. */
function seriesName(labels: Record<string, string>, metric: string): string {
  const keys = Object.keys(labels).sort((a, b) => {
    const ia = LABEL_ORDER.indexOf(a);
    const ib = LABEL_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  if (keys.length === 0) {
    return isMetric(metric) ? METRIC_LABELS[metric as Metric] : metric;
  }
  return keys.map((k) => labels[k]).join(' / ');
}

function epoch(ts: string | null): number | null {
  if (ts === null) {
    return null;
  }
  const n = Date.parse(ts);
  return Number.isNaN(n) ? null : n;
}

export function timeseriesFrames(res: TimeseriesResponse, refId: string): DataFrame[] {
  const unit = unitFor(res.metric, res.unit);
  return res.series.map((s) => {
    const name = seriesName(s.labels, res.metric);
    return createDataFrame({
      refId,
      name,
      meta: { type: DataFrameType.TimeSeriesMulti },
      fields: [
        { name: 'time', type: FieldType.time, values: s.points.map((p) => p[0]), config: { interval: res.interval_ms } },
        {
          name: res.metric,
          type: FieldType.number,
          values: s.points.map((p) => p[1]),
          labels: { ...s.labels },
          config: unit === 'percent' ? { unit, displayNameFromDS: name, min: 0, max: 100 } : { unit, displayNameFromDS: name },
        },
      ],
    });
  });
}

const STATE_COLORS = { ok: 'green', degraded: 'orange', down: 'red' } as const;

export function healthFrame(res: HealthResponse, refId: string): DataFrame {
  const rows = res.services;
  const col = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]);
  return createDataFrame({
    refId,
    name: 'health',
    meta: { preferredVisualisationType: 'table', custom: { window: res.window, from: res.from, to: res.to } },
    fields: [
      { name: 'service_name', type: FieldType.string, values: col('service_name'), config: { displayName: 'Service' } },
      {
        name: 'state',
        type: FieldType.string,
        values: col('state'),
        config: {
          displayName: 'State',
          mappings: [
            {
              type: MappingType.ValueToText,
              options: Object.fromEntries(Object.entries(STATE_COLORS).map(([state, color], index) => [state, { text: state, color, index }])),
            },
          ],
        },
      },
      { name: 'total_requests', type: FieldType.number, values: col('total_requests'), config: { displayName: 'Calls', unit: 'short' } },
      { name: 'success_count', type: FieldType.number, values: col('success_count'), config: { displayName: 'Succeeded', unit: 'short' } },
      { name: 'failed_count', type: FieldType.number, values: col('failed_count'), config: { displayName: 'Failed', unit: 'short' } },
      {
        name: 'failure_rate_percent',
        type: FieldType.number,
        values: col('failure_rate_percent'),
        config: { displayName: 'Failure rate', unit: 'percent', min: 0, max: 100, decimals: 2 },
      },
      { name: 'avg_duration_ms', type: FieldType.number, values: col('avg_duration_ms'), config: { displayName: 'Avg latency', unit: 'ms' } },
      { name: 'p95_duration_ms', type: FieldType.number, values: col('p95_duration_ms'), config: { displayName: 'p95 latency', unit: 'ms' } },
      { name: 'last_call_at', type: FieldType.time, values: rows.map((r) => epoch(r.last_call_at)), config: { displayName: 'Last call' } },
      { name: 'last_failure_at', type: FieldType.time, values: rows.map((r) => epoch(r.last_failure_at)), config: { displayName: 'Last failure' } },
    ],
  });
}

/** Columns shared by the failures table and the logs frame. */
function recordFields(rows: LogRecord[]) {
  return [
    { name: 'service_name', type: FieldType.string, values: rows.map((r) => r.service_name), config: { displayName: 'Service' } },
    { name: 'action', type: FieldType.string, values: rows.map((r) => r.action), config: { displayName: 'Action' } },
    { name: 'status', type: FieldType.string, values: rows.map((r) => r.status), config: { displayName: 'Status' } },
    { name: 'error_code', type: FieldType.string, values: rows.map((r) => r.error_code), config: { displayName: 'Code' } },
    { name: 'error_message', type: FieldType.string, values: rows.map((r) => r.error_message), config: { displayName: 'Error' } },
    { name: 'duration_ms', type: FieldType.number, values: rows.map((r) => r.duration_ms), config: { displayName: 'Duration', unit: 'ms' } },
    { name: 'retry_count', type: FieldType.number, values: rows.map((r) => r.retry_count), config: { displayName: 'Retries', unit: 'short' } },
    { name: 'related_entity_type', type: FieldType.string, values: rows.map((r) => r.related_entity_type), config: { displayName: 'Entity type' } },
    { name: 'related_entity_id', type: FieldType.string, values: rows.map((r) => r.related_entity_id), config: { displayName: 'Entity id' } },
    { name: 'id', type: FieldType.string, values: rows.map((r) => r.id), config: { displayName: 'ID' } },
  ];
}

export function failuresFrame(page: LogPage, refId: string): DataFrame {
  return createDataFrame({
    refId,
    name: 'failures',
    meta: { preferredVisualisationType: 'table', custom: { nextBefore: page.next_before } },
    fields: [{ name: 'created_at', type: FieldType.time, values: page.rows.map((r) => epoch(r.created_at)), config: { displayName: 'Time' } }, ...recordFields(page.rows)],
  });
}

const SEVERITY: Record<string, string> = { failed: 'error', retrying: 'warning', pending: 'info', success: 'info' };

/** One log line per call, readable in the logs panel; the full record stays in the other fields. */
function logLine(r: LogRecord): string {
  const parts = [`${r.service_name} ${r.action} ${r.status}`];
  if (r.duration_ms !== null) {
    parts.push(`${r.duration_ms} ms`);
  }
  if (r.error_code !== null) {
    parts.push(`code=${r.error_code}`);
  }
  if (r.error_message !== null) {
    parts.push(r.error_message);
  }
  return parts.join(' · ');
}

export function logsFrame(page: LogPage, refId: string): DataFrame {
  return createDataFrame({
    refId,
    name: 'logs',
    meta: { type: DataFrameType.LogLines, preferredVisualisationType: 'logs', custom: { nextBefore: page.next_before } },
    fields: [
      { name: 'timestamp', type: FieldType.time, values: page.rows.map((r) => epoch(r.created_at)) },
      { name: 'body', type: FieldType.string, values: page.rows.map(logLine) },
      { name: 'severity', type: FieldType.string, values: page.rows.map((r) => SEVERITY[r.status] ?? 'unknown') },
      ...recordFields(page.rows),
    ],
  });
}

/** Values for a variable: one `text`/`value` pair per name. */
export function namesFrame(names: string[], refId: string): DataFrame {
  return createDataFrame({
    refId,
    fields: [
      { name: 'text', type: FieldType.string, values: names },
      { name: 'value', type: FieldType.string, values: names },
    ],
  });
}
