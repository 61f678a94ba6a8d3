import { Metric, TimeseriesQuery, TimeseriesResponse } from '../../contract';
import { filters, parseDuration, resolveRange } from '../params';
import { queryTimeseries } from '../../store/queries';
import { requestTimeZone } from '../time-zone';
import { Api, ERROR_RESPONSES, RouteContext, SECURED } from './context';

const DEFAULT_SPAN_MS = 86_400_000;
/** Rollups are kept per minute: a narrower bucket could not be answered exactly. */
const MIN_INTERVAL_MS = 60_000;
/** More points than any panel draws; wider requests get a wider bucket (reported in interval_ms). */
const MAX_POINTS = 5_000;

const UNITS: Record<Metric, TimeseriesResponse['unit']> = {
  volume: 'short',
  failure_rate: 'percent',
  latency_avg: 'ms',
  latency_p50: 'ms',
  latency_p95: 'ms',
  latency_p99: 'ms',
};

/**
 * Bucket width: the requested one (Grafana's $__interval), else about 300 points over the range;
 * never below a minute, never so narrow that the series exceeds MAX_POINTS; whole minutes.
 */
export function bucketWidthMs(rangeMs: number, requestedMs?: number): number {
  const wanted = requestedMs ?? rangeMs / 300;
  const width = Math.max(wanted, MIN_INTERVAL_MS, rangeMs / MAX_POINTS);
  return Math.ceil(width / MIN_INTERVAL_MS) * MIN_INTERVAL_MS;
}

/** What the Grafana plugin's time-series panels read: one series per group_by value. */
export function registerTimeseries(api: Api, ctx: RouteContext): void {
  api.get(
    '/timeseries',
    {
      schema: {
        tags: ['timeseries'],
        summary: 'A metric bucketed over time, optionally one series per service, action or status',
        description:
          'Default range: the last 24 hours. `interval` is rounded up to whole minutes and widened so a series has at most 5,000 points; the width used is returned as `interval_ms`. Buckets follow the wall clock of time zone `tz` (default MONITOR_TIMEZONE, UTC): `1d` buckets start at its midnights, `1h` buckets at its hours.',
        security: SECURED,
        querystring: TimeseriesQuery,
        response: { 200: TimeseriesResponse, ...ERROR_RESPONSES },
      },
      // fast-json-stringify rejects every value of a tuple item typed `number | null` ("Item at 1
      // does not match schema definition"); the schema still documents and types the response.
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (request, reply) =>
      ctx.cached(request, reply, async () => {
        const q = request.query;
        const { from, to } = resolveRange(q, DEFAULT_SPAN_MS);
        const requested = q.interval !== undefined ? parseDuration(q.interval, 'interval') : undefined;
        const intervalMs = bucketWidthMs(to.getTime() - from.getTime(), requested);
        const tz = requestTimeZone(q.tz, ctx.timeZone);
        const series = await ctx.run(request, (db) => queryTimeseries(db, { metric: q.metric, from, to, intervalMs, timeZone: tz, groupBy: q.group_by, filters: filters(q) }));
        return { metric: q.metric, unit: UNITS[q.metric], interval_ms: intervalMs, tz, from: from.toISOString(), to: to.toISOString(), series };
      }),
  );
}
