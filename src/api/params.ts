/**
 * Turning validated query parameters into what the query module takes. The schemas already
 * checked types and shapes; what is left are the rules that span parameters (from ≤ to, range cap)
 * and conversions (durations, repeated parameters).
 */
import { badRequest } from './errors';
import type { Filters } from '../store/queries';

export const MAX_RANGE_DAYS = 400;
const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };
/** Dates outside this are typos, not monitoring questions (and outside what every layer agrees on). */
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(10000, 0, 1) - 1;

function parseTimestamp(value: string, field: string): Date {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw badRequest(field, 'is not a valid timestamp');
  if (ms < EARLIEST || ms > LATEST) throw badRequest(field, 'must be between 1970 and 9999');
  return new Date(ms);
}

export interface Range {
  from: Date;
  to: Date;
}

/**
 * `from`/`to` with defaults (`to` = now, `from` = `to` − default span), from ≤ to, and at most
 * MAX_RANGE_DAYS wide so no request can ask for an unbounded scan.
 */
export function resolveRange(q: { from?: string; to?: string }, defaultSpanMs: number, now = new Date()): Range {
  const to = q.to !== undefined ? parseTimestamp(q.to, 'to') : now;
  const from = q.from !== undefined ? parseTimestamp(q.from, 'from') : new Date(to.getTime() - defaultSpanMs);
  if (from.getTime() > to.getTime()) throw badRequest('from', 'must not be after to');
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) throw badRequest('from', `range must be at most ${MAX_RANGE_DAYS} days`);
  return { from, to };
}

/** Optional bounds for list endpoints: only checked against each other when both are given. */
export function resolveOptionalRange(q: { from?: string; to?: string }): Partial<Range> {
  const from = q.from !== undefined ? parseTimestamp(q.from, 'from') : undefined;
  const to = q.to !== undefined ? parseTimestamp(q.to, 'to') : undefined;
  if (from && to && from.getTime() > to.getTime()) throw badRequest('from', 'must not be after to');
  return { from, to };
}

/** '15m', '24h', '7d', '30s' → milliseconds (the schema's pattern guarantees the shape). */
export function parseDuration(value: string, field: string): number {
  const m = /^([1-9][0-9]*)(s|m|h|d)$/.exec(value);
  if (!m) throw badRequest(field, 'must look like 30s, 15m, 24h or 7d');
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** A parameter that may be given once or repeated → a de-duplicated list (or undefined). */
export function list(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const values = [...new Set(Array.isArray(value) ? value : [value])];
  return values.length > 0 ? values : undefined;
}

export function filters(q: { service?: string | string[]; action?: string | string[]; status?: string | string[] }): Filters {
  const f: Filters = {};
  const services = list(q.service);
  const actions = list(q.action);
  const statuses = list(q.status);
  if (services) f.services = services;
  if (actions) f.actions = actions;
  if (statuses) f.statuses = statuses;
  return f;
}

export { DAY_MS };
