import { Type } from '@sinclair/typebox';
import { API_PREFIX, ErrorBody } from '../../contract';
import { HttpError } from '../errors';
import { Api, NoQuery } from './context';

export const HealthzResponse = Type.Object({ status: Type.Literal('ok') });
export const ReadyzResponse = Type.Object({ status: Type.Literal('ready') });

/**
 * Liveness (no auth, no data, no database round trip: it says the process answers) and the
 * OpenAPI document. /healthz is served both at the root, where probes look, and under the prefix,
 * where a client configured with the API's base URL looks.
 */
export function registerMeta(app: Api, databaseAnswers: () => Promise<boolean>): void {
  for (const url of ['/healthz', `${API_PREFIX}/healthz`]) {
    app.get(url, { schema: { tags: ['meta'], summary: 'Liveness: the API process is up', querystring: NoQuery, response: { 200: HealthzResponse } } }, async () => ({ status: 'ok' as const }));
  }
  // Readiness: whether the database answers within the timeout (no auth: it reveals nothing else).
  for (const url of ['/readyz', `${API_PREFIX}/readyz`]) {
    app.get(
      url,
      {
        schema: {
          tags: ['meta'],
          summary: 'Readiness: the database answers',
          querystring: NoQuery,
          response: { 200: ReadyzResponse, 503: { ...ErrorBody, description: 'the database does not answer' } },
        },
      },
      async () => {
        if (!(await databaseAnswers())) throw new HttpError(503, 'not ready: the database does not answer');
        return { status: 'ready' as const };
      },
    );
  }
  app.get(`${API_PREFIX}/openapi.json`, { schema: { tags: ['meta'], summary: 'This OpenAPI document', querystring: NoQuery } }, async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(app.swagger()),
  );
}
