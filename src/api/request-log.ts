/**
 * What the API logs (pino, through fastify): one JSON line per request with its id, route, status,
 * duration and the token's role — never the token: headers are not logged, and anything shaped
 * like a JWT in the URL, however encoded, is masked (log-redaction.ts). Levels: 5xx error (503 warn), everything else info.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { loggableUrl } from '../log-redaction';

export interface LogOptions {
  level?: string;
  /** Where the JSON lines go (default stdout). */
  stream?: NodeJS.WritableStream;
}

export function loggerOptions(opt: boolean | LogOptions | undefined): FastifyServerOptions['logger'] {
  if (opt === false) return false;
  const o = opt === true || opt === undefined ? {} : opt;
  return {
    level: o.level ?? 'info',
    ...(o.stream ? { stream: o.stream } : {}),
    // Belt and braces: should anything ever log a request's headers, the credential is censored.
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization'], censor: '[redacted]' },
    serializers: {
      req: (req: { method?: string; url?: string }) => ({ method: req.method, url: loggableUrl(req.url ?? '') }),
    },
  };
}

/** The request's one log line. */
export function logRequest(request: FastifyRequest, reply: FastifyReply): void {
  const status = reply.statusCode;
  const entry = {
    method: request.method,
    route: request.routeOptions?.url ?? null,
    url: loggableUrl(request.url),
    status,
    duration_ms: Math.round(reply.elapsedTime * 10) / 10,
    role: (request as { claims?: { role?: string } | null }).claims?.role ?? null,
  };
  if (status === 503) request.log.warn(entry, 'request');
  else if (status >= 500) request.log.error(entry, 'request');
  else request.log.info(entry, 'request');
}

export function installRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => logRequest(request, reply));
}
