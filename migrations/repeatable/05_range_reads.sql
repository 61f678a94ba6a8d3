-- Exact range reads over rollups and raw edges, in UTC buckets or a time zone's (first created by
-- 004; bounds as 009 left them, histogram readers as 007 left them; the zone statements were 009's
-- *_zone functions, 06_zone_reads.sql, until each read became one function with the zone a parameter).

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- ---- range reads ---------------------------------------------------------------------------------
/**
 * How [p_from, p_to) splits across levels for buckets of p_width (NULL: one bucket):
 * day rollups cover [d_lo, d_hi), hour rollups [h_lo, d_lo) and [d_hi, h_hi), minute rollups
 * [m_lo, h_lo) and [h_hi, m_hi), raw rows [p_from, m_lo) and [m_hi, p_to). A level is used only
 * when p_width is a whole multiple of it (so each rollup bucket falls in one output bucket).
 * Empty pieces collapse onto a neighbouring bound so the nesting always holds. Minute pieces
 * starting before integration_minute_read_from() (the minute window, 015) are raw pieces.
 *
 * A plain SQL function, not plpgsql: a plpgsql version cost a function call per query (20 ms on a
 * cold session for compiling it, measurable on warm ones) and, being opaque to the planner, kept it
 * from seeing the bounds. STABLE (timestamptz ± interval is stable, and an IMMUTABLE function with
 * a stable body is not inlined), so it is inlined into its callers.
 * Days are a fixed 24 hours (`+ interval '24 hours'`, not '1 day'), whatever the session TimeZone.
 */
CREATE OR REPLACE FUNCTION integration_range_bounds(p_from timestamptz, p_to timestamptz, p_width interval)
RETURNS TABLE (m_lo timestamptz, m_hi timestamptz, h_lo timestamptz, h_hi timestamptz, d_lo timestamptz, d_hi timestamptz)
LANGUAGE sql STABLE
BEGIN ATOMIC
  -- a minute piece that starts before the minute window (015) is read from raw rows instead: the
  -- leading one [m_lo, h_lo) becomes part of the raw piece before it, the trailing one [h_hi, m_hi)
  -- part of the raw piece after it
  SELECT CASE WHEN m.lo < w.read_from THEN h.lo ELSE m.lo END, CASE WHEN h.hi < w.read_from THEN h.hi ELSE m.hi END,
         h.lo, h.hi, d.lo, d.hi
  FROM (SELECT integration_minute_read_from() AS read_from) w, (
    SELECT
      -- ceil/floor of the range ends to each level; infinite ends stay infinite
      CASE WHEN isfinite(p_from) THEN date_bin('1 minute'::interval, p_from - interval '1 microsecond', '1970-01-01 00:00:00+00'::timestamptz) + interval '1 minute' ELSE p_from END AS c_m,
      CASE WHEN isfinite(p_to) THEN date_bin('1 minute'::interval, p_to, '1970-01-01 00:00:00+00'::timestamptz) ELSE p_to END AS f_m,
      CASE WHEN isfinite(p_from) THEN date_bin('1 hour'::interval, p_from - interval '1 microsecond', '1970-01-01 00:00:00+00'::timestamptz) + interval '1 hour' ELSE p_from END AS c_h,
      CASE WHEN isfinite(p_to) THEN date_bin('1 hour'::interval, p_to, '1970-01-01 00:00:00+00'::timestamptz) ELSE p_to END AS f_h,
      CASE WHEN isfinite(p_from) THEN date_bin('1 day'::interval, p_from - interval '1 microsecond', '1970-01-01 00:00:00+00'::timestamptz) + interval '24 hours' ELSE p_from END AS c_d,
      CASE WHEN isfinite(p_to) THEN date_bin('1 day'::interval, p_to, '1970-01-01 00:00:00+00'::timestamptz) ELSE p_to END AS f_d,
      p_from < p_to AND (p_width IS NULL OR (extract(epoch FROM p_width) > 0 AND extract(epoch FROM p_width) % 60 = 0)) AS use_m,
      p_from < p_to AND (p_width IS NULL OR (extract(epoch FROM p_width) > 0 AND extract(epoch FROM p_width) % 3600 = 0)) AS use_h,
      p_from < p_to AND (p_width IS NULL OR (extract(epoch FROM p_width) > 0 AND extract(epoch FROM p_width) % 86400 = 0)) AS use_d
  ) b
  CROSS JOIN LATERAL (SELECT CASE WHEN b.use_m AND b.c_m < b.f_m THEN b.c_m ELSE p_to END AS lo,
                             CASE WHEN b.use_m AND b.c_m < b.f_m THEN b.f_m ELSE p_to END AS hi) m
  CROSS JOIN LATERAL (SELECT CASE WHEN b.use_h AND b.c_h < b.f_h THEN b.c_h ELSE m.hi END AS lo,
                             CASE WHEN b.use_h AND b.c_h < b.f_h THEN b.f_h ELSE m.hi END AS hi) h
  CROSS JOIN LATERAL (SELECT CASE WHEN b.use_d AND b.c_d < b.f_d THEN b.c_d ELSE h.hi END AS lo,
                             CASE WHEN b.use_d AND b.c_d < b.f_d THEN b.f_d ELSE h.hi END AS hi) d;
