/** What every route module receives from the server: typed instance and the per-request runner. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { PoolClient } from 'pg';
import { TSchema, Type } from '@sinclair/typebox';
import { ErrorBody } from '../../contract';
import type { HealthThresholds } from '../../config';

export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface RouteContext {
  health: HealthThresholds;
  /** Zone of hours and days when a request names none (MONITOR_TIMEZONE, default UTC). */
  timeZone: string;
  /** Runs `fn` in the request's transaction, as the role its token names. */
  run<T>(request: FastifyRequest, fn: (db: PoolClient) => Promise<T>): Promise<T>;
  /**
   * Sends the answer `compute` produces, serialised by the route's response schema once and then
   * shared for a moment (as bytes) with identical requests carrying the same token.
   */
  cached<T>(request: FastifyRequest, reply: FastifyReply, compute: () => Promise<T>): Promise<FastifyReply>;
}

/** Error responses every authenticated route documents. */
export const ERROR_RESPONSES: Record<400 | 401 | 403 | 429 | 503, TSchema> = {
  400: { ...ErrorBody, description: 'a parameter is invalid; `field` names it' },
  401: { ...ErrorBody, description: 'missing, malformed, wrongly signed or expired token' },
  403: { ...ErrorBody, description: "the token's role may not read this (anon, unknown role), or an authenticated token lacks MONITOR_READ_CLAIM's claim" },
  429: { ...ErrorBody, description: 'this token (its subject) already has as many database reads running and waiting as it may; see Retry-After' },
  503: { ...ErrorBody, description: 'database unavailable, query timed out, or the JWKS (MONITOR_JWKS_URL) cannot be fetched' },
};

export const SECURED = [{ bearerAuth: [] as string[] }];

/** Epoch ms of a timestamp that pg gave as Date or text. */
export const epochMs = (v: string | Date): number => (v instanceof Date ? v.getTime() : Date.parse(v));

/** For routes without parameters: still reject unknown ones rather than silently ignore them. */
export const NoQuery = Type.Object({}, { additionalProperties: false });
