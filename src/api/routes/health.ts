import { HealthQuery, HealthResponse } from '../../contract';
import { badRequest } from '../errors';
import { healthState } from '../health-state';
import { DAY_MS, MAX_RANGE_DAYS, parseDuration } from '../params';
import { queryHealth } from '../../store/queries';
import { Api, ERROR_RESPONSES, RouteContext, SECURED } from './context';

/** Per-service health over a trailing window, with a state judged by the configured thresholds. */
export function registerHealth(api: Api, ctx: RouteContext): void {
  api.get(
    '/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Per service: volume, failures, latency and state (ok | degraded | down) over a trailing window',
        description: 'A service needs a minimum number of calls in the window before its failure rate can make it `down`; below that it is at worst `degraded`.',
        security: SECURED,
        querystring: HealthQuery,
        response: { 200: HealthResponse, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) =>
      ctx.cached(request, reply, async () => {
        const window = request.query.window ?? '24h';
        const spanMs = parseDuration(window, 'window');
        if (spanMs > MAX_RANGE_DAYS * DAY_MS) throw badRequest('window', `must be at most ${MAX_RANGE_DAYS} days`);
        const to = new Date();
        const from = new Date(to.getTime() - spanMs);
        const numbers = await ctx.run(request, (db) => queryHealth(db, { from, to }));
        const services = numbers.map((n) => ({ ...n, state: healthState(n, ctx.health) }));
        return { window, from: from.toISOString(), to: to.toISOString(), services };
      }),
  );
}