END;

-- integration_range_agg(_service) / integration_hist_range(_service) are plpgsql so that their statements
-- are planned once per session and then run from a cached generic plan (plan_cache_mode =
-- force_generic_plan), whose raw-row partitions are pruned at executor startup from the bound
-- values. Measured (1M rows, 31 partitions, PG 17): as inlined SQL, integration_stats_hourly
-- planned in 64 ms and ran in 9 ms — planning the two raw-row branches means planning every
-- partition with all its indexes (and proving partial-index predicates against the bound
-- expressions) on every call. Parallel workers are off for them (starting workers cost ~75 ms, more
-- than the whole query). Filters on the result (service, action, status) are not pushed into the
-- rollup scans, which read at most a few thousand rollup rows anyway.
-- Every plpgsql function of ours that runs queries says SET jit = off: their statements carry huge
-- row estimates (generate_series over timestamps, lateral scans per piece) for a few hundred rows,
-- and a server with JIT (Debian's, Supabase's) compiled them with LLVM on every call: 1.8 s of JIT
-- for integration_zone_pieces' 6 rows (test/db/jit.test.ts, docs/scaling.md).

-- Each read is one function of (p_from, p_to, p_width, p_zone) with two static statements, each
-- planned and cached on its own: the UTC one (buckets date_bin'd from the epoch, whole UTC days in
-- one range scan, no labels) when p_width is NULL (one bucket labelled p_from, whatever the zone)
-- or p_zone's buckets of that width are UTC's (integration_zone_same_as_utc: UTC itself, or a width
-- dividing 15 minutes); else the zone one, with buckets of zone p_zone (integration_zone_bucket):
-- [p_from, p_to) split into pieces of one rollup level inside one bucket (integration_zone_pieces;
-- integration_zone_day_pieces adds the day zones' own days and hours, 011/013), each piece one
-- index range scan of its level. An unknown zone is 22023 (from date_trunc) on the zone path and,
-- checked on its own, with p_width NULL, as it was when the zone path had functions of its own;
-- where the buckets are UTC's the zone is not looked at.
-- Before, each read was two functions, this one (p_from, p_to, p_width) and a *_zone one in
-- 06_zone_reads.sql that handed over to it; those names stay there as wrappers for saved dashboards.
-- The wrappers (SQL bodies) and the views of 08_views.sql depend on these four: a later change of
-- their arguments or result must drop and re-create those too.
-- The 3-argument signatures are dropped first: beside the 4-argument ones a 3-argument call would
-- be ambiguous. What depends on them: on a fresh database the views 005 created over
-- integration_range_agg (the repeatable files run after 005); those are dropped here and
-- 08_views.sql, changed together with this file, creates them again. Only views that depend on an
-- old signature, so re-applying this file later drops nothing that 08 would not re-create; a view
-- of the operator's own over one still stops the DROP, naming it. plpgsql callers are no dependants.
SET LOCAL client_min_messages = warning; -- the DROPs' "does not exist, skipping" once they are gone is nothing for the operator
DO $$
DECLARE
  v regclass;
BEGIN
  FOR v IN
    SELECT DISTINCT r.ev_class::regclass
    FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_proc'::regclass
      AND d.refobjid = ANY (ARRAY[to_regprocedure('integration_range_agg(timestamptz, timestamptz, interval)'),
                                  to_regprocedure('integration_range_agg_service(timestamptz, timestamptz, interval)'),
                                  to_regprocedure('integration_hist_range(timestamptz, timestamptz, interval)'),
                                  to_regprocedure('integration_hist_range_service(timestamptz, timestamptz, interval)')]::oid[])
      AND r.ev_class IN (to_regclass('integration_stats_hourly'), to_regclass('integration_stats_daily'))
  LOOP
    EXECUTE format('DROP VIEW %s', v);
  END LOOP;
END
$$;
DROP FUNCTION IF EXISTS integration_range_agg(timestamptz, timestamptz, interval);
DROP FUNCTION IF EXISTS integration_range_agg_service(timestamptz, timestamptz, interval);
DROP FUNCTION IF EXISTS integration_hist_range(timestamptz, timestamptz, interval);
DROP FUNCTION IF EXISTS integration_hist_range_service(timestamptz, timestamptz, interval);

/**
 * Exact per-bucket aggregates of integration_logs over [p_from, p_to), buckets p_width wide in zone
 * p_zone (UTC by default); p_width NULL: one bucket labelled p_from.
 */
CREATE OR REPLACE FUNCTION integration_range_agg(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL, p_zone text DEFAULT 'UTC')
RETURNS TABLE (bucket timestamptz, service_name text, action text, status text, calls bigint, duration_n bigint,
               duration_sum bigint, duration_min integer, duration_max integer, retry_sum bigint, retried bigint)
LANGUAGE plpgsql STABLE
SET jit = off
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  k record;
  pl "char"[];
  plo timestamptz[];
  phi timestamptz[];
  plab timestamptz[];
  dz text;
BEGIN
  IF integration_reads_utc(p_zone, p_width) THEN
    SELECT * INTO k FROM integration_range_bounds(p_from, p_to, p_width);
    RETURN QUERY
    SELECT CASE WHEN p_width IS NULL THEN p_from ELSE date_bin(p_width, x.b, '1970-01-01 00:00:00+00'::timestamptz) END,
           x.service_name, x.action, x.status,
           sum(x.calls)::bigint, sum(x.duration_n)::bigint, sum(x.duration_sum)::bigint, min(x.duration_min), max(x.duration_max),
           sum(x.retry_sum)::bigint, sum(x.retried)::bigint
    FROM (
      SELECT r.bucket AS b, r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum, r.duration_min, r.duration_max, r.retry_sum, r.retried
      FROM integration_rollup_day r WHERE r.bucket >= k.d_lo AND r.bucket < k.d_hi
      UNION ALL
      SELECT r.bucket, r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum, r.duration_min, r.duration_max, r.retry_sum, r.retried
      FROM integration_rollup_hour r WHERE r.bucket >= k.h_lo AND r.bucket < k.d_lo
      UNION ALL
      SELECT r.bucket, r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum, r.duration_min, r.duration_max, r.retry_sum, r.retried
      FROM integration_rollup_hour r WHERE r.bucket >= k.d_hi AND r.bucket < k.h_hi
      UNION ALL
      SELECT r.bucket, r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum, r.duration_min, r.duration_max, r.retry_sum, r.retried
      FROM integration_rollup_minute r WHERE r.bucket >= k.m_lo AND r.bucket < k.h_lo
      UNION ALL
      SELECT r.bucket, r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum, r.duration_min, r.duration_max, r.retry_sum, r.retried
      FROM integration_rollup_minute r WHERE r.bucket >= k.h_hi AND r.bucket < k.m_hi
      UNION ALL
      SELECT l.created_at, l.service_name, l.action, l.status, 1::bigint, (l.duration_ms IS NOT NULL)::integer::bigint,
             coalesce(l.duration_ms, 0)::bigint, l.duration_ms, l.duration_ms, coalesce(l.retry_count, 0)::bigint,
             (coalesce(l.retry_count, 0) > 0)::integer::bigint
      FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < k.m_lo
      UNION ALL
      SELECT l.created_at, l.service_name, l.action, l.status, 1::bigint, (l.duration_ms IS NOT NULL)::integer::bigint,
             coalesce(l.duration_ms, 0)::bigint, l.duration_ms, l.duration_ms, coalesce(l.retry_count, 0)::bigint,
             (coalesce(l.retry_count, 0) > 0)::integer::bigint
      FROM integration_logs l WHERE l.created_at >= k.m_hi AND l.created_at < p_to
    ) x
    GROUP BY 1, 2, 3, 4;
  ELSE
    SELECT array_agg(z.lvl), array_agg(z.lo), array_agg(z.hi), array_agg(z.label) INTO pl, plo, phi, plab
    FROM integration_zone_day_pieces(p_from, p_to, p_width, p_zone) z;
    IF 'Z' = ANY (pl) OR 'Y' = ANY (pl) THEN
      SELECT d.zone INTO dz FROM integration_day_zone(p_zone) d;
    END IF;
    RETURN QUERY
    WITH p AS MATERIALIZED (SELECT * FROM unnest(pl, plo, phi, plab) u(lvl, lo, hi, label))
    SELECT x.b, x.service_name, x.action, x.status,
           sum(x.calls)::bigint, sum(x.duration_n)::bigint, sum(x.duration_sum)::bigint, min(x.duration_min), max(x.duration_max),
           sum(x.retry_sum)::bigint, sum(x.retried)::bigint
    FROM (
      SELECT coalesce(p.label, r.bucket) AS b, r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum, r.duration_min, r.duration_max, r.retry_sum, r.retried
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_rollup_day r WHERE r.bucket >= p.lo AND r.bucket < p.hi) r WHERE p.lvl IN ('d', 'D')
      UNION ALL
      SELECT r.bucket, r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum, r.duration_min, r.duration_max, r.retry_sum, r.retried
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_rollup_zone_day r WHERE r.zone = dz AND r.bucket >= p.lo AND r.bucket < p.hi) r WHERE p.lvl = 'Z'
      UNION ALL
      SELECT r.bucket, r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum, r.duration_min, r.duration_max, r.retry_sum, r.retried
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_rollup_zone_hour r WHERE r.zone = dz AND r.bucket >= p.lo AND r.bucket < p.hi) r WHERE p.lvl = 'Y'
      UNION ALL
      SELECT coalesce(p.label, r.bucket), r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum, r.duration_min, r.duration_max, r.retry_sum, r.retried
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_rollup_hour r WHERE r.bucket >= p.lo AND r.bucket < p.hi) r WHERE p.lvl IN ('h', 'H')
      UNION ALL
      SELECT coalesce(p.label, r.bucket), r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum, r.duration_min, r.duration_max, r.retry_sum, r.retried
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_rollup_minute r WHERE r.bucket >= p.lo AND r.bucket < p.hi) r WHERE p.lvl IN ('m', 'M')
      UNION ALL
      SELECT coalesce(p.label, integration_zone_bucket(l.created_at, p_width, p_zone)), l.service_name, l.action, l.status, 1::bigint,
             (l.duration_ms IS NOT NULL)::integer::bigint, coalesce(l.duration_ms, 0)::bigint, l.duration_ms, l.duration_ms,
             coalesce(l.retry_count, 0)::bigint, (coalesce(l.retry_count, 0) > 0)::integer::bigint
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_logs l WHERE l.created_at >= p.lo AND l.created_at < p.hi) l WHERE p.lvl = 'r'
    ) x
    GROUP BY 1, 2, 3, 4;
  END IF;
