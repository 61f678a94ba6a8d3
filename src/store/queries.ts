/**
 * The API's one query module: every SQL statement the API runs lives here, with bind parameters
 * only. Each function takes the request's transaction client (already `SET LOCAL ROLE` to the
 * caller's role, so Postgres RLS decides what it sees).
 *
 * Aggregates (stats, health, timeseries) go through the SQL functions integration_range_agg /
 * integration_hist_range (see docs/schema.md): they combine day/hour/minute rollups for the aligned
 * interior of [from, to) with raw rows only for the unaligned edges, so every number equals the same
 * aggregation over raw rows. Lists (failures, logs) read raw rows by keyset on (created_at, id).
 * Buckets in a time zone other than UTC: the same functions with the zone as fourth argument, which
 * compose each of the zone's hours or days from the rollup levels that fit inside it (their zone
 * path, since 009; the *_zone names are only kept for saved dashboards).
 */
import crypto from 'node:crypto';
import type { ClientBase } from 'pg';
import type { GroupBy, HealthRow, LogRecord, Metric, ServicesResponse, StatsRow, TimeseriesSeries } from '../contract';
import { bucketZone } from './time-zone';

export interface Filters {
  services?: string[];
  actions?: string[];
  statuses?: string[];
}

/** Keyset cursor: the (created_at, id) of the last row of the previous page. */
export interface Cursor {
  /** RFC 3339 with microseconds, exactly as returned in LogRecord.created_at. */
  createdAt: string;
  id: string;
}

export type HealthNumbers = Omit<HealthRow, 'state'>;

/**
 * A page of log rows. `next` is the cursor of the next page (null on the last page); the API turns
 * it into its opaque `next_before` with src/api/cursor.ts.
 */
export interface LogPageResult {
  rows: LogRecord[];
  next: Cursor | null;
}

/** null or empty = no filter. */
const list = (xs: string[] | undefined): string[] | null => (xs && xs.length > 0 ? xs : null);
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const int = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const iso = (v: unknown): string | null => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v));

/** Timestamps of log rows keep their microseconds (a JS Date would drop them and break cursors). */
const TS = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export async function queryStats(db: ClientBase, p: { from: Date; to: Date; interval: 'hour' | 'day'; timeZone?: string; filters: Filters }): Promise<StatsRow[]> {
  // The zone goes to the reader as it is: the reader decides whether its buckets are UTC's.
  // The failure rate is computed over all statuses of a service/action/bucket before the status
  // filter applies, so filtering to status=failed still shows the real rate.
  const { rows } = await db.query(
    `SELECT service_name, action, status, bucket, calls, avg_duration_ms, duration_min, duration_max,
            failed_count, success_count, failure_rate_percent
     FROM (
       SELECT r.service_name, r.action, r.status, r.bucket, r.calls,
              r.duration_sum::numeric / NULLIF(r.duration_n, 0) AS avg_duration_ms,
              r.duration_min, r.duration_max,
              CASE WHEN r.status = 'failed' THEN r.calls ELSE 0 END AS failed_count,
              CASE WHEN r.status = 'success' THEN r.calls ELSE 0 END AS success_count,
              round(100 * sum(CASE WHEN r.status = 'failed' THEN r.calls ELSE 0 END) OVER w::numeric
                    / NULLIF(sum(r.calls) OVER w, 0), 2) AS failure_rate_percent
       FROM integration_range_agg($1::timestamptz, $2::timestamptz, $3::interval, $7::text) r
       WHERE ($4::text[] IS NULL OR r.service_name = ANY ($4::text[]))
         AND ($5::text[] IS NULL OR r.action = ANY ($5::text[]))
       WINDOW w AS (PARTITION BY r.service_name, r.action, r.bucket)
     ) x
     WHERE ($6::text[] IS NULL OR status = ANY ($6::text[]))
     ORDER BY bucket DESC, service_name, action, status`,
    [p.from, p.to, p.interval === 'hour' ? '1 hour' : '1 day', list(p.filters.services), list(p.filters.actions), list(p.filters.statuses), p.timeZone ?? 'UTC'],
  );
  return rows.map((r) => ({
    service_name: r.service_name,
    action: r.action,
    status: r.status,
    bucket: iso(r.bucket)!,
    count: int(r.calls),
    avg_duration_ms: num(r.avg_duration_ms),
    min_duration_ms: num(r.duration_min),
    max_duration_ms: num(r.duration_max),
    failed_count: int(r.failed_count),
    success_count: int(r.success_count),
    failure_rate_percent: Number(r.failure_rate_percent ?? 0),
  }));
}

