-- Percentile series the dashboards read (first created by 010).

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

/**
 * Whether p_width-wide buckets of zone p_zone are read from raw rows alone: no histogram level fits
 * them (the histograms are hours and days; 007 dropped the minute ones) and they are UTC-aligned
 * (integration_zone_same_as_utc: UTC, or a width that divides 15 minutes), so date_bin labels them.
 * The dashboards' series over 2 days or less (1 to 5 minutes at 1,000 px).
 */
CREATE OR REPLACE FUNCTION integration_raw_percentile_width(p_width interval, p_zone text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN p_width IS NOT NULL AND extract(epoch FROM p_width) > 0 AND extract(epoch FROM p_width) % 3600 <> 0
       AND integration_zone_same_as_utc(p_zone, p_width);

/**
 * Percentiles p_ps per p_width-wide UTC-aligned bucket, straight from the raw rows of [p_from, p_to):
 * per service when p_services is NULL (one row per bucket and service), else of those services
 * together (service_name NULL). Each duration counts as the middle of its histogram bin, so this is
 * percentile_cont over the very values integration_hist_percentile interpolates between, with the
 * same formula: the answer the histogram merge gives for the same rows, to the last bit (test:
 * "answers as merging"), from one sort of the rows instead of a hash of (bucket, bin) rows, arrays
 * and a plpgsql call per bucket (24 h at 5 minutes, 1M rows: 34 ms that way, 9 ms this).
 * The floor it stands on: a histogram per 5 minutes and service holds nearly one row per call.
 */
CREATE OR REPLACE FUNCTION integration_raw_percentile_series(p_from timestamptz, p_to timestamptz, p_width interval, p_services text[], p_ps float8[])
RETURNS TABLE (bucket timestamptz, service_name text, ps float8[])
LANGUAGE plpgsql STABLE
SET jit = off
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
BEGIN
  -- OFFSET 0 keeps the bin a column of its own, so integration_latency_bin_value is inlined over
  -- it: over the bin expression itself (which it uses three times) Postgres calls it as a
  -- function instead, ~3 us a row (6 h at 10M: 210-430 ms that way, 55-75 ms this).
  RETURN QUERY
  SELECT x.b, x.s, percentile_cont(p_ps) WITHIN GROUP (ORDER BY integration_latency_bin_value(x.bin))
  FROM (SELECT date_bin(p_width, l.created_at, '1970-01-01 00:00:00+00'::timestamptz) AS b,
               CASE WHEN p_services IS NULL THEN l.service_name END AS s, integration_latency_bin(l.duration_ms) AS bin
        FROM integration_logs l
        WHERE l.created_at >= p_from AND l.created_at < p_to AND l.duration_ms IS NOT NULL
          AND (p_services IS NULL OR l.service_name = ANY (p_services))
        OFFSET 0) x
  GROUP BY 1, 2;
END
$$;
REVOKE ALL ON FUNCTION integration_raw_percentile_width(interval, text), integration_raw_percentile_series(timestamptz, timestamptz, interval, text[], float8[]) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_raw_percentile_width(interval, text), integration_raw_percentile_series(timestamptz, timestamptz, interval, text[], float8[])
  TO authenticated, service_role, integration_monitor_reader;

/**
 * Whether p_width-wide buckets of zone p_zone are whole UTC hours that are not whole days (6 hours):
 * the buckets integration_hist_hour_series serves.
 */
CREATE OR REPLACE FUNCTION integration_hist_hour_width(p_width interval, p_zone text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN p_width IS NOT NULL AND extract(epoch FROM p_width) > 0 AND extract(epoch FROM p_width) % 3600 = 0
       AND extract(epoch FROM p_width) % 86400 <> 0 AND integration_zone_same_as_utc(p_zone, p_width);

/**
 * The latency histogram per p_width-wide UTC bucket of [p_from, p_to), p_width whole hours and not
 * whole days, as (bucket, service_name, bin, n): the per-service hour histograms of [p_h_lo, p_h_hi)
 * (integration_range_bounds' whole hours) and the raw rows of the partial hours at both ends, the
 * rows integration_hist_range_service reads for such a width, grouped once. With p_services the
 * services are merged (service_name NULL) and only theirs are read. The series above read it
 * instead of grouping integration_hist_range_service's per-service rows a second time: 7 days of
 * 6-hour buckets at 10M calls, 36 ms that way (59k bin rows of 835 hour histograms, grouped twice),
 * ~11 ms for the hour rows this way.
 */
CREATE OR REPLACE FUNCTION integration_hist_hour_series(p_from timestamptz, p_to timestamptz, p_width interval,
                                                        p_h_lo timestamptz, p_h_hi timestamptz, p_services text[])
RETURNS TABLE (bucket timestamptz, service_name text, bin integer, n bigint)
LANGUAGE plpgsql STABLE
SET jit = off
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
BEGIN
  RETURN QUERY
  SELECT date_bin(p_width, x.b, '1970-01-01 00:00:00+00'::timestamptz), x.s, x.bin, sum(x.n)::bigint
  FROM (
    SELECT r.bucket AS b, CASE WHEN p_services IS NULL THEN r.service_name END AS s, u.bin, u.n
    FROM integration_latency_hist_service_hour r CROSS JOIN LATERAL integration_hist_bins(r.bins, r.ns) u
    WHERE r.bucket >= p_h_lo AND r.bucket < p_h_hi AND (p_services IS NULL OR r.service_name = ANY (p_services))
    UNION ALL
    SELECT l.created_at, CASE WHEN p_services IS NULL THEN l.service_name END, integration_latency_bin(l.duration_ms), 1::bigint
    FROM integration_logs l
    WHERE l.created_at >= p_from AND l.created_at < p_h_lo AND l.duration_ms IS NOT NULL AND (p_services IS NULL OR l.service_name = ANY (p_services))
    UNION ALL
    SELECT l.created_at, CASE WHEN p_services IS NULL THEN l.service_name END, integration_latency_bin(l.duration_ms), 1::bigint
    FROM integration_logs l
    WHERE l.created_at >= p_h_hi AND l.created_at < p_to AND l.duration_ms IS NOT NULL AND (p_services IS NULL OR l.service_name = ANY (p_services))
  ) x
  GROUP BY 1, 2, 3;
END
$$;
REVOKE ALL ON FUNCTION integration_hist_hour_width(interval, text),
  integration_hist_hour_series(timestamptz, timestamptz, interval, timestamptz, timestamptz, text[]) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_hist_hour_width(interval, text),
  integration_hist_hour_series(timestamptz, timestamptz, interval, timestamptz, timestamptz, text[])
  TO authenticated, service_role, integration_monitor_reader;

-- A percentile series per service in zone p_zone (buckets as the range readers' of 05_range_reads.sql), for
-- the overview's latency panels, computed per bucket inside the function rather than by merging
-- integration_hist_range_service's one row per (bucket, service, bin) in the panel's query
-- (docs/scaling.md "Dashboards as Grafana runs them" has the measurements). Where the range readers
-- take their UTC statement (UTC itself) and the buckets are whole days, no merging is needed
-- for the days the range covers whole: each stored (day, service) row is one output bucket whose
-- arrays hold its bins ascending (017), so the percentile comes straight from the stored row.
-- Only the two partial days at the ends go through integration_hist_range_service (each is its own
-- output bucket, so nothing is merged across the two parts). Exactly the rows and bins the general merge reads, so the same
-- answer; any other zone or width reads integration_hist_range_service in that zone.
CREATE OR REPLACE FUNCTION integration_hist_percentile_series_service_zone(p_from timestamptz, p_to timestamptz, p_width interval, p_p float8, p_zone text)
RETURNS TABLE (bucket timestamptz, service_name text, value float8)
LANGUAGE plpgsql STABLE
SET jit = off
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  k record;
BEGIN
  -- Buckets no histogram level fits (not whole hours; the minute histograms went in 007), in UTC
  -- or a width every zone shares: each bucket is raw rows only (integration_raw_percentile_series).
  IF integration_raw_percentile_width(p_width, p_zone) THEN
    RETURN QUERY
    SELECT s.bucket, s.service_name, s.ps[1] FROM integration_raw_percentile_series(p_from, p_to, p_width, NULL, ARRAY[p_p]) s;
    RETURN;
  END IF;
  SELECT * INTO k FROM integration_range_bounds(p_from, p_to, p_width);
  -- Whole hours that are not whole days, in UTC (the 6-hour buckets of 2-14-day ranges): read as
  -- integration_hist_range_service reads them (integration_hist_hour_series), minus its second pass.
  IF integration_hist_hour_width(p_width, p_zone) AND k.h_lo < k.h_hi THEN
    RETURN QUERY
    SELECT h.bucket, h.service_name, integration_hist_percentile(array_agg(h.bin ORDER BY h.bin), array_agg(h.n ORDER BY h.bin), p_p)
    FROM integration_hist_hour_series(p_from, p_to, p_width, k.h_lo, k.h_hi, NULL) h
    GROUP BY h.bucket, h.service_name;
    RETURN;
  END IF;
  -- Other zones' days, other widths, and ranges without a whole day inside (both ends may then fall
  -- in one day) merge the general way.
  IF NOT integration_zone_same_as_utc(p_zone, p_width) OR p_width IS DISTINCT FROM interval '1 day' OR NOT (k.d_lo < k.d_hi) THEN
    RETURN QUERY
    SELECT h.bucket, h.service_name, integration_hist_percentile(array_agg(h.bin ORDER BY h.bin), array_agg(h.n ORDER BY h.bin), p_p)
    FROM integration_hist_range_service(p_from, p_to, p_width, p_zone) h
    GROUP BY h.bucket, h.service_name;
    RETURN;
  END IF;
  RETURN QUERY
  SELECT r.bucket, r.service_name, integration_hist_percentile(r.bins::integer[], r.ns::bigint[], p_p)
  FROM integration_latency_hist_service_day r
  WHERE r.bucket >= k.d_lo AND r.bucket < k.d_hi
  UNION ALL
  SELECT h.bucket, h.service_name, integration_hist_percentile(array_agg(h.bin ORDER BY h.bin), array_agg(h.n ORDER BY h.bin), p_p)
  FROM integration_hist_range_service(p_from, k.d_lo, p_width) h
  GROUP BY h.bucket, h.service_name
  UNION ALL
  SELECT h.bucket, h.service_name, integration_hist_percentile(array_agg(h.bin ORDER BY h.bin), array_agg(h.n ORDER BY h.bin), p_p)
  FROM integration_hist_range_service(k.d_hi, p_to, p_width) h
  GROUP BY h.bucket, h.service_name;
END
$$;
REVOKE ALL ON FUNCTION integration_hist_percentile_series_service_zone(timestamptz, timestamptz, interval, float8, text) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_hist_percentile_series_service_zone(timestamptz, timestamptz, interval, float8, text) TO authenticated, service_role, integration_monitor_reader;

-- Percentiles per bucket of the latency of a set of services together (the Service detail panel
-- when every action of the selected services is selected): the per-service histograms of those
-- services merged per (bucket, bin), then each of p_ps. With one-day buckets the whole days are
-- merged straight from the per-service day histograms, the two partial end days (their own
-- buckets) through integration_hist_range_service, as above; any other width reads
-- integration_hist_range_service alone. Same rows and bins as merging integration_hist_range_service,
-- so the same answer. Other zones and widths read integration_hist_range_service in that zone.
CREATE OR REPLACE FUNCTION integration_hist_percentile_series_zone(p_from timestamptz, p_to timestamptz, p_width interval, p_services text[], p_ps float8[], p_zone text)
RETURNS TABLE (bucket timestamptz, ps float8[])
LANGUAGE plpgsql STABLE
SET jit = off
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  k record;
BEGIN
  IF integration_raw_percentile_width(p_width, p_zone) THEN
    RETURN QUERY
    SELECT s.bucket, s.ps FROM integration_raw_percentile_series(p_from, p_to, p_width, p_services, p_ps) s;
    RETURN;
  END IF;
  SELECT * INTO k FROM integration_range_bounds(p_from, p_to, p_width);
  IF integration_hist_hour_width(p_width, p_zone) AND k.h_lo < k.h_hi THEN
    RETURN QUERY
    SELECT m.bucket, ARRAY(SELECT integration_hist_percentile(m.bins, m.ns, p) FROM unnest(p_ps) WITH ORDINALITY AS q(p, i) ORDER BY q.i)
    FROM (SELECT h.bucket, array_agg(h.bin ORDER BY h.bin) AS bins, array_agg(h.n ORDER BY h.bin) AS ns
          FROM integration_hist_hour_series(p_from, p_to, p_width, k.h_lo, k.h_hi, p_services) h
          GROUP BY h.bucket) m;
    RETURN;
  END IF;
  IF NOT integration_zone_same_as_utc(p_zone, p_width) OR p_width IS DISTINCT FROM interval '1 day' OR NOT (k.d_lo < k.d_hi) THEN
    RETURN QUERY
    SELECT m.bucket, ARRAY(SELECT integration_hist_percentile(m.bins, m.ns, p) FROM unnest(p_ps) WITH ORDINALITY AS q(p, i) ORDER BY q.i)
    FROM (SELECT g.bucket, array_agg(g.bin ORDER BY g.bin) AS bins, array_agg(g.n ORDER BY g.bin) AS ns
          FROM (SELECT h.bucket, h.bin, sum(h.n)::bigint AS n FROM integration_hist_range_service(p_from, p_to, p_width, p_zone) h
                WHERE h.service_name = ANY(p_services) GROUP BY 1, 2) g
          GROUP BY g.bucket) m;
    RETURN;
  END IF;
  RETURN QUERY
  SELECT m.bucket, ARRAY(SELECT integration_hist_percentile(m.bins, m.ns, p) FROM unnest(p_ps) WITH ORDINALITY AS q(p, i) ORDER BY q.i)
  FROM (-- whole days: each day's rows of the selected services merged on their own (one row a
        -- service: a small sort per day, where merging every day's bins at once was one sort of
        -- them all, 37k at 90 days of 5 services at 1M calls, planned from an estimate of 30)
        SELECT d.bucket, x.bins, x.ns
        FROM (SELECT DISTINCT r.bucket FROM integration_latency_hist_service_day r
              WHERE r.bucket >= k.d_lo AND r.bucket < k.d_hi AND r.service_name = ANY(p_services)) d
        CROSS JOIN LATERAL (
          SELECT array_agg(s.bin ORDER BY s.bin) AS bins, array_agg(s.n ORDER BY s.bin) AS ns
          FROM (SELECT u.bin, sum(u.n)::bigint AS n
                FROM integration_latency_hist_service_day r CROSS JOIN LATERAL integration_hist_bins(r.bins, r.ns) u
                WHERE r.bucket = d.bucket AND r.service_name = ANY(p_services) GROUP BY u.bin) s) x
        UNION ALL
        -- the two partial end days, each its own bucket
        SELECT g.bucket, array_agg(g.bin ORDER BY g.bin), array_agg(g.n ORDER BY g.bin)
        FROM (SELECT h.bucket, h.bin, sum(h.n)::bigint AS n FROM integration_hist_range_service(p_from, k.d_lo, p_width) h
              WHERE h.service_name = ANY(p_services) GROUP BY 1, 2
              UNION ALL
              SELECT h.bucket, h.bin, sum(h.n)::bigint FROM integration_hist_range_service(k.d_hi, p_to, p_width) h
              WHERE h.service_name = ANY(p_services) GROUP BY 1, 2) g
        GROUP BY g.bucket) m;
END
$$;
REVOKE ALL ON FUNCTION integration_hist_percentile_series_zone(timestamptz, timestamptz, interval, text[], float8[], text) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_hist_percentile_series_zone(timestamptz, timestamptz, interval, text[], float8[], text) TO authenticated, service_role, integration_monitor_reader;
