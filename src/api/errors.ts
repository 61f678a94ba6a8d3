/**
 * One error shape for every failure: `{ error, field? }`. Client mistakes (schema violations, bad
 * cursors, impossible ranges, Postgres data exceptions caused by a value) are 4xx naming the
 * offending parameter; only our own faults are 5xx, and those never echo internals.
 */
import http from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorBody } from '../contract';
import { DatabaseTimeout, PoolExhausted } from '../store/db-session';
import { UnknownRole } from '../store/role-transaction';
import { logRequest } from './request-log';

/** An error that already knows its HTTP status and, for 400s, the parameter to blame. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly field?: string,
    /** Response headers that go with it (e.g. Retry-After of a 429). */
    readonly headers?: Record<string, string>,
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
function fieldOfValidation(issues: AjvIssue[]): { field?: string; message: string } {
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
    const values = issues.filter((i) => i.keyword === 'const' && i.params && 'allowedValue' in i.params).map((i) => String(i.params?.allowedValue));
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

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);
const UNAVAILABLE = 'the database is unavailable; try again shortly';

/** Whether `err` says the database cannot be reached or stopped answering (as opposed to a slow or refused query). */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  if (e?.name === 'DatabaseTimeout') return true;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (NETWORK_CODES.has(code) || code.startsWith('08') || code.startsWith('53') || code.startsWith('57P')) return true;
  return /timeout exceeded when trying to connect|Connection terminated|connection ended|Client has encountered a connection error/i.test(String(e?.message ?? ''));
}

export function toErrorResponse(err: FastifyError & { code?: unknown }): { status: number; body: ErrorBody } {
  if (err instanceof HttpError) {
    return { status: err.statusCode, body: err.field ? { error: err.message, field: err.field } : { error: err.message } };
  }
  // The store's own refusals, in its words: the budget or the pool ran out, or a role it will not splice.
  if (err instanceof DatabaseTimeout || err instanceof PoolExhausted) return { status: 503, body: { error: err.message } };
  if (err instanceof UnknownRole) return { status: 403, body: { error: 'unknown role' } };
  if (Array.isArray(err.validation)) {
    const { field, message } = fieldOfValidation(err.validation as AjvIssue[]);
    return { status: 400, body: field ? { error: `${field}: ${message}`, field } : { error: message } };
  }
  const pg = fromPostgres(err);
  if (pg) return pg;
  if (isDatabaseUnavailable(err)) return { status: 503, body: { error: UNAVAILABLE } };
  // fastify's own client errors (bad content type, body too large, malformed JSON, bad URL …).
  const status = err.statusCode;
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return { status: 414, body: { error: 'a path parameter is too long' } };
  if (err.code === 'FST_ERR_BAD_URL') return { status: 400, body: { error: 'the URL is not valid (bad percent-encoding)' } };
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, body: { error: (err.message || 'bad request').slice(0, 300) } };
  }
  return { status: 500, body: { error: 'internal error' } };
}

const CLIENT_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'request headers (or the URL) too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'the request was not received in time'],
};

/**
 * Requests node's HTTP parser rejects before fastify sees them (headers or URL over the size
 * limit, a request that takes too long to arrive, malformed HTTP): answered in the same `{error}`
 * shape as everything else, then the connection is closed, as node itself would.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: import('node:net').Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'malformed HTTP request'];
  const body = JSON.stringify({ error: message } satisfies ErrorBody);
  // A HEAD request gets the headers only (node keeps the bytes it could not parse in rawPacket).
  const head = /^HEAD /.test((err as { rawPacket?: Buffer }).rawPacket?.subarray(0, 5).toString('latin1') ?? '');
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`,
    );
  }
  socket.destroy();
}

/** Errors fastify raises before routing (bad URL encoding, over-long path parameter): same shape. */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toErrorResponse(err);
  void reply.code(status).type('application/json; charset=utf-8').send(body);
  // No route, so no onResponse hook: the request's log line is written here.
  logRequest(request, reply);
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = toErrorResponse(err);
    // The database being away is expected and reported once per outage (db-state.ts); anything
    // else at 5xx is our fault and logged with its stack.
    if (status === 503) {
      // Named for what happened: a query cut by its statement timeout or a pool busy with other
      // requests is a slow request, not the database going away (db-state.ts logs that).
      const event = err.code === PG_QUERY_CANCELED ? 'query_timeout' : err.name === 'PoolExhausted' ? 'pool_exhausted' : 'dependency_unavailable';
      const msg =
        event === 'query_timeout'
          ? 'request failed: the query ran past its statement timeout'
          : event === 'pool_exhausted'
            ? 'request failed: every database connection was busy for the whole timeout'
            : 'request failed: a dependency (database or JWKS) is unavailable or slow';
      request.log.warn({ event, err: { message: err.message, code: err.code } }, msg);
    } else if (status >= 500) request.log.error({ err }, 'request failed');
    // RFC 6750: a 401 names the scheme the client should use.
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="integration-monitor"');
    if (err instanceof HttpError && err.headers) reply.headers(err.headers);
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const url = request.url.length > 200 ? `${request.url.slice(0, 200)}…` : request.url;
    return reply.code(404).send({ error: `no route ${request.method} ${url}` } satisfies ErrorBody);
  });
}