export async function queryHealth(db: ClientBase, p: { from: Date; to: Date }): Promise<HealthNumbers[]> {
  // Services: every service seen in [from, to), plus every known one (so a service that went
  // silent shows up with zero calls rather than disappearing). last_call_at / last_failure_at are
  // the newest within the window (null when none), found through the rollups down to one minute of
  // raw rows (integration_last_call_at).
  const { rows } = await db.query(
    `WITH a AS (
       SELECT service_name, sum(calls) AS total,
              sum(calls) FILTER (WHERE status = 'success') AS success_count,
              sum(calls) FILTER (WHERE status = 'failed') AS failed_count,
              sum(duration_sum) AS dsum, sum(duration_n) AS dn
       FROM integration_range_agg($1::timestamptz, $2::timestamptz, NULL) GROUP BY service_name
     ), h AS (
       SELECT service_name, bin, n
       FROM integration_hist_range_service($1::timestamptz, $2::timestamptz, NULL)
     ), p AS (
       SELECT service_name, integration_hist_percentile(array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin), 0.95) AS p95
       FROM h GROUP BY service_name
     ), s AS (
       SELECT service_name FROM a
       UNION
       SELECT service_name FROM integration_known_services()
     )
     SELECT s.service_name, coalesce(a.total, 0) AS total, coalesce(a.success_count, 0) AS success_count,
            coalesce(a.failed_count, 0) AS failed_count,
            coalesce(round(100 * coalesce(a.failed_count, 0)::numeric / NULLIF(a.total, 0), 2), 0) AS failure_rate_percent,
            a.dsum::numeric / NULLIF(a.dn, 0) AS avg_duration_ms, p.p95,
            integration_last_call_at(s.service_name, $1::timestamptz, $2::timestamptz, false) AS last_call_at,
            integration_last_call_at(s.service_name, $1::timestamptz, $2::timestamptz, true) AS last_failure_at
     FROM s LEFT JOIN a USING (service_name) LEFT JOIN p USING (service_name)
     ORDER BY s.service_name`,
    [p.from, p.to],
  );
  return rows.map((r) => ({
    service_name: r.service_name,
    total_requests: int(r.total),
    success_count: int(r.success_count),
    failed_count: int(r.failed_count),
    failure_rate_percent: Number(r.failure_rate_percent),
    avg_duration_ms: num(r.avg_duration_ms),
    p95_duration_ms: num(r.p95),
    last_call_at: iso(r.last_call_at),
    last_failure_at: iso(r.last_failure_at),
  }));
}

const GROUP_COLUMN: Record<GroupBy, string> = { service: 'service_name', action: 'action', status: 'status' };
const PERCENTILE: Partial<Record<Metric, number>> = { latency_p50: 0.5, latency_p95: 0.95, latency_p99: 0.99 };
/** Beyond this many buckets, empty buckets are not filled in (the response would only grow). */
const MAX_FILLED_BUCKETS = 20_000;

