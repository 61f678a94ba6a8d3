/**
 * Server-side generator of realistic integration_logs rows (seeded, so every run and both schemas
 * get the same rows): five services with their own action mix and latency, failure bursts (an hour
 * of a service failing ~40 % of calls), long-tail latency (lognormal plus rare 10× outliers and
 * 30 s timeouts on failures), half of the calls tied to one of 50k leads/contacts.
 * Rows are spread over `days` ending now, in time order (as they arrive in production), with UUIDv7
 * ids as the recorder writes them.
 */
export const STAGING_TABLE = 'bench_rows';

export function generateSql(rows: number, days: number, seed = 0.42): string[] {
  return [
    `SELECT setseed(${seed})`,
    `DROP TABLE IF EXISTS ${STAGING_TABLE}`,
    `CREATE UNLOGGED TABLE ${STAGING_TABLE} AS
     WITH base AS (
       SELECT g,
              now() - make_interval(days => ${days}) + (g::float8 / ${rows}) * make_interval(days => ${days})
                + random() * interval '1 second' AS created_at,
              random() AS u_service, random() AS u_action, random() AS u_status, random() AS u_lat1, random() AS u_lat2,
              random() AS u_tail, random() AS u_entity, random() AS u_retry
       FROM generate_series(1, ${rows}) g
     ), svc AS (
       SELECT b.*,
              CASE WHEN u_service < 0.30 THEN 'amocrm' WHEN u_service < 0.55 THEN 'resend' WHEN u_service < 0.75 THEN 'telegram'
                   WHEN u_service < 0.85 THEN 'mobizon' ELSE 'whapi' END AS service_name
       FROM base b
     ), act AS (
       SELECT s.*,
              CASE service_name
                WHEN 'amocrm' THEN CASE WHEN u_action < 0.6 THEN 'sync_lead' WHEN u_action < 0.9 THEN 'update_contact' ELSE 'test_connection' END
                WHEN 'resend' THEN CASE WHEN u_action < 0.9 THEN 'send_email' ELSE 'get_email_status' END
                WHEN 'telegram' THEN CASE WHEN u_action < 0.8 THEN 'send_message' ELSE 'edit_message' END
                WHEN 'mobizon' THEN 'send_sms'
                ELSE CASE WHEN u_action < 0.85 THEN 'send_message' ELSE 'check_contact' END
              END AS action,
              -- failure bursts: a deterministic ~3 % of (service, hour) pairs fail ~40 % of calls
              CASE WHEN ('x' || substr(md5(service_name || date_trunc('hour', created_at)::text), 1, 7))::bit(28)::int % 100 < 3
                   THEN 0.40 ELSE 0.02 END AS p_fail,
              CASE service_name WHEN 'amocrm' THEN 300 WHEN 'resend' THEN 150 WHEN 'telegram' THEN 80 WHEN 'mobizon' THEN 400 ELSE 250 END AS median_ms
       FROM svc s
     )
     SELECT -- a UUIDv7 as the recorder makes it (src/recorder/ids.ts): 48-bit ms timestamp, version 7,
            -- then random bits (the variant bits of gen_random_uuid's v4 are the same), so the primary
            -- key is appended to at its right edge as users' keys are; both schemas get the same ids
            encode(set_byte(overlay(uuid_send(gen_random_uuid()) PLACING substring(int8send(floor(extract(epoch FROM created_at) * 1000)::bigint) FROM 3) FROM 1 FOR 6),
                            6, (get_byte(uuid_send(gen_random_uuid()), 6) & 15) | 112), 'hex')::uuid AS id,
            service_name, action,
            CASE WHEN u_status < p_fail THEN 'failed' WHEN u_status < p_fail + 0.01 THEN 'pending'
                 WHEN u_status < p_fail + 0.02 THEN 'retrying' ELSE 'success' END AS status,
            CASE WHEN u_entity < 0.5 THEN (CASE WHEN service_name = 'amocrm' THEN 'lead' ELSE 'contact' END) END AS related_entity_type,
            CASE WHEN u_entity < 0.5 THEN md5('entity' || floor(u_entity * 100000)::int)::uuid END AS related_entity_id,
            CASE WHEN u_status < p_fail THEN 'upstream error ' || (floor(u_retry * 5))::int END AS error_message,
            CASE WHEN u_status < p_fail THEN (ARRAY['E_TIMEOUT', 'E_429', 'E_500', 'E_502', 'E_AUTH'])[1 + floor(u_retry * 5)::int] END AS error_code,
            CASE WHEN u_status < p_fail AND u_tail < 0.2 THEN 30000
                 ELSE least(120000, greatest(1, (median_ms * exp(0.6 * sqrt(-2 * ln(u_lat1 + 1e-12)) * cos(2 * pi() * u_lat2))
                        * CASE WHEN u_tail > 0.99 THEN 10 ELSE 1 END)::int)) END AS duration_ms,
            CASE WHEN u_retry < 0.9 THEN 0 WHEN u_retry < 0.98 THEN 1 ELSE 2 END AS retry_count,
            created_at, created_at AS updated_at
     FROM act
     ORDER BY created_at`,
  ];
}

export const COLUMNS = 'service_name, action, status, related_entity_type, related_entity_id, error_message, error_code, duration_ms, retry_count, created_at, updated_at';
/** COLUMNS and the generated UUIDv7 id: what the load copies from the staging table into both schemas. */
export const LOAD_COLUMNS = `id, ${COLUMNS}`;

const HIST_KEY = 'bucket, service_name, action, status';

