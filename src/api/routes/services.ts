import { ServicesResponse } from '../../contract';
import { queryServices } from '../../store/queries';
import { Api, ERROR_RESPONSES, NoQuery, RouteContext, SECURED } from './context';

/** Service names and their actions, for Grafana template variables. */
export function registerServices(api: Api, ctx: RouteContext): void {
  api.get(
    '/services',
    {
      schema: {
        tags: ['metadata'],
        summary: 'Known services and their actions',
        security: SECURED,
        querystring: NoQuery,
        response: { 200: ServicesResponse, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => ctx.cached(request, reply, async () => ({ services: await ctx.run(request, (db) => queryServices(db)) })),
  );
}