export async function queryTimeseries(
  db: ClientBase,
  p: { metric: Metric; from: Date; to: Date; intervalMs: number; timeZone?: string; groupBy?: GroupBy; filters: Filters },
): Promise<TimeseriesSeries[]> {
  if (!Number.isInteger(p.intervalMs) || p.intervalMs < 1000 || p.intervalMs % 1000 !== 0) {
    throw new RangeError(`interval must be a whole number of seconds, at least 1 s (got ${p.intervalMs} ms)`);
  }
  const widthSeconds = p.intervalMs / 1000;
  const zone = bucketZone(p.timeZone, p.intervalMs);
  // The range functions, UTC-aligned or in the zone ($7), with buckets of $3 seconds.
  const fn = (name: string) => `${name}($1::timestamptz, $2::timestamptz, make_interval(secs => $3::float8), ${zone ? '$7::text' : `'UTC'`})`;
  // The group column is chosen from a fixed map, never from input text.
  const g = p.groupBy ? `r.${GROUP_COLUMN[p.groupBy]}` : `''::text`;
  const filters = `($4::text[] IS NULL OR r.service_name = ANY ($4::text[]))
         AND ($5::text[] IS NULL OR r.action = ANY ($5::text[]))
         AND ($6::text[] IS NULL OR r.status = ANY ($6::text[]))`;
  const params: unknown[] = [p.from, p.to, widthSeconds, list(p.filters.services), list(p.filters.actions), list(p.filters.statuses)];
  if (zone) params.push(zone);
  const q = PERCENTILE[p.metric];
  let sql: string;
  if (q !== undefined) {
    // Not split by action or status: the per-service histograms hold fewer rows (at 10M calls 2x per
    // hour, 3.8x per day).
    const perService = (!p.groupBy || p.groupBy === 'service') && !list(p.filters.actions) && !list(p.filters.statuses);
    if (perService && p.groupBy === 'service') {
      // One series per service: the dashboards' function (repeatable/07_percentile_series.sql), which
      // reads whole days straight from the per-service day histograms and sub-hour buckets from raw
      // rows in one sort; the same answer as merging the histogram rows here (its tests).
      sql = `SELECT r.service_name AS grp, r.bucket, r.value
             FROM (SELECT s.bucket, s.service_name, NULL::text AS action, NULL::text AS status, s.value
                   FROM integration_hist_percentile_series_service_zone($1::timestamptz, $2::timestamptz, make_interval(secs => $3::float8),
                                                                        $${params.length + 1}::float8, ${zone ? '$7::text' : `'UTC'`}) s) r
             WHERE ${filters}
             ORDER BY 1, 2`;
    } else {
      const source = perService
        ? `(SELECT s.bucket, s.service_name, NULL::text AS action, NULL::text AS status, s.bin, s.n
            FROM ${fn('integration_hist_range_service')} s)`
        : fn('integration_hist_range');
      sql = `SELECT grp, bucket, integration_hist_percentile(array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin), $${params.length + 1}::float8) AS value
             FROM (
               SELECT ${g} AS grp, r.bucket, r.bin, sum(r.n)::bigint AS n
               FROM ${source} r
               WHERE ${filters}
               GROUP BY 1, 2, 3
             ) h
             GROUP BY grp, bucket ORDER BY grp, bucket`;
    }
    params.push(q);
  } else {
    const value =
      p.metric === 'volume'
        ? 'sum(r.calls)'
        : p.metric === 'failure_rate'
          ? `round(100 * sum(r.failed)::numeric / NULLIF(sum(r.calls), 0), 2)`
          : 'sum(r.duration_sum)::numeric / NULLIF(sum(r.duration_n), 0)';
    // Volume and failure rate not split by action or status: the per-service counts hold
    // actions × statuses fewer rows.
    const perService = p.metric !== 'latency_avg' && (!p.groupBy || p.groupBy === 'service') && !list(p.filters.actions) && !list(p.filters.statuses);
    const source = perService
      ? `(SELECT s.bucket, s.service_name, NULL::text AS action, NULL::text AS status, s.calls, s.failed
          FROM ${fn('integration_range_agg_service')} s)`
      : `(SELECT a.*, CASE WHEN a.status = 'failed' THEN a.calls ELSE 0 END AS failed
          FROM ${fn('integration_range_agg')} a)`;
    sql = `SELECT ${g} AS grp, r.bucket, ${value} AS value
           FROM ${source} r
           WHERE ${filters}
           GROUP BY 1, 2 ORDER BY 1, 2`;
  }
  const { rows } = await db.query(sql, params);

  const series = new Map<string, Map<number, number | null>>();
  for (const r of rows) {
    const key = String(r.grp);
    if (!series.has(key)) series.set(key, new Map());
    const v = r.value === null ? null : Number(r.value);
    series.get(key)!.set((r.bucket as Date).getTime(), p.metric === 'failure_rate' && v === null ? 0 : v);
  }
  if (!p.groupBy && series.size === 0) series.set('', new Map());

  // Every bucket of [from, to), aligned to the epoch (or the zone's wall clock), so graphs show
  // gaps as zero volume / no value.
  const first = Math.floor(p.from.getTime() / p.intervalMs) * p.intervalMs;
  const count = Math.max(0, Math.ceil((p.to.getTime() - first) / p.intervalMs));
  let starts: number[] | null = null;
  if (count <= MAX_FILLED_BUCKETS) {
    starts = zone ? await zoneBucketStarts(db, p.from, p.to, widthSeconds, zone) : Array.from({ length: count }, (_, i) => first + i * p.intervalMs);
  }
  const fill = p.metric === 'volume' ? 0 : null;
  const out: TimeseriesSeries[] = [];
  for (const [key, points] of series) {
    let pts: Array<[number, number | null]>;
    if (starts) {
      pts = starts.map((t) => [t, points.has(t) ? points.get(t)! : fill]);
    } else {
      pts = [...points.entries()].sort((a, b) => a[0] - b[0]);
    }
    out.push({ labels: p.groupBy ? { [p.groupBy]: key } : {}, points: pts });
  }
  return out;
}

