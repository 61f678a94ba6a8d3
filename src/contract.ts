/**
 * The monitoring API's contract, defined once. These TypeBox schemas are JSON Schema: fastify
 * validates requests and serialises responses with them and @fastify/swagger publishes them as the
 * OpenAPI document; `Static<…>` derives the TypeScript types that the API and the Grafana plugin
 * import (the plugin imports types only, so no schema code reaches its bundle).
 */
import { Static, TSchema, Type } from '@sinclair/typebox';

export const API_PREFIX = '/api/admin/integrations/monitoring';

export const SERVICES = ['amocrm', 'resend', 'telegram', 'mobizon', 'whapi'] as const;
export const STATUSES = ['success', 'failed', 'pending', 'retrying'] as const;
export const METRICS = ['volume', 'failure_rate', 'latency_avg', 'latency_p50', 'latency_p95', 'latency_p99'] as const;
export const GROUP_BY = ['service', 'action', 'status'] as const;
export const INTERVALS = ['hour', 'day'] as const;
export const HEALTH_STATES = ['ok', 'degraded', 'down'] as const;

export type Status = (typeof STATUSES)[number];
export type Metric = (typeof METRICS)[number];
export type GroupBy = (typeof GROUP_BY)[number];
export type HealthState = (typeof HEALTH_STATES)[number];

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' });
const Timestamp = Type.String({ format: 'date-time', maxLength: 40, description: 'RFC 3339 timestamp' });
const NameList = Type.Union([Name, Type.Array(Name, { maxItems: 50 })], { description: 'one value, or the parameter repeated' });
const StatusEnum = Type.Union(STATUSES.map((s) => Type.Literal(s)));
const TimeZone = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'IANA time zone whose hours and days the buckets are, e.g. Asia/Almaty; default MONITOR_TIMEZONE (UTC)',
});

// ---- requests ---------------------------------------------------------------------------------

export const StatsQuery = Type.Object(
  {
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    service: Type.Optional(NameList),
    action: Type.Optional(NameList),
    status: Type.Optional(Type.Union([StatusEnum, Type.Array(StatusEnum, { maxItems: 4 })])),
    interval: Type.Optional(
      Type.Union(
        INTERVALS.map((i) => Type.Literal(i)),
        { default: 'day' },
      ),
    ),
    tz: Type.Optional(TimeZone),
  },
  { additionalProperties: false },
);
export type StatsQuery = Static<typeof StatsQuery>;

export const FailuresQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    before: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'cursor from the previous page' })),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    service: Type.Optional(NameList),
    action: Type.Optional(NameList),
    entity_type: Type.Optional(Name),
    entity_id: Type.Optional(Type.String({ format: 'uuid' })),
  },
  { additionalProperties: false },
);
export type FailuresQuery = Static<typeof FailuresQuery>;

export const HealthQuery = Type.Object(
  {
    window: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}(m|h|d)$', default: '24h', description: 'e.g. 15m, 24h, 7d' })),
  },
  { additionalProperties: false },
);
export type HealthQuery = Static<typeof HealthQuery>;

export const TimeseriesQuery = Type.Object(
  {
    metric: Type.Union(METRICS.map((m) => Type.Literal(m))),
    interval: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,5}(s|m|h|d)$', description: 'bucket width, e.g. 30s, 5m, 1h, 1d' })),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    group_by: Type.Optional(Type.Union(GROUP_BY.map((g) => Type.Literal(g)))),
    service: Type.Optional(NameList),
    action: Type.Optional(NameList),
    status: Type.Optional(Type.Union([StatusEnum, Type.Array(StatusEnum, { maxItems: 4 })])),
    tz: Type.Optional(TimeZone),
  },
  { additionalProperties: false },
);
export type TimeseriesQuery = Static<typeof TimeseriesQuery>;