END
$$;

/**
 * Exact per-bucket latency histograms (bins as integration_latency_bin) over [p_from, p_to), buckets
 * as integration_range_agg's (no minute histograms: in a zone, minute pieces read raw rows).
 */
CREATE OR REPLACE FUNCTION integration_hist_range(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL, p_zone text DEFAULT 'UTC')
RETURNS TABLE (bucket timestamptz, service_name text, action text, status text, bin integer, n bigint)
LANGUAGE plpgsql STABLE
SET jit = off
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  k record;
  pl "char"[];
  plo timestamptz[];
  phi timestamptz[];
  plab timestamptz[];
BEGIN
  IF integration_reads_utc(p_zone, p_width) THEN
    SELECT * INTO k FROM integration_range_bounds(p_from, p_to, p_width);
    RETURN QUERY
    SELECT CASE WHEN p_width IS NULL THEN p_from ELSE date_bin(p_width, x.b, '1970-01-01 00:00:00+00'::timestamptz) END,
           x.service_name, x.action, x.status, x.bin, sum(x.n)::bigint
    FROM (
      SELECT r.bucket AS b, r.service_name, r.action, r.status, u.bin, u.n
      FROM integration_latency_hist_day r CROSS JOIN LATERAL integration_hist_bins(r.bins, r.ns) u WHERE r.bucket >= k.d_lo AND r.bucket < k.d_hi
      UNION ALL
      SELECT r.bucket, r.service_name, r.action, r.status, u.bin, u.n
      FROM integration_latency_hist_hour r CROSS JOIN LATERAL integration_hist_bins(r.bins, r.ns) u WHERE r.bucket >= k.h_lo AND r.bucket < k.d_lo
      UNION ALL
      SELECT r.bucket, r.service_name, r.action, r.status, u.bin, u.n
      FROM integration_latency_hist_hour r CROSS JOIN LATERAL integration_hist_bins(r.bins, r.ns) u WHERE r.bucket >= k.d_hi AND r.bucket < k.h_hi
      UNION ALL
      SELECT l.created_at, l.service_name, l.action, l.status, integration_latency_bin(l.duration_ms), 1::bigint
      FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < k.h_lo AND l.duration_ms IS NOT NULL
      UNION ALL
      SELECT l.created_at, l.service_name, l.action, l.status, integration_latency_bin(l.duration_ms), 1::bigint
      FROM integration_logs l WHERE l.created_at >= k.h_hi AND l.created_at < p_to AND l.duration_ms IS NOT NULL
    ) x
    GROUP BY 1, 2, 3, 4, 5;
  ELSE
    SELECT array_agg(z.lvl), array_agg(z.lo), array_agg(z.hi), array_agg(z.label) INTO pl, plo, phi, plab
    FROM integration_zone_pieces(p_from, p_to, p_width, p_zone) z;
    RETURN QUERY
    WITH p AS MATERIALIZED (SELECT * FROM unnest(pl, plo, phi, plab) u(lvl, lo, hi, label))
    SELECT x.b, x.service_name, x.action, x.status, x.bin, sum(x.n)::bigint
    FROM (
      SELECT coalesce(p.label, r.bucket) AS b, r.service_name, r.action, r.status, u.bin, u.n
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_latency_hist_day r WHERE r.bucket >= p.lo AND r.bucket < p.hi) r
      CROSS JOIN LATERAL integration_hist_bins(r.bins, r.ns) u WHERE p.lvl IN ('d', 'D')
      UNION ALL
      SELECT coalesce(p.label, r.bucket), r.service_name, r.action, r.status, u.bin, u.n
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_latency_hist_hour r WHERE r.bucket >= p.lo AND r.bucket < p.hi) r
      CROSS JOIN LATERAL integration_hist_bins(r.bins, r.ns) u WHERE p.lvl IN ('h', 'H')
      UNION ALL
      SELECT coalesce(p.label, integration_zone_bucket(l.created_at, p_width, p_zone)), l.service_name, l.action, l.status,
             integration_latency_bin(l.duration_ms), 1::bigint
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_logs l WHERE l.created_at >= p.lo AND l.created_at < p.hi AND l.duration_ms IS NOT NULL) l
      WHERE p.lvl IN ('m', 'M', 'r')
    ) x
    GROUP BY 1, 2, 3, 4, 5;
  END IF;