/** The starts (epoch ms) of every bucket of [from, to) on the zone's wall clock, in order. */
async function zoneBucketStarts(db: ClientBase, from: Date, to: Date, widthSeconds: number, zone: string): Promise<number[]> {
  const { rows } = await db.query(`SELECT bucket FROM integration_zone_buckets($1::timestamptz, $2::timestamptz, make_interval(secs => $3::float8), $4::text)`, [from, to, widthSeconds, zone]);
  return rows.map((r) => (r.bucket as Date).getTime());
}

const LOG_COLUMNS = `id::text AS id, service_name, action, status, related_entity_type, related_entity_id::text AS related_entity_id,
  request_payload, response_payload, error_message, error_code, duration_ms, retry_count,
  ${TS('created_at')} AS created_at, ${TS('updated_at')} AS updated_at`;

function toLogRecord(r: Record<string, unknown>): LogRecord {
  return {
    id: r.id as string,
    service_name: r.service_name as string,
    action: r.action as string,
    status: r.status as string,
    related_entity_type: (r.related_entity_type as string | null) ?? null,
    related_entity_id: (r.related_entity_id as string | null) ?? null,
    request_payload: r.request_payload ?? null,
    response_payload: r.response_payload ?? null,
    error_message: (r.error_message as string | null) ?? null,
    error_code: (r.error_code as string | null) ?? null,
    duration_ms: r.duration_ms === null || r.duration_ms === undefined ? null : Number(r.duration_ms),
    retry_count: r.retry_count === null || r.retry_count === undefined ? null : Number(r.retry_count),
    created_at: r.created_at as string,
    updated_at: (r.updated_at as string | null) ?? null,
  };
}

/**
 * A named prepared statement for a fixed SQL text: Postgres plans it once per connection and can
 * reuse a generic plan. Planning a query that no time bound prunes covers every partition and
 * costs more than running it (entity drill-down, 1M rows: 3.3 ms planning, 0.6 ms execution).
 */
function prepared(text: string, values: unknown[]) {
  return { name: `intmon_${crypto.createHash('sha1').update(text).digest('hex').slice(0, 16)}`, text, values };
}

/**
 * Newest first by (created_at, id), one row more than asked to know whether a next page exists.
 * Only the conditions in use are in the SQL text (no `$n IS NULL OR …`), so a cached plan keeps
 * using the index that fits. Failures come in that order from idx_integration_logs_failed and an
 * entity's calls are few; any other list merges each known service's newest rows, read in order
 * from idx_integration_logs_service_name (migration 018: created_at alone has only a BRIN, which
 * finds a range's pages but gives no order).
 */
async function logPage(
  db: ClientBase,
  p: { limit: number; before?: Cursor; from?: Date; to?: Date; filters: Filters; entityType?: string; entityId?: string; failedOnly: boolean },
): Promise<LogPageResult> {
  const limit = Math.max(1, Math.min(1000, Math.floor(p.limit)));
  const values: unknown[] = [];
  const arg = (v: unknown, type: string) => {
    values.push(v);
    return `$${values.length}::${type}`;
  };
  const where: string[] = [];
  if (p.failedOnly) where.push(`l.status = 'failed'`);
  if (p.before) where.push(`(l.created_at, l.id) < (${arg(p.before.createdAt, 'timestamptz')}, ${arg(p.before.id, 'uuid')})`);
  if (p.from) where.push(`l.created_at >= ${arg(p.from, 'timestamptz')}`);
  if (p.to) where.push(`l.created_at < ${arg(p.to, 'timestamptz')}`);
  const services = list(p.filters.services);
  const perService = !p.failedOnly && p.entityId === undefined;
  if (services && !perService) where.push(`l.service_name = ANY (${arg(services, 'text[]')})`);
  const actions = list(p.filters.actions);
  if (actions) where.push(`l.action = ANY (${arg(actions, 'text[]')})`);
  const statuses = list(p.filters.statuses);
  if (statuses) where.push(`l.status = ANY (${arg(statuses, 'text[]')})`);
  if (p.entityType !== undefined) where.push(`l.related_entity_type = ${arg(p.entityType, 'text')} AND l.related_entity_id IS NOT NULL`);
  if (p.entityId !== undefined) where.push(`l.related_entity_id = ${arg(p.entityId, 'uuid')}`);
  const pageRows = arg(limit + 1, 'integer');
  // qualified: the bare names would sort by the text output columns of the same name
  const order = 'ORDER BY l.created_at DESC, l.id DESC';
  const source = perService
    ? `(SELECT DISTINCT s.service_name AS known FROM integration_service_actions s
           ${services ? `WHERE s.service_name = ANY (${arg(services, 'text[]')})` : ''}) k
     CROSS JOIN LATERAL (
       SELECT * FROM integration_logs l
       WHERE ${['l.service_name = k.known', ...where].join('\n         AND ')}
       ${order}
       LIMIT ${pageRows}) l`
    : `integration_logs l
     ${where.length ? `WHERE ${where.join('\n       AND ')}` : ''}`;
  const text = `SELECT ${LOG_COLUMNS}
     FROM ${source}
     ${order}
     LIMIT ${pageRows}`;
  const { rows } = await db.query(prepared(text, values));
  const page = rows.slice(0, limit).map(toLogRecord);
  const last = page[page.length - 1];
  const next = rows.length > limit && last ? { createdAt: last.created_at, id: last.id } : null;
  return { rows: page, next };
}

