/**
 * The API's one query module: every SQL statement the API runs lives here, with bind parameters
 * only. Each function takes the request's transaction client (already `SET LOCAL ROLE` to the
 * caller's role, so Postgres RLS decides what it sees).
 *
 * OWNED BY THE STORAGE WORK (migrations + rollups). Signatures are the agreement with the API
 * routes; bodies are filled in with the rollup-reading SQL.
 */
import type { ClientBase } from 'pg';
import type { GroupBy, HealthRow, LogPage, LogRecord, Metric, ServicesResponse, StatsRow, TimeseriesSeries } from './contract';

export interface Filters {
  services?: string[];
  actions?: string[];
  statuses?: string[];
}

/** Keyset cursor: the (created_at, id) of the last row of the previous page. */
export interface Cursor {
  createdAt: string;
  id: string;
}

export type HealthNumbers = Omit<HealthRow, 'state'>;

export declare function queryStats(db: ClientBase, p: { from: Date; to: Date; interval: 'hour' | 'day'; filters: Filters }): Promise<StatsRow[]>;
export declare function queryHealth(db: ClientBase, p: { from: Date; to: Date }): Promise<HealthNumbers[]>;
export declare function queryTimeseries(
  db: ClientBase,
  p: { metric: Metric; from: Date; to: Date; intervalMs: number; groupBy?: GroupBy; filters: Filters },
): Promise<TimeseriesSeries[]>;
export declare function queryFailures(
  db: ClientBase,
  p: { limit: number; before?: Cursor; from?: Date; to?: Date; filters: Filters; entityType?: string; entityId?: string },
): Promise<LogPage>;
export declare function queryLogs(
  db: ClientBase,
  p: { limit: number; before?: Cursor; filters: Filters; entityType?: string; entityId?: string },
): Promise<LogPage>;
export declare function queryLog(db: ClientBase, id: string): Promise<LogRecord | null>;
export declare function queryServices(db: ClientBase): Promise<ServicesResponse['services']>;