export const LogsQuery = Type.Object(
  {
    entity_type: Type.Optional(Name),
    entity_id: Type.Optional(Type.String({ format: 'uuid' })),
    service: Type.Optional(NameList),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    before: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type LogsQuery = Static<typeof LogsQuery>;

export const LogParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
export type LogParams = Static<typeof LogParams>;

// ---- responses --------------------------------------------------------------------------------

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const StatsRow = Type.Object({
  service_name: Type.String(),
  action: Type.String(),
  status: Type.String(),
  bucket: Type.String({ format: 'date-time', description: 'start of the hour or day in `tz`, as a UTC instant' }),
  count: Type.Integer(),
  avg_duration_ms: Nullable(Type.Number()),
  min_duration_ms: Nullable(Type.Number()),
  max_duration_ms: Nullable(Type.Number()),
  failed_count: Type.Integer(),
  success_count: Type.Integer(),
  failure_rate_percent: Type.Number(),
});
export type StatsRow = Static<typeof StatsRow>;
export const StatsResponse = Type.Object({
  from: Type.String(),
  to: Type.String(),
  interval: Type.String(),
  tz: Type.String({ description: 'the time zone whose hours or days the buckets are' }),
  rows: Type.Array(StatsRow),
});
export type StatsResponse = Static<typeof StatsResponse>;

export const LogRecord = Type.Object({
  id: Type.String(),
  service_name: Type.String(),
  action: Type.String(),
  status: Type.String(),
  related_entity_type: Type.Union([Type.String(), Type.Null()]),
  related_entity_id: Type.Union([Type.String(), Type.Null()]),
  request_payload: Type.Unknown(),
  response_payload: Type.Unknown(),
  error_message: Type.Union([Type.String(), Type.Null()]),
  error_code: Type.Union([Type.String(), Type.Null()]),
  duration_ms: Nullable(Type.Integer()),
  retry_count: Nullable(Type.Integer()),
  created_at: Type.String(),
  updated_at: Type.Union([Type.String(), Type.Null()]),
});
export type LogRecord = Static<typeof LogRecord>;

export const LogPage = Type.Object({
  rows: Type.Array(LogRecord),
  next_before: Type.Union([Type.String(), Type.Null()], { description: 'pass as `before` for the next page; null on the last' }),
});
export type LogPage = Static<typeof LogPage>;

export const HealthRow = Type.Object({
  service_name: Type.String(),
  total_requests: Type.Integer(),
  success_count: Type.Integer(),
  failed_count: Type.Integer(),
  failure_rate_percent: Type.Number(),
  avg_duration_ms: Nullable(Type.Number()),
  p95_duration_ms: Nullable(Type.Number()),
  last_call_at: Type.Union([Type.String(), Type.Null()]),
  last_failure_at: Type.Union([Type.String(), Type.Null()]),
  state: Type.Union(HEALTH_STATES.map((s) => Type.Literal(s))),
});
export type HealthRow = Static<typeof HealthRow>;
export const HealthResponse = Type.Object({ window: Type.String(), from: Type.String(), to: Type.String(), services: Type.Array(HealthRow) });
export type HealthResponse = Static<typeof HealthResponse>;

export const TimeseriesSeries = Type.Object({
  labels: Type.Record(Type.String(), Type.String(), { description: 'the group_by value, e.g. { service: "resend" }; {} when ungrouped' }),
  points: Type.Array(Type.Tuple([Type.Integer({ description: 'bucket start, epoch ms' }), Nullable(Type.Number())])),
});
export type TimeseriesSeries = Static<typeof TimeseriesSeries>;
export const TimeseriesResponse = Type.Object({
  metric: Type.String(),
  unit: Type.Union([Type.Literal('short'), Type.Literal('percent'), Type.Literal('ms')]),
  interval_ms: Type.Integer({ description: 'nominal bucket width; a day bucket of a DST change is 23 or 25 hours long' }),
  tz: Type.String({ description: 'the time zone whose wall clock the buckets follow' }),
  from: Type.String(),
  to: Type.String(),
  series: Type.Array(TimeseriesSeries),
});
export type TimeseriesResponse = Static<typeof TimeseriesResponse>;

export const ServicesResponse = Type.Object({
  services: Type.Array(Type.Object({ service_name: Type.String(), actions: Type.Array(Type.String()) })),
});
export type ServicesResponse = Static<typeof ServicesResponse>;

export const ErrorBody = Type.Object({
  error: Type.String({ description: 'what is wrong, for a person' }),
  field: Type.Optional(Type.String({ description: 'the offending parameter, when one is to blame' })),
});
export type ErrorBody = Static<typeof ErrorBody>;