export async function queryFailures(db: ClientBase, p: { limit: number; before?: Cursor; from?: Date; to?: Date; filters: Filters; entityType?: string; entityId?: string }): Promise<LogPageResult> {
  return logPage(db, { ...p, failedOnly: true });
}

export async function queryLogs(db: ClientBase, p: { limit: number; before?: Cursor; filters: Filters; entityType?: string; entityId?: string }): Promise<LogPageResult> {
  return logPage(db, { ...p, failedOnly: false });
}

export async function queryLog(db: ClientBase, id: string): Promise<LogRecord | null> {
  const { rows } = await db.query(prepared(`SELECT ${LOG_COLUMNS} FROM integration_logs WHERE id = $1::uuid LIMIT 1`, [id]));
  return rows[0] ? toLogRecord(rows[0]) : null;
}

export async function queryServices(db: ClientBase): Promise<ServicesResponse['services']> {
  const { rows } = await db.query(
    `SELECT service_name, array_agg(action ORDER BY action) AS actions
     FROM integration_known_services()
     GROUP BY service_name ORDER BY service_name`,
  );
  return rows.map((r) => ({ service_name: r.service_name as string, actions: r.actions as string[] }));
}

/** Readiness: the database answers a statement (no table, no role: any login may run it). */
export async function pingDatabase(db: ClientBase): Promise<void> {
  await db.query('SELECT 1');
}

/**
 * Day zones (docs/schema.md "Time zones"): zones whose days are kept whole, so day reads in them
 * cost what UTC's do. Adding, removing and listing are for operators (the owner, service_role);
 * whether a zone is kept any reader may ask.
 */
export interface DayZone {
  zone: string;
  /** Local days from here on are read whole; null while a backfill has not finished. */
  completeFrom: string | null;
  addedAt: string;
  dayRows: number;
}

/** Whether `zone`'s days are kept whole and complete (names compare case-insensitively). */
export async function isDayZone(db: ClientBase, zone: string): Promise<boolean> {
  const { rows } = await db.query('SELECT EXISTS (SELECT 1 FROM integration_day_zone($1)) AS kept', [zone]);
  return rows[0].kept === true;
}

/** Keeps `zone`'s days (backfilled now); its stored name, or null for UTC and its aliases. Unknown zone: 22023. */
export async function addDayZone(db: ClientBase, zone: string): Promise<string | null> {
  const { rows } = await db.query('SELECT integration_add_day_zone($1) AS zone', [zone]);
  return (rows[0].zone as string | null) ?? null;
}

/** Stops keeping `zone`'s days; false when it was not kept. */
export async function removeDayZone(db: ClientBase, zone: string): Promise<boolean> {
  const { rows } = await db.query('SELECT integration_remove_day_zone($1) AS removed', [zone]);
  return rows[0].removed === true;
}

export async function listDayZones(db: ClientBase): Promise<DayZone[]> {
  const { rows } = await db.query('SELECT zone, complete_from, added_at, day_rows FROM integration_day_zones()');
  return rows.map((r) => ({ zone: r.zone as string, completeFrom: iso(r.complete_from), addedAt: iso(r.added_at)!, dayRows: int(r.day_rows) }));
}