END
$$;

/** integration_hist_range summed over action and status, reading the per-service levels. */
CREATE OR REPLACE FUNCTION integration_hist_range_service(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL, p_zone text DEFAULT 'UTC')
RETURNS TABLE (bucket timestamptz, service_name text, bin integer, n bigint)
LANGUAGE plpgsql STABLE
SET jit = off
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  k record;
  pl "char"[];
  plo timestamptz[];
  phi timestamptz[];
  plab timestamptz[];
BEGIN
  IF integration_reads_utc(p_zone, p_width) THEN
    SELECT * INTO k FROM integration_range_bounds(p_from, p_to, p_width);
    RETURN QUERY
    SELECT CASE WHEN p_width IS NULL THEN p_from ELSE date_bin(p_width, x.b, '1970-01-01 00:00:00+00'::timestamptz) END,
           x.service_name, x.bin, sum(x.n)::bigint
    FROM (
      SELECT r.bucket AS b, r.service_name, u.bin, u.n
      FROM integration_latency_hist_service_day r CROSS JOIN LATERAL integration_hist_bins(r.bins, r.ns) u WHERE r.bucket >= k.d_lo AND r.bucket < k.d_hi
      UNION ALL
      SELECT r.bucket, r.service_name, u.bin, u.n
      FROM integration_latency_hist_service_hour r CROSS JOIN LATERAL integration_hist_bins(r.bins, r.ns) u WHERE r.bucket >= k.h_lo AND r.bucket < k.d_lo
      UNION ALL
      SELECT r.bucket, r.service_name, u.bin, u.n
      FROM integration_latency_hist_service_hour r CROSS JOIN LATERAL integration_hist_bins(r.bins, r.ns) u WHERE r.bucket >= k.d_hi AND r.bucket < k.h_hi
      UNION ALL
      SELECT l.created_at, l.service_name, integration_latency_bin(l.duration_ms), 1::bigint
      FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < k.h_lo AND l.duration_ms IS NOT NULL
      UNION ALL
      SELECT l.created_at, l.service_name, integration_latency_bin(l.duration_ms), 1::bigint
      FROM integration_logs l WHERE l.created_at >= k.h_hi AND l.created_at < p_to AND l.duration_ms IS NOT NULL
    ) x
    GROUP BY 1, 2, 3;
  ELSE
    SELECT array_agg(z.lvl), array_agg(z.lo), array_agg(z.hi), array_agg(z.label) INTO pl, plo, phi, plab
    FROM integration_zone_pieces(p_from, p_to, p_width, p_zone) z;
    RETURN QUERY
    WITH p AS MATERIALIZED (SELECT * FROM unnest(pl, plo, phi, plab) u(lvl, lo, hi, label))
    SELECT x.b, x.service_name, x.bin, sum(x.n)::bigint
    FROM (
      SELECT coalesce(p.label, r.bucket) AS b, r.service_name, u.bin, u.n
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_latency_hist_service_day r WHERE r.bucket >= p.lo AND r.bucket < p.hi) r
      CROSS JOIN LATERAL integration_hist_bins(r.bins, r.ns) u WHERE p.lvl IN ('d', 'D')
      UNION ALL
      SELECT coalesce(p.label, r.bucket), r.service_name, u.bin, u.n
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_latency_hist_service_hour r WHERE r.bucket >= p.lo AND r.bucket < p.hi) r
      CROSS JOIN LATERAL integration_hist_bins(r.bins, r.ns) u WHERE p.lvl IN ('h', 'H')
      UNION ALL
      SELECT coalesce(p.label, integration_zone_bucket(l.created_at, p_width, p_zone)), l.service_name, integration_latency_bin(l.duration_ms), 1::bigint
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_logs l WHERE l.created_at >= p.lo AND l.created_at < p.hi AND l.duration_ms IS NOT NULL) l
      WHERE p.lvl IN ('m', 'M', 'r')
    ) x
    GROUP BY 1, 2, 3;
  END IF;
