/**
 * Rows as PostgreSQL COPY text-format lines. The same lines go to the database and to the spool
 * file, so a spooled row replays byte-for-byte as it would have been written.
 */
import type { LogRow } from './types';

/** Column order of every COPY line — exactly the seed's columns. */
export const COLUMNS = [
  'id',
  'service_name',
  'action',
  'status',
  'related_entity_type',
  'related_entity_id',
  'request_payload',
  'response_payload',
  'error_message',
  'error_code',
  'duration_ms',
  'retry_count',
  'created_at',
  'updated_at',
] as const;

const SPECIAL = /[\\\n\r\t]/;
const SPECIAL_G = /[\\\n\r\t]/g;
const ESC: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function text(v: string | null): string {
  if (v === null) return '\\N';
  if (v.length < 2) return v === '\\' ? '\\\\' : v === '\n' ? '\\n' : v === '\r' ? '\\r' : v === '\t' ? '\\t' : v;
  return SPECIAL.test(v) ? v.replace(SPECIAL_G, (c) => ESC[c]) : v;
}

function int(v: number | null): string {
  return v === null || !Number.isFinite(v) ? '\\N' : String(Math.round(v));
}

// Rows come in bursts within the same millisecond: format each distinct timestamp once.
let lastMs = NaN;
let lastIso = '';
function iso(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** One row → one COPY line including the trailing newline. */
export function encodeRow(r: LogRow): string {
  return (
    text(r.id) +
    '\t' +
    text(r.service_name) +
    '\t' +
    text(r.action) +
    '\t' +
    r.status +
    '\t' +
    text(r.related_entity_type) +
    '\t' +
    text(r.related_entity_id) +
    '\t' +
    text(r.request_payload) +
    '\t' +
    text(r.response_payload) +
    '\t' +
    text(r.error_message) +
    '\t' +
    text(r.error_code) +
    '\t' +
    int(r.duration_ms) +
    '\t' +
    int(r.retry_count) +
    '\t' +
    iso(r.created_at) +
    '\t' +
    iso(r.updated_at) +
    '\n'
  );
}

/** Rough in-memory size of a queued row, for the memory bound (JS strings are UTF-16). */
export function rowBytes(r: LogRow): number {
  return (
    320 +
    2 *
      (r.service_name.length +
        r.action.length +
        (r.request_payload?.length ?? 0) +
        (r.response_payload?.length ?? 0) +
        (r.error_message?.length ?? 0) +
        (r.error_code?.length ?? 0) +
        (r.related_entity_type?.length ?? 0))
  );
}
