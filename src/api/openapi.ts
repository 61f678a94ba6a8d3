/**
 * @fastify/swagger options: OpenAPI 3.1 (its schemas are JSON Schema 2020-12, so TypeBox's
 * `type: 'null'` unions are valid as they are) with one rewrite: TypeBox tuples use draft-07's
 * array-form `items`, which 2020-12 spells `prefixItems`.
 */
import type { SwaggerOptions } from '@fastify/swagger';

function toPrefixItems(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toPrefixItems);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = toPrefixItems(v);
  if (Array.isArray(out.items)) {
    out.prefixItems = out.items;
    out.items = false;
    delete out.additionalItems;
  }
  return out;
}

export function swaggerOptions(version: string): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Integration Monitor API',
        version,
        description:
          'How the calls a backend makes to external APIs are doing. Send `Authorization: Bearer <JWT>` (HS256, Supabase-style `role` claim: `authenticated` and `service_role` read (the API writes nothing), `anon` is refused). Errors are `{ error, field? }`.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      tags: [
        { name: 'stats', description: 'bucketed statistics' },
        { name: 'health', description: 'per-service state' },
        { name: 'timeseries', description: 'series for panels' },
        { name: 'logs', description: 'individual calls' },
        { name: 'metadata', description: 'names for variables' },
        { name: 'meta', description: 'liveness and this document' },
      ],
    },
    transformObject: (documentObject) => toPrefixItems((documentObject as { openapiObject: unknown }).openapiObject) as never,
  };
}