END
$$;

/** integration_range_agg's calls per service, with how many failed, reading the per-service levels. */
CREATE OR REPLACE FUNCTION integration_range_agg_service(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL, p_zone text DEFAULT 'UTC')
RETURNS TABLE (bucket timestamptz, service_name text, calls bigint, failed bigint)
LANGUAGE plpgsql STABLE
SET jit = off
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  k record;
  pl "char"[];
  plo timestamptz[];
  phi timestamptz[];
  plab timestamptz[];
  dz text;
BEGIN
  IF integration_reads_utc(p_zone, p_width) THEN
    SELECT * INTO k FROM integration_range_bounds(p_from, p_to, p_width);
    RETURN QUERY
    SELECT CASE WHEN p_width IS NULL THEN p_from ELSE date_bin(p_width, x.b, '1970-01-01 00:00:00+00'::timestamptz) END,
           x.service_name, sum(x.calls)::bigint, sum(x.failed)::bigint
    FROM (
      SELECT r.bucket AS b, r.service_name, r.calls, r.failed
      FROM integration_rollup_service_day r WHERE r.bucket >= k.d_lo AND r.bucket < k.d_hi
      UNION ALL
      SELECT r.bucket, r.service_name, r.calls, r.failed
      FROM integration_rollup_service_hour r WHERE r.bucket >= k.h_lo AND r.bucket < k.d_lo
      UNION ALL
      SELECT r.bucket, r.service_name, r.calls, r.failed
      FROM integration_rollup_service_hour r WHERE r.bucket >= k.d_hi AND r.bucket < k.h_hi
      UNION ALL
      SELECT r.bucket, r.service_name, r.calls, CASE WHEN r.status = 'failed' THEN r.calls ELSE 0 END
      FROM integration_rollup_minute r WHERE r.bucket >= k.m_lo AND r.bucket < k.h_lo
      UNION ALL
      SELECT r.bucket, r.service_name, r.calls, CASE WHEN r.status = 'failed' THEN r.calls ELSE 0 END
      FROM integration_rollup_minute r WHERE r.bucket >= k.h_hi AND r.bucket < k.m_hi
      UNION ALL
      SELECT l.created_at, l.service_name, 1::bigint, (l.status = 'failed')::integer::bigint
      FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < k.m_lo
      UNION ALL
      SELECT l.created_at, l.service_name, 1::bigint, (l.status = 'failed')::integer::bigint
      FROM integration_logs l WHERE l.created_at >= k.m_hi AND l.created_at < p_to
    ) x
    GROUP BY 1, 2;
  ELSE
    SELECT array_agg(z.lvl), array_agg(z.lo), array_agg(z.hi), array_agg(z.label) INTO pl, plo, phi, plab
    FROM integration_zone_day_pieces(p_from, p_to, p_width, p_zone) z;
    IF 'Z' = ANY (pl) OR 'Y' = ANY (pl) THEN
      SELECT d.zone INTO dz FROM integration_day_zone(p_zone) d;
    END IF;
    RETURN QUERY
    WITH p AS MATERIALIZED (SELECT * FROM unnest(pl, plo, phi, plab) u(lvl, lo, hi, label))
    SELECT x.b, x.service_name, sum(x.calls)::bigint, sum(x.failed)::bigint
    FROM (
      SELECT coalesce(p.label, r.bucket) AS b, r.service_name, r.calls, r.failed
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_rollup_service_day r WHERE r.bucket >= p.lo AND r.bucket < p.hi) r WHERE p.lvl IN ('d', 'D')
      UNION ALL
      -- zone days are per (service, action, status): a few rows per service and day
      SELECT r.bucket, r.service_name, r.calls, CASE WHEN r.status = 'failed' THEN r.calls ELSE 0 END
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_rollup_zone_day r WHERE r.zone = dz AND r.bucket >= p.lo AND r.bucket < p.hi) r WHERE p.lvl = 'Z'
      UNION ALL
      SELECT r.bucket, r.service_name, r.calls, CASE WHEN r.status = 'failed' THEN r.calls ELSE 0 END
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_rollup_zone_hour r WHERE r.zone = dz AND r.bucket >= p.lo AND r.bucket < p.hi) r WHERE p.lvl = 'Y'
      UNION ALL
      SELECT coalesce(p.label, r.bucket), r.service_name, r.calls, r.failed
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_rollup_service_hour r WHERE r.bucket >= p.lo AND r.bucket < p.hi) r WHERE p.lvl IN ('h', 'H')
      UNION ALL
      SELECT coalesce(p.label, r.bucket), r.service_name, r.calls, CASE WHEN r.status = 'failed' THEN r.calls ELSE 0 END
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_rollup_minute r WHERE r.bucket >= p.lo AND r.bucket < p.hi) r WHERE p.lvl IN ('m', 'M')
      UNION ALL
      SELECT coalesce(p.label, integration_zone_bucket(l.created_at, p_width, p_zone)), l.service_name, 1::bigint, (l.status = 'failed')::integer::bigint
      FROM p CROSS JOIN LATERAL (SELECT * FROM integration_logs l WHERE l.created_at >= p.lo AND l.created_at < p.hi) l WHERE p.lvl = 'r'
    ) x
    GROUP BY 1, 2;
  END IF;
