import { StatsQuery, StatsResponse } from '../../contract';
import { filters, resolveRange } from '../params';
import { queryStats } from '../../store/queries';
import { requestTimeZone } from '../time-zone';
import { Api, epochMs, ERROR_RESPONSES, RouteContext, SECURED } from './context';

const DEFAULT_SPAN_MS = 30 * 86_400_000;

/** The seed's daily statistics, fixed: bucketed by hour or day over any range, newest bucket first. */
export function registerStats(api: Api, ctx: RouteContext): void {
  api.get(
    '/stats',
    {
      schema: {
        tags: ['stats'],
        summary: 'Call counts, durations and failure rate per service/action/status and bucket',
        description:
          'Default range: the last 30 days; interval `day` (or `hour`) of time zone `tz` (default MONITOR_TIMEZONE, UTC): a day starts at midnight there, a DST day is 23 or 25 hours. Rows are ordered newest bucket first.',
        security: SECURED,
        querystring: StatsQuery,
        response: { 200: StatsResponse, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) =>
      ctx.cached(request, reply, async () => {
        const q = request.query;
        const { from, to } = resolveRange(q, DEFAULT_SPAN_MS);
        const interval = q.interval ?? 'day';
        const tz = requestTimeZone(q.tz, ctx.timeZone);
        const rows = await ctx.run(request, (db) => queryStats(db, { from, to, interval, timeZone: tz, filters: filters(q) }));
        // Stable sort: keeps the query's order inside a bucket while guaranteeing newest first.
        rows.sort((a, b) => epochMs(b.bucket) - epochMs(a.bucket));
        return { from: from.toISOString(), to: to.toISOString(), interval, tz, rows };
      }),
  );
}
