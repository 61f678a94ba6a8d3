-- 006 per-service latency histograms (hour and day), for percentiles that do not split by action
-- or status.
--
-- Measured at 10M rows (bench/results/2026-11-27-10M.md): p50/p95/p99 per service over 30 days took
-- 165 ms p95 and a 30-day daily p95 series per service 285 ms, because the histograms are keyed by
-- (bucket, service, action, status, bin): ~150 occupied bins per group-day, ~10^5 rows to merge for
-- 30 days. Dashboards mostly ask per service; keyed by (bucket, service, bin) the same 30 days are
-- ~8x fewer rows. integration_hist_range_service reads them for the aligned interior (minute
-- histograms and raw rows still serve the edges), and the API uses it whenever a percentile query
-- neither filters nor groups by action or status.
--
-- Kept exact by their own statement triggers (same transition-table pattern as 002; histogram
-- counts are purely additive, so UPDATE/DELETE apply a signed delta and drop bins that reach 0;
-- retention deletes are skipped as in 002).

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

CREATE TABLE integration_latency_hist_service_hour (
  bucket timestamptz NOT NULL,
  service_name text NOT NULL,
  bin integer NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (bucket, service_name, bin)
);
CREATE TABLE integration_latency_hist_service_day (LIKE integration_latency_hist_service_hour INCLUDING ALL);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['integration_latency_hist_service_hour', 'integration_latency_hist_service_day'] LOOP
    EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, anon, authenticated, service_role', t);
    EXECUTE format('GRANT SELECT ON %I TO authenticated, service_role', t);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO authenticated, service_role USING (true)', t || '_read', t);
  END LOOP;
END
$$;

CREATE FUNCTION integration_service_hist_on_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
AS $$
DECLARE
  cols constant text := 'created_at, service_name, duration_ms';
  chg text;
  lo timestamptz;
  hi timestamptz;
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('integration_monitor.retention', true) = 'on' THEN
    RETURN NULL;
  END IF;
  chg := CASE TG_OP
    WHEN 'INSERT' THEN format('SELECT %s, 1 AS sign FROM new_rows', cols)
    WHEN 'DELETE' THEN format('SELECT %s, -1 AS sign FROM old_rows', cols)
    ELSE format('(SELECT %1$s, 1 AS sign FROM (SELECT %1$s FROM new_rows EXCEPT ALL SELECT %1$s FROM old_rows) a)
                 UNION ALL
                 (SELECT %1$s, -1 AS sign FROM (SELECT %1$s FROM old_rows EXCEPT ALL SELECT %1$s FROM new_rows) r)', cols)
  END;
  EXECUTE format($q$
    WITH h AS (
      SELECT date_bin('1 hour'::interval, created_at, '1970-01-01 00:00:00+00'::timestamptz) AS bucket, service_name,
             integration_latency_bin(duration_ms) AS bin, sum(sign)::bigint AS n
      FROM (%s) c WHERE duration_ms IS NOT NULL GROUP BY 1, 2, 3 HAVING sum(sign) <> 0
    ), up_h AS (
      INSERT INTO integration_latency_hist_service_hour AS t
      SELECT * FROM h ORDER BY 1, 2, 3
      ON CONFLICT (bucket, service_name, bin) DO UPDATE SET n = t.n + excluded.n
    )
    INSERT INTO integration_latency_hist_service_day AS t
    SELECT date_bin('1 day'::interval, bucket, '1970-01-01 00:00:00+00'::timestamptz), service_name, bin, sum(n)
    FROM h GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (bucket, service_name, bin) DO UPDATE SET n = t.n + excluded.n
    $q$, chg);
  IF TG_OP <> 'INSERT' THEN
    -- Bins that reached 0, looked for only within the buckets this statement touched.
    EXECUTE format('SELECT min(created_at), max(created_at) FROM (%s) c', chg) INTO lo, hi;
    DELETE FROM integration_latency_hist_service_hour
     WHERE n = 0 AND bucket >= date_bin('1 hour'::interval, lo, '1970-01-01 00:00:00+00'::timestamptz) AND bucket <= hi;
    DELETE FROM integration_latency_hist_service_day
     WHERE n = 0 AND bucket >= date_bin('1 day'::interval, lo, '1970-01-01 00:00:00+00'::timestamptz) AND bucket <= hi;
  END IF;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION integration_service_hist_on_write() FROM PUBLIC, anon, authenticated, service_role;

CREATE TRIGGER integration_logs_service_hist_insert AFTER INSERT ON integration_logs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION integration_service_hist_on_write();
CREATE TRIGGER integration_logs_service_hist_update AFTER UPDATE ON integration_logs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION integration_service_hist_on_write();
CREATE TRIGGER integration_logs_service_hist_delete AFTER DELETE ON integration_logs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION integration_service_hist_on_write();

-- Backfill from the full histograms (equal to the raw rows; raw rows may already be past retention).
INSERT INTO integration_latency_hist_service_hour
SELECT bucket, service_name, bin, sum(n) FROM integration_latency_hist_hour GROUP BY 1, 2, 3;
INSERT INTO integration_latency_hist_service_day
SELECT bucket, service_name, bin, sum(n) FROM integration_latency_hist_day GROUP BY 1, 2, 3;

/** integration_hist_range summed over action and status, reading the per-service levels. */
CREATE FUNCTION integration_hist_range_service(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL)
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
    SELECT r.bucket, r.service_name, r.bin, r.n
    FROM integration_latency_hist_minute r WHERE r.bucket >= k.m_lo AND r.bucket < k.h_lo
    UNION ALL
    SELECT r.bucket, r.service_name, r.bin, r.n
    FROM integration_latency_hist_minute r WHERE r.bucket >= k.h_hi AND r.bucket < k.m_hi
    UNION ALL
    SELECT l.created_at, l.service_name, integration_latency_bin(l.duration_ms), 1::bigint
    FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < k.m_lo AND l.duration_ms IS NOT NULL
    UNION ALL
    SELECT l.created_at, l.service_name, integration_latency_bin(l.duration_ms), 1::bigint
    FROM integration_logs l WHERE l.created_at >= k.m_hi AND l.created_at < p_to AND l.duration_ms IS NOT NULL
  ) x
  GROUP BY 1, 2, 3;
END
$$;
REVOKE ALL ON FUNCTION integration_hist_range_service(timestamptz, timestamptz, interval) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_hist_range_service(timestamptz, timestamptz, interval) TO authenticated, service_role;

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
  DELETE FROM integration_latency_hist_minute WHERE bucket < mcutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  DELETE FROM integration_rollup_hour WHERE bucket < cutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  DELETE FROM integration_latency_hist_hour WHERE bucket < cutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  DELETE FROM integration_latency_hist_service_hour WHERE bucket < cutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  DELETE FROM integration_rollup_day WHERE bucket < cutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  DELETE FROM integration_latency_hist_day WHERE bucket < cutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  DELETE FROM integration_latency_hist_service_day WHERE bucket < cutoff; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  RETURN total;
END
$$;