END
$$;

/**
 * The newest created_at of p_service's calls (only failed ones when p_failed) in [p_from, p_to),
 * exactly as max(created_at) over raw rows, found by descending the rollups: newest hour with such
 * calls, newest minute of it, then raw rows of that one minute. Measured at 10M rows: health's two
 * max(created_at) subqueries per service over raw rows were most of its ~30 ms (planning every
 * partition of the window, and scanning back through other services' failures); this reads a few
 * index entries per level. A clipped edge hour or minute may hold no call inside the window (the
 * rollup counts the whole bucket), so the loops go on to the next older one.
 * Within the minute window (015) a minute's rows are found from its minute rollups, before it from
 * the hour's raw rows.
 */
CREATE OR REPLACE FUNCTION integration_last_call_at(p_service text, p_from timestamptz, p_to timestamptz, p_failed boolean DEFAULT false)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET jit = off
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  epoch constant timestamptz := '1970-01-01 00:00:00+00';
  h timestamptz;
  m timestamptz;
  h_upper timestamptz := p_to;
  m_upper timestamptz;
  found timestamptz;
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
    RETURN NULL;
  END IF;
  -- max(bucket) below an upper bound is a backward scan of the primary key (bucket first) that
  -- stops at the first matching row; each level narrows the next one's range.
  LOOP
    SELECT max(r.bucket) INTO h FROM integration_rollup_hour r
    WHERE r.service_name = p_service AND (NOT p_failed OR r.status = 'failed')
      AND r.bucket >= date_bin('1 hour'::interval, p_from, epoch) AND r.bucket < h_upper;
    EXIT WHEN h IS NULL;
    m_upper := least(h + interval '1 hour', p_to);
    IF h < integration_minute_read_from() THEN
      -- before the minute window (015): the hour's raw rows
      SELECT max(l.created_at) INTO found FROM integration_logs l
      WHERE l.service_name = p_service AND (NOT p_failed OR l.status = 'failed')
        AND l.created_at >= greatest(h, p_from) AND l.created_at < m_upper;
      IF found IS NOT NULL THEN
        RETURN found;
      END IF;
      m_upper := h; -- skips the minute loop
    END IF;
    LOOP
      SELECT max(r.bucket) INTO m FROM integration_rollup_minute r
      WHERE r.service_name = p_service AND (NOT p_failed OR r.status = 'failed')
        AND r.bucket >= greatest(h, date_bin('1 minute'::interval, p_from, epoch)) AND r.bucket < m_upper;
      EXIT WHEN m IS NULL;
      SELECT max(l.created_at) INTO found FROM integration_logs l
      WHERE l.service_name = p_service AND (NOT p_failed OR l.status = 'failed')
        AND l.created_at >= greatest(m, p_from) AND l.created_at < least(m + interval '1 minute', p_to);
      IF found IS NOT NULL THEN
        RETURN found;
      END IF;
      m_upper := m;
    END LOOP;
    h_upper := h;
  END LOOP;
  RETURN NULL;
END
$$;

/** Every (service, action) pair known to the monitor. */
CREATE OR REPLACE FUNCTION integration_known_services()
RETURNS TABLE (service_name text, action text)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT s.service_name, s.action FROM integration_service_actions s;
END;

-- Readers: as the caller (SECURITY INVOKER), so the tables' policies filter what they return.
REVOKE ALL ON FUNCTION integration_range_bounds(timestamptz, timestamptz, interval), integration_range_agg(timestamptz, timestamptz, interval, text),
  integration_hist_range(timestamptz, timestamptz, interval, text), integration_hist_range_service(timestamptz, timestamptz, interval, text),
  integration_range_agg_service(timestamptz, timestamptz, interval, text), integration_last_call_at(text, timestamptz, timestamptz, boolean),
  integration_known_services() FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_range_bounds(timestamptz, timestamptz, interval), integration_range_agg(timestamptz, timestamptz, interval, text),
  integration_hist_range(timestamptz, timestamptz, interval, text), integration_hist_range_service(timestamptz, timestamptz, interval, text),
  integration_range_agg_service(timestamptz, timestamptz, interval, text), integration_last_call_at(text, timestamptz, timestamptz, boolean),
  integration_known_services() TO authenticated, service_role, integration_monitor_reader;
