import { ErrorBody, FailuresQuery, LogPage, LogParams, LogRecord, LogsQuery } from '../../contract';
import { encodeCursor, decodeCursor } from '../cursor';
import { HttpError } from '../errors';
import { filters, resolveOptionalRange } from '../params';
import { LogPageResult, queryFailures, queryLog, queryLogs } from '../../store/queries';
import { Api, ERROR_RESPONSES, NoQuery, RouteContext, SECURED } from './context';

/** The page as the client sees it: `next_before` is the query's next cursor, encoded opaque. */
function withCursor(page: LogPageResult): LogPage {
  return { rows: page.rows, next_before: page.next ? encodeCursor(page.next) : null };
}

/** Failed calls and the per-entity drill-down: keyset-paginated, newest first. */
export function registerLogs(api: Api, ctx: RouteContext): void {
  api.get(
    '/failures',
    {
      schema: {
        tags: ['logs'],
        summary: 'Failed calls, newest first',
        description: '`limit` defaults to 100 (at most 1000). Pass `next_before` from a page as `before` to get the next one.',
        security: SECURED,
        querystring: FailuresQuery,
        response: { 200: LogPage, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const q = request.query;
      const before = q.before !== undefined ? decodeCursor(q.before) : undefined;
      const range = resolveOptionalRange(q);
      const page = await ctx.run(request, (db) =>
        queryFailures(db, {
          limit: q.limit ?? 100,
          before,
          ...range,
          filters: filters({ service: q.service, action: q.action }),
          entityType: q.entity_type,
          entityId: q.entity_id,
        }),
      );
      return withCursor(page);
    },
  );

  api.get(
    '/logs',
    {
      schema: {
        tags: ['logs'],
        summary: 'Calls about one entity (lead, student, e-mail …) or the latest calls, newest first',
        description: '`limit` defaults to 100 (at most 1000). Pass `next_before` from a page as `before` to get the next one.',
        security: SECURED,
        querystring: LogsQuery,
        response: { 200: LogPage, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const q = request.query;
      const before = q.before !== undefined ? decodeCursor(q.before) : undefined;
      const page = await ctx.run(request, (db) =>
        queryLogs(db, {
          limit: q.limit ?? 100,
          before,
          filters: filters({ service: q.service }),
          entityType: q.entity_type,
          entityId: q.entity_id,
        }),
      );
      return withCursor(page);
    },
  );

  api.get(
    '/logs/:id',
    {
      schema: {
        tags: ['logs'],
        summary: 'One call by id',
        security: SECURED,
        params: LogParams,
        querystring: NoQuery,
        response: { 200: LogRecord, ...ERROR_RESPONSES, 404: { ...ErrorBody, description: 'no call with this id (or not visible to your role)' } },
      },
    },
    async (request) => {
      const row = await ctx.run(request, (db) => queryLog(db, request.params.id));
      if (!row) throw new HttpError(404, `no log ${request.params.id}`);
      return row;
    },
  );
}
