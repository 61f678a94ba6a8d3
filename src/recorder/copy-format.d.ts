/**
 * Rows as PostgreSQL COPY text-format lines. The same lines go to the database and to the spool
 * file, so a spooled row replays byte-for-byte as it would have been written.
 */
import type { LogRow } from './types';
/** Column order of every COPY line — exactly the seed's columns. */
export declare const COLUMNS: readonly ["id", "service_name", "action", "status", "related_entity_type", "related_entity_id", "request_payload", "response_payload", "error_message", "error_code", "duration_ms", "retry_count", "created_at", "updated_at"];
/** One row → one COPY line including the trailing newline. */
export declare function encodeRow(r: LogRow): string;
/** Rough in-memory size of a queued row, for the memory bound (JS strings are UTF-16). */
export declare function rowBytes(r: LogRow): number;
