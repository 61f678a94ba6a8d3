/**
 * One error shape for every failure: `{ error, field? }`. Client mistakes (schema violations, bad
 * cursors, impossible ranges, Postgres data exceptions caused by a value) are 4xx naming the
 * offending parameter; only our own faults are 5xx, and those never echo internals.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorBody } from './contract';

/** An error that already knows its HTTP status and, for 400s, the parameter to blame. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (field: string, message: string): HttpError => new HttpError(400, `${field}: ${message}`, field);

interface AjvIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** The parameter a schema-validation failure is about, as the client spelled it. */
export function fieldOfValidation(issues: AjvIssue[]): { field?: string; message: string } {
  const first = issues[0] ?? {};
  const extra = first.params?.additionalProperty;
  // The name is the client's own text: echo it, but not at any length.
  if (typeof extra === 'string') return { field: extra.slice(0, 100), message: 'unknown parameter' };
  const missing = first.params?.missingProperty;
  if (typeof missing === 'string') return { field: missing.replace(/^\./, ''), message: 'is required' };
  const path = (first.instancePath ?? '').split('/').filter(Boolean);
  const field = path[0];
  let message = first.message ?? 'is invalid';
  // anyOf/enum unions report "must match a schema in anyOf": say what is accepted instead.
  const allowed = issues.find((i) => i.keyword === 'const' || i.keyword === 'enum');
  if (first.keyword === 'anyOf' || first.keyword === 'const' || first.keyword === 'enum') {
    const values = issues
      .filter((i) => i.keyword === 'const' && i.params && 'allowedValue' in i.params)
      .map((i) => String(i.params?.allowedValue));
    message = values.length > 0 ? `must be one of ${[...new Set(values)].join(', ')}` : (allowed?.message ?? message);
  }
  return { field, message };
}

const PG_PERMISSION_DENIED = '42501';
const PG_QUERY_CANCELED = '57014';

function fromPostgres(err: { code?: unknown }): { status: number; body: ErrorBody } | undefined {
  const code = typeof err.code === 'string' ? err.code : undefined;
  if (!code || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  // RLS/grants said no: that is the role's answer, not a server fault.
  if (code === PG_PERMISSION_DENIED) return { status: 403, body: { error: 'your role may not read this data' } };
  if (code === PG_QUERY_CANCELED) return { status: 503, body: { error: 'the query took too long; narrow the range or filters' } };
  // Class 22 (data exception): a value the database could not take; input validation should have
  // caught it, but it is still the request's value, so 400 rather than 500.
  if (code.startsWith('22')) return { status: 400, body: { error: 'a parameter value is out of range' } };
  // Connection trouble, too many clients, shutting down: retryable, say so.
  if (code.startsWith('08') || code.startsWith('53') || code.startsWith('57P')) {
    return { status: 503, body: { error: 'the database is unavailable; try again shortly' } };
  }
  return undefined;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);

export function toErrorResponse(err: FastifyError & { code?: unknown }): { status: number; body: ErrorBody } {
  if (err instanceof HttpError) {
    return { status: err.statusCode, body: err.field ? { error: err.message, field: err.field } : { error: err.message } };
  }
  if (Array.isArray(err.validation)) {
    const { field, message } = fieldOfValidation(err.validation as AjvIssue[]);
    return { status: 400, body: field ? { error: `${field}: ${message}`, field } : { error: message } };
  }
  const pg = fromPostgres(err);
  if (pg) return pg;
  if (typeof err.code === 'string' && NETWORK_CODES.has(err.code)) {
    return { status: 503, body: { error: 'the database is unavailable; try again shortly' } };
  }
  if (/timeout exceeded when trying to connect|Connection terminated/i.test(err.message ?? '')) {
    return { status: 503, body: { error: 'the database is unavailable; try again shortly' } };
  }
  // fastify's own client errors (bad content type, body too large, malformed JSON, bad URL …).
  const status = err.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, body: { error: (err.message || 'bad request').slice(0, 300) } };
  }
  return { status: 500, body: { error: 'internal error' } };
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = toErrorResponse(err);
    if (status >= 500) request.log.error({ err }, 'request failed');
    // RFC 6750: a 401 names the scheme the client should use.
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="integration-monitor"');
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const url = request.url.length > 200 ? `${request.url.slice(0, 200)}…` : request.url;
    return reply.code(404).send({ error: `no route ${request.method} ${url}` } satisfies ErrorBody);
  });
}
