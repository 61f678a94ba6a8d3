-- 007 minute latency histograms dropped: histograms start at the hour level; the sub-hour edges of a
-- percentile range (and ranges whose bucket width is not a whole number of hours) read raw rows.
--
-- Why (measured on bench/results/2026-11-27-10M-before-007.md and on a 10M-row copy of its data):
--   A latency histogram keyed by (minute, service, action, status, bin) compresses only when a group
--   sees more calls per minute than it has occupied bins (~100-150 at growth 1.05). At 10M rows over
--   120 days (~58 calls/minute in all) it held 9.2M rows for 10M raw rows: 1.24 GB of the 2.0 GB of
--   rollups, and most of the upkeep's upserts. At 100 calls/s spread over ~40 groups it would still
--   hold about as many rows as the raw table; it pays only past ~1,000 calls/s, far beyond what one
--   backend's calls to external APIs reach. Reading raw rows for an edge costs the same as reading
--   the minute histogram rows of that edge did, and the edges are at most two partial hours.
--   Upkeep, live-like COPY of 20 × 10k rows (rolled back, median of 3) on that copy: rollup upkeep
--   15.3 us a row before this migration, 7.2 us after it (with the bin functions below inlined):
--   25.8k rows/s against 42.7k raw-only before, 41.0k against 58.1k raw-only after (the raw figure
--   moves with the machine; the difference is the upkeep).
-- Minute stats rollups (counts, sums, min/max) stay: they are ~5x fewer rows than raw calls here and
-- serve failure-rate and volume panels at any width.
-- A percentile series with sub-hour buckets (a 24-hour panel at 5 minutes) now reads the range's raw
-- rows, as many as the minute histogram rows it read before at these rates.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- Not STRICT, so the planner inlines them (a STRICT SQL function is inlined only when its body is
-- provably strict, and a CASE is not): called per row by the rollup triggers and the raw edges,
-- the function call cost ~3 us a row against ~0.35 us inlined (sum over 580k rows: 951 ms against
-- 113 ms). A NULL argument still yields NULL (every branch of the CASE is NULL for it).
CREATE OR REPLACE FUNCTION integration_latency_bin(ms integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN ms = 0 THEN 0
  WHEN ms > 0 THEN 1 + floor(ln(ms::float8) / ln(1.05::float8))::integer
  ELSE -(1 + floor(ln(-ms::float8) / ln(1.05::float8))::integer)
END;

CREATE OR REPLACE FUNCTION integration_latency_bin_value(bin integer) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN bin = 0 THEN 0::float8
  WHEN bin > 0 THEN exp((bin - 0.5) * ln(1.05::float8))
  ELSE -exp((-bin - 0.5) * ln(1.05::float8))
END;

CREATE OR REPLACE FUNCTION integration_rollup_on_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
AS $$
BEGIN
  WITH m AS (
    SELECT date_bin('1 minute'::interval, created_at, '1970-01-01 00:00:00+00'::timestamptz) AS bucket,
           service_name, action, status,
           count(*) AS calls, count(duration_ms) AS duration_n, coalesce(sum(duration_ms), 0)::bigint AS duration_sum,
           min(duration_ms) AS duration_min, max(duration_ms) AS duration_max,
           coalesce(sum(retry_count), 0)::bigint AS retry_sum, count(*) FILTER (WHERE retry_count > 0) AS retried
    FROM new_rows GROUP BY 1, 2, 3, 4
  ), hh AS (
    SELECT date_bin('1 hour'::interval, created_at, '1970-01-01 00:00:00+00'::timestamptz) AS bucket,
           service_name, action, status, integration_latency_bin(duration_ms) AS bin, count(*) AS n
    FROM new_rows WHERE duration_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5
  ), up_m AS (
    INSERT INTO integration_rollup_minute AS t
    SELECT * FROM m ORDER BY 1, 2, 3, 4
    ON CONFLICT (bucket, service_name, action, status) DO UPDATE SET
      calls = t.calls + excluded.calls, duration_n = t.duration_n + excluded.duration_n,
      duration_sum = t.duration_sum + excluded.duration_sum,
      duration_min = least(t.duration_min, excluded.duration_min), duration_max = greatest(t.duration_max, excluded.duration_max),
      retry_sum = t.retry_sum + excluded.retry_sum, retried = t.retried + excluded.retried
  ), up_h AS (
    INSERT INTO integration_rollup_hour AS t
    SELECT date_bin('1 hour'::interval, bucket, '1970-01-01 00:00:00+00'::timestamptz), service_name, action, status,
           sum(calls), sum(duration_n), sum(duration_sum), min(duration_min), max(duration_max), sum(retry_sum), sum(retried)
    FROM m GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (bucket, service_name, action, status) DO UPDATE SET
      calls = t.calls + excluded.calls, duration_n = t.duration_n + excluded.duration_n,
      duration_sum = t.duration_sum + excluded.duration_sum,
      duration_min = least(t.duration_min, excluded.duration_min), duration_max = greatest(t.duration_max, excluded.duration_max),
      retry_sum = t.retry_sum + excluded.retry_sum, retried = t.retried + excluded.retried
  ), up_d AS (
    INSERT INTO integration_rollup_day AS t
    SELECT date_bin('1 day'::interval, bucket, '1970-01-01 00:00:00+00'::timestamptz), service_name, action, status,
           sum(calls), sum(duration_n), sum(duration_sum), min(duration_min), max(duration_max), sum(retry_sum), sum(retried)
    FROM m GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (bucket, service_name, action, status) DO UPDATE SET
      calls = t.calls + excluded.calls, duration_n = t.duration_n + excluded.duration_n,
      duration_sum = t.duration_sum + excluded.duration_sum,
      duration_min = least(t.duration_min, excluded.duration_min), duration_max = greatest(t.duration_max, excluded.duration_max),
      retry_sum = t.retry_sum + excluded.retry_sum, retried = t.retried + excluded.retried
  ), up_hh AS (
    INSERT INTO integration_latency_hist_hour AS t
    SELECT * FROM hh ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (bucket, service_name, action, status, bin) DO UPDATE SET n = t.n + excluded.n
  ), up_hd AS (
    INSERT INTO integration_latency_hist_day AS t
    SELECT date_bin('1 day'::interval, bucket, '1970-01-01 00:00:00+00'::timestamptz), service_name, action, status, bin, sum(n)
    FROM hh GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (bucket, service_name, action, status, bin) DO UPDATE SET n = t.n + excluded.n
  )
  INSERT INTO integration_service_actions (service_name, action)
  SELECT DISTINCT service_name, action FROM m ORDER BY 1, 2
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION integration_rollup_on_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
AS $$
DECLARE
  cols constant text := 'created_at, service_name, action, status, duration_ms, retry_count';
  chg text;
  lo timestamptz;
  hi timestamptz;
  lvl record;
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('integration_monitor.retention', true) = 'on' THEN
    RETURN NULL;
  END IF;
  chg := integration_signed_changes(TG_OP, cols);
  chg := format('(SELECT date_bin(''1 minute''::interval, created_at, ''1970-01-01 00:00:00+00''::timestamptz) AS minute,
                         service_name, action, status, duration_ms, retry_count, sign FROM (%s) c0)', chg);

  EXECUTE format('SELECT min(minute), max(minute) FROM %s c', chg) INTO lo, hi;
  IF lo IS NULL THEN
    RETURN NULL; -- nothing that rollups see has changed
  END IF;

  -- Stats, finest level first: each coarser level recomputes min/max from the level below it,
  -- which the previous statement has already brought up to date.
  FOR lvl IN
    SELECT * FROM (VALUES
      (1, 'integration_rollup_minute', '1 minute', NULL::text),
      (2, 'integration_rollup_hour', '1 hour', 'integration_rollup_minute'),
      (3, 'integration_rollup_day', '1 day', 'integration_rollup_hour')) v(ord, tbl, width, below)
    ORDER BY ord
  LOOP
    EXECUTE format($q$
      WITH d AS (
        SELECT date_bin(%2$L::interval, minute, '1970-01-01 00:00:00+00'::timestamptz) AS bucket, service_name, action, status,
               sum(sign)::bigint AS calls,
               coalesce(sum(sign) FILTER (WHERE duration_ms IS NOT NULL), 0)::bigint AS duration_n,
               coalesce(sum(sign * duration_ms::bigint), 0)::bigint AS duration_sum,
               coalesce(sum(sign * retry_count::bigint), 0)::bigint AS retry_sum,
               coalesce(sum(sign) FILTER (WHERE retry_count > 0), 0)::bigint AS retried
        FROM %3$s c GROUP BY 1, 2, 3, 4
      )
      INSERT INTO %1$I AS t (bucket, service_name, action, status, calls, duration_n, duration_sum, duration_min, duration_max, retry_sum, retried)
      SELECT d.bucket, d.service_name, d.action, d.status, d.calls, d.duration_n, d.duration_sum, x.mn, x.mx, d.retry_sum, d.retried
      FROM d CROSS JOIN LATERAL (%4$s) x
      ORDER BY 1, 2, 3, 4
      ON CONFLICT (bucket, service_name, action, status) DO UPDATE SET
        calls = t.calls + excluded.calls, duration_n = t.duration_n + excluded.duration_n,
        duration_sum = t.duration_sum + excluded.duration_sum,
        duration_min = excluded.duration_min, duration_max = excluded.duration_max,
        retry_sum = t.retry_sum + excluded.retry_sum, retried = t.retried + excluded.retried
      $q$, lvl.tbl, lvl.width, chg,
      CASE WHEN lvl.below IS NULL THEN
        format($s$SELECT min(l.duration_ms) AS mn, max(l.duration_ms) AS mx FROM integration_logs l
                  WHERE l.created_at >= d.bucket AND l.created_at < d.bucket + %L::interval
                    AND l.service_name = d.service_name AND l.action = d.action AND l.status = d.status$s$, lvl.width)
      ELSE
        format($s$SELECT min(b.duration_min) AS mn, max(b.duration_max) AS mx FROM %I b
                  WHERE b.bucket >= d.bucket AND b.bucket < d.bucket + %L::interval
                    AND b.service_name = d.service_name AND b.action = d.action AND b.status = d.status$s$, lvl.below, lvl.width)
      END);
    EXECUTE format('DELETE FROM %I WHERE calls = 0 AND bucket >= date_bin(%L::interval, $1, ''1970-01-01 00:00:00+00''::timestamptz) AND bucket <= $2',
                   lvl.tbl, lvl.width) USING lo, hi;
  END LOOP;

  EXECUTE format($q$
    WITH hh AS (
      SELECT date_bin('1 hour'::interval, minute, '1970-01-01 00:00:00+00'::timestamptz) AS bucket, service_name, action, status,
             integration_latency_bin(duration_ms) AS bin, sum(sign)::bigint AS n
      FROM %1$s c WHERE duration_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5
      HAVING sum(sign) <> 0
    ), up_hh AS (
      INSERT INTO integration_latency_hist_hour AS t
      SELECT * FROM hh ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT (bucket, service_name, action, status, bin) DO UPDATE SET n = t.n + excluded.n
    )
    INSERT INTO integration_latency_hist_day AS t
    SELECT date_bin('1 day'::interval, bucket, '1970-01-01 00:00:00+00'::timestamptz), service_name, action, status, bin, sum(n)
    FROM hh GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (bucket, service_name, action, status, bin) DO UPDATE SET n = t.n + excluded.n
    $q$, chg);
  DELETE FROM integration_latency_hist_hour WHERE n = 0
    AND bucket >= date_bin('1 hour'::interval, lo, '1970-01-01 00:00:00+00'::timestamptz) AND bucket <= hi;
  DELETE FROM integration_latency_hist_day WHERE n = 0
    AND bucket >= date_bin('1 day'::interval, lo, '1970-01-01 00:00:00+00'::timestamptz) AND bucket <= hi;

  IF TG_OP = 'UPDATE' THEN
    EXECUTE format('INSERT INTO integration_service_actions (service_name, action)
                    SELECT DISTINCT service_name, action FROM %s c WHERE sign > 0 ORDER BY 1, 2 ON CONFLICT DO NOTHING', chg);
  END IF;
  RETURN NULL;
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
    SELECT l.created_at, l.service_name, l.action, l.status, integration_latency_bin(l.duration_ms), 1::bigint
    FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < k.h_lo AND l.duration_ms IS NOT NULL
    UNION ALL
    SELECT l.created_at, l.service_name, l.action, l.status, integration_latency_bin(l.duration_ms), 1::bigint
    FROM integration_logs l WHERE l.created_at >= k.h_hi AND l.created_at < p_to AND l.duration_ms IS NOT NULL
  ) x
  GROUP BY 1, 2, 3, 4, 5;
END
$$;

CREATE OR REPLACE FUNCTION integration_hist_range_service(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, service_name text, bin integer, n bigint)
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
         x.service_name, x.bin, sum(x.n)::bigint
  FROM (
    SELECT r.bucket AS b, r.service_name, r.bin, r.n
    FROM integration_latency_hist_service_day r WHERE r.bucket >= k.d_lo AND r.bucket < k.d_hi
    UNION ALL
    SELECT r.bucket, r.service_name, r.bin, r.n
    FROM integration_latency_hist_service_hour r WHERE r.bucket >= k.h_lo AND r.bucket < k.d_lo
    UNION ALL
    SELECT r.bucket, r.service_name, r.bin, r.n
    FROM integration_latency_hist_service_hour r WHERE r.bucket >= k.d_hi AND r.bucket < k.h_hi
    UNION ALL
    SELECT l.created_at, l.service_name, integration_latency_bin(l.duration_ms), 1::bigint
    FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < k.h_lo AND l.duration_ms IS NOT NULL
    UNION ALL
    SELECT l.created_at, l.service_name, integration_latency_bin(l.duration_ms), 1::bigint
    FROM integration_logs l WHERE l.created_at >= k.h_hi AND l.created_at < p_to AND l.duration_ms IS NOT NULL
  ) x
  GROUP BY 1, 2, 3;
END
$$;

CREATE OR REPLACE FUNCTION cleanup_integration_rollups(retention interval DEFAULT '400 days', minute_retention interval DEFAULT '90 days')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
AS $$
DECLARE
  cutoff timestamptz := date_bin('1 day'::interval, now() - retention, '1970-01-01 00:00:00+00'::timestamptz);
  mcutoff timestamptz := date_bin('1 minute'::interval, now() - minute_retention, '1970-01-01 00:00:00+00'::timestamptz);
  n bigint;
  total bigint := 0;
BEGIN
  IF retention IS NULL OR retention <= interval '0' OR minute_retention IS NULL OR minute_retention <= interval '0' THEN
    RAISE EXCEPTION 'retentions must be positive intervals';
  END IF;
  DELETE FROM integration_rollup_minute WHERE bucket < mcutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  DELETE FROM integration_rollup_hour WHERE bucket < cutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  DELETE FROM integration_latency_hist_hour WHERE bucket < cutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  DELETE FROM integration_latency_hist_service_hour WHERE bucket < cutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  DELETE FROM integration_rollup_service_hour WHERE bucket < cutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  DELETE FROM integration_rollup_day WHERE bucket < cutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  DELETE FROM integration_latency_hist_day WHERE bucket < cutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  DELETE FROM integration_latency_hist_service_day WHERE bucket < cutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  DELETE FROM integration_rollup_service_day WHERE bucket < cutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  RETURN total;
END
$$;

DROP TABLE integration_latency_hist_minute;