/** INSERT INTO a histogram table of migration 017 the (key…, bin, n) rows of `rows`, one row per key. */
function packHist(tbl: string, keys: string, rows: string): string {
  return `INSERT INTO ${tbl} (${keys}, bins, ns)
SELECT ${keys}, array_agg(bin::smallint ORDER BY bin), array_agg(n::integer ORDER BY bin)
FROM (${rows}) g GROUP BY ${keys} ORDER BY ${keys}`;
}

/** The stored histogram rows of `tbl` expanded to (bucket, `others`…, bin, n), summed per bin under `bucket`. */
function histRows(tbl: string, bucket: string, others: string): string {
  return `SELECT ${bucket} AS bucket, ${others}, u.bin, sum(u.n) AS n
     FROM ${tbl} h CROSS JOIN LATERAL integration_hist_bins(h.bins, h.ns) u GROUP BY 1, ${others}, u.bin`;
}

/**
 * Rollups rebuilt from raw rows in one pass per level (what migrations/004_rollups.sql's triggers
 * would have written row by row). BENCH_FAST_LOAD=1 loads raw rows with triggers off and then runs these, for runs too
 * large to load through the triggers at low density in the time available; the result is the same
 * rollups (the tests prove both equal the raw aggregation). Rows are written in bucket order, as
 * trigger upkeep lays them down when traffic arrives in time order; in hash-aggregate order one
 * hour's rows were scattered over thousands of pages (24 h of per-service histograms: 4k rows on
 * 2.5k pages, 7 ms to read instead of 3 ms at 1M).
 */
export const ROLLUP_BACKFILL_SQL: string[] = [
  // minutes only within the minute window (migration 015), as the triggers keep them
  `INSERT INTO integration_rollup_minute
SELECT date_bin('1 minute'::interval, created_at, '1970-01-01 00:00:00+00'::timestamptz), service_name, action, status,
       count(*), count(duration_ms), coalesce(sum(duration_ms), 0), min(duration_ms), max(duration_ms),
       coalesce(sum(retry_count), 0), count(*) FILTER (WHERE retry_count > 0)
FROM integration_logs WHERE created_at >= integration_minute_kept_from() GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
  `INSERT INTO integration_rollup_hour
SELECT date_bin('1 hour'::interval, created_at, '1970-01-01 00:00:00+00'::timestamptz), service_name, action, status,
       count(*), count(duration_ms), coalesce(sum(duration_ms), 0), min(duration_ms), max(duration_ms),
       coalesce(sum(retry_count), 0), count(*) FILTER (WHERE retry_count > 0)
FROM integration_logs GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
  `INSERT INTO integration_rollup_day
SELECT date_bin('1 day'::interval, bucket, '1970-01-01 00:00:00+00'::timestamptz), service_name, action, status,
       sum(calls), sum(duration_n), sum(duration_sum), min(duration_min), max(duration_max), sum(retry_sum), sum(retried)
FROM integration_rollup_hour GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
  // histograms: one row per key, the occupied bins ascending (migration 017)
  packHist(
    'integration_latency_hist_hour',
    HIST_KEY,
    `SELECT date_bin('1 hour'::interval, created_at, '1970-01-01 00:00:00+00'::timestamptz) AS bucket, service_name, action, status,
            integration_latency_bin(duration_ms) AS bin, count(*) AS n
     FROM integration_logs WHERE duration_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5`,
  ),
  packHist(
    'integration_latency_hist_day',
    HIST_KEY,
    histRows('integration_latency_hist_hour', `date_bin('1 day'::interval, h.bucket, '1970-01-01 00:00:00+00'::timestamptz)`, 'h.service_name, h.action, h.status'),
  ),
  `INSERT INTO integration_service_actions (service_name, action) SELECT DISTINCT service_name, action FROM integration_logs`,
  // per-service histograms from the full ones
  packHist('integration_latency_hist_service_hour', 'bucket, service_name', histRows('integration_latency_hist_hour', 'h.bucket', 'h.service_name')),
  packHist('integration_latency_hist_service_day', 'bucket, service_name', histRows('integration_latency_hist_day', 'h.bucket', 'h.service_name')),
  // per-service call and failure counts from the full rollups
  `INSERT INTO integration_rollup_service_hour SELECT bucket, service_name, sum(calls), coalesce(sum(calls) FILTER (WHERE status = 'failed'), 0) FROM integration_rollup_hour GROUP BY 1, 2 ORDER BY 1, 2`,
  `INSERT INTO integration_rollup_service_day SELECT bucket, service_name, sum(calls), coalesce(sum(calls) FILTER (WHERE status = 'failed'), 0) FROM integration_rollup_day GROUP BY 1, 2 ORDER BY 1, 2`,
  // each (service, action, day)'s slowest calls (migration 019), as its triggers keep them
  `INSERT INTO integration_slowest_day (bucket, service_name, action, duration_ms, created_at, id)
SELECT r.bucket, r.service_name, r.action, r.duration_ms, r.created_at, r.id
FROM (SELECT date_bin('1 day'::interval, created_at, '1970-01-01 00:00:00+00'::timestamptz) AS bucket, service_name, action, duration_ms, created_at, id,
             row_number() OVER (PARTITION BY service_name, action, date_bin('1 day'::interval, created_at, '1970-01-01 00:00:00+00'::timestamptz)
                                ORDER BY duration_ms DESC, created_at DESC, id DESC) AS rank
      FROM integration_logs WHERE duration_ms IS NOT NULL) r
WHERE r.rank <= integration_slowest_kept() ORDER BY r.service_name, r.action, r.created_at`,
];
