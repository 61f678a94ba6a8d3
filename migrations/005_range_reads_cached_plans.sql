-- 005 range reads with cached plans.
--
-- Measured (1M rows, 31 partitions, PG 17): integration_stats_hourly planned in 64 ms and ran in
-- 9 ms. Planning the two raw-row branches means planning every partition with all its indexes
-- (and proving partial-index predicates against the bound expressions) on every call. As plpgsql
-- functions, the statements are planned once per session and then run from a cached generic plan
-- (plan_cache_mode = force_generic_plan for the function), whose partitions are pruned at executor
-- startup from the bound values; parallel workers are off for them (starting workers cost ~75 ms,
-- more than the whole query). Callers see the same functions, columns and results; only filters
-- on the result (service, action, status) are no longer pushed into the rollup scans, which read
-- at most a few thousand rollup rows anyway.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- The views depend on the functions; their definitions do not change.
CREATE OR REPLACE FUNCTION integration_range_agg(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, service_name text, action text, status text, calls bigint, duration_n bigint,
               duration_sum bigint, duration_min integer, duration_max integer, retry_sum bigint, retried bigint)
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  k record;
BEGIN
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
END
$$;

CREATE OR REPLACE FUNCTION integration_hist_range(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, service_name text, action text, status text, bin integer, n bigint)
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  k record;
BEGIN
  SELECT * INTO k FROM integration_range_bounds(p_from, p_to, p_width);
  RETURN QUERY
  SELECT CASE WHEN p_width IS NULL THEN p_from ELSE date_bin(p_width, x.b, '1970-01-01 00:00:00+00'::timestamptz) END,
         x.service_name, x.action, x.status, x.bin, sum(x.n)::bigint
  FROM (
    SELECT r.bucket AS b, r.service_name, r.action, r.status, r.bin, r.n
    FROM integration_latency_hist_day r WHERE r.bucket >= k.d_lo AND r.bucket < k.d_hi
    UNION ALL
    SELECT r.bucket, r.service_name, r.action, r.status, r.bin, r.n
    FROM integration_latency_hist_hour r WHERE r.bucket >= k.h_lo AND r.bucket < k.d_lo
    UNION ALL
    SELECT r.bucket, r.service_name, r.action, r.status, r.bin, r.n
    FROM integration_latency_hist_hour r WHERE r.bucket >= k.d_hi AND r.bucket < k.h_hi
    UNION ALL
    SELECT r.bucket, r.service_name, r.action, r.status, r.bin, r.n
    FROM integration_latency_hist_minute r WHERE r.bucket >= k.m_lo AND r.bucket < k.h_lo
    UNION ALL
    SELECT r.bucket, r.service_name, r.action, r.status, r.bin, r.n
    FROM integration_latency_hist_minute r WHERE r.bucket >= k.h_hi AND r.bucket < k.m_hi
    UNION ALL
    SELECT l.created_at, l.service_name, l.action, l.status, integration_latency_bin(l.duration_ms), 1::bigint
    FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < k.m_lo AND l.duration_ms IS NOT NULL
    UNION ALL
    SELECT l.created_at, l.service_name, l.action, l.status, integration_latency_bin(l.duration_ms), 1::bigint
    FROM integration_logs l WHERE l.created_at >= k.m_hi AND l.created_at < p_to AND l.duration_ms IS NOT NULL
  ) x
  GROUP BY 1, 2, 3, 4, 5;
END
$$;
