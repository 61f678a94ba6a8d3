-- Percentile series the dashboards read (first created by 010).

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- A percentile series per service in zone p_zone (as the *_zone readers of 06_zone_reads.sql), for
-- the overview's latency panels, computed per bucket inside the function rather than by merging
-- integration_hist_range_service(_zone)'s one row per (bucket, service, bin) in the panel's query
-- (docs/scaling.md "Dashboards as Grafana runs them" has the measurements). Where the zone readers
-- go through the UTC functions (UTC itself) and the buckets are whole days, no merging is needed
-- for the days the range covers whole: each stored (day, service) is one output bucket, read in
-- primary-key order (bucket, service, bin), so the percentile comes straight from the stored rows.
-- Only the two partial days at the ends go through integration_hist_range_service (each is its own
-- output bucket, so nothing is merged across the two parts). Exactly the rows and bins the general merge reads, so the same
-- answer; any other zone or width reads integration_hist_range_service_zone.
CREATE OR REPLACE FUNCTION integration_hist_percentile_series_service_zone(p_from timestamptz, p_to timestamptz, p_width interval, p_p float8, p_zone text)
RETURNS TABLE (bucket timestamptz, service_name text, value float8)
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  k record;
BEGIN
  SELECT * INTO k FROM integration_range_bounds(p_from, p_to, p_width);
  -- Other zones' days, other widths, and ranges without a whole day inside (both ends may then fall
  -- in one day) merge the general way.
  IF NOT integration_zone_same_as_utc(p_zone, p_width) OR p_width IS DISTINCT FROM interval '1 day' OR NOT (k.d_lo < k.d_hi) THEN
    RETURN QUERY
    SELECT h.bucket, h.service_name, integration_hist_percentile(array_agg(h.bin ORDER BY h.bin), array_agg(h.n ORDER BY h.bin), p_p)
    FROM integration_hist_range_service_zone(p_from, p_to, p_width, p_zone) h
    GROUP BY h.bucket, h.service_name;
    RETURN;
  END IF;
  RETURN QUERY
  SELECT r.bucket, r.service_name, integration_hist_percentile(array_agg(r.bin ORDER BY r.bin), array_agg(r.n ORDER BY r.bin), p_p)
  FROM integration_latency_hist_service_day r
  WHERE r.bucket >= k.d_lo AND r.bucket < k.d_hi
  GROUP BY r.bucket, r.service_name
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
-- so the same answer. Other zones and widths read integration_hist_range_service_zone.
CREATE OR REPLACE FUNCTION integration_hist_percentile_series_zone(p_from timestamptz, p_to timestamptz, p_width interval, p_services text[], p_ps float8[], p_zone text)
RETURNS TABLE (bucket timestamptz, ps float8[])
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  k record;
BEGIN
  SELECT * INTO k FROM integration_range_bounds(p_from, p_to, p_width);
  IF NOT integration_zone_same_as_utc(p_zone, p_width) OR p_width IS DISTINCT FROM interval '1 day' OR NOT (k.d_lo < k.d_hi) THEN
    RETURN QUERY
    SELECT m.bucket, ARRAY(SELECT integration_hist_percentile(m.bins, m.ns, p) FROM unnest(p_ps) WITH ORDINALITY AS q(p, i) ORDER BY q.i)
    FROM (SELECT g.bucket, array_agg(g.bin ORDER BY g.bin) AS bins, array_agg(g.n ORDER BY g.bin) AS ns
          FROM (SELECT h.bucket, h.bin, sum(h.n)::bigint AS n FROM integration_hist_range_service_zone(p_from, p_to, p_width, p_zone) h
                WHERE h.service_name = ANY(p_services) GROUP BY 1, 2) g
          GROUP BY g.bucket) m;
    RETURN;
  END IF;
  RETURN QUERY
  SELECT m.bucket, ARRAY(SELECT integration_hist_percentile(m.bins, m.ns, p) FROM unnest(p_ps) WITH ORDINALITY AS q(p, i) ORDER BY q.i)
  FROM (SELECT g.bucket, array_agg(g.bin ORDER BY g.bin) AS bins, array_agg(g.n ORDER BY g.bin) AS ns
        FROM (SELECT r.bucket, r.bin, sum(r.n)::bigint AS n FROM integration_latency_hist_service_day r
              WHERE r.bucket >= k.d_lo AND r.bucket < k.d_hi AND r.service_name = ANY(p_services) GROUP BY 1, 2
              UNION ALL
              SELECT h.bucket, h.bin, sum(h.n)::bigint FROM integration_hist_range_service(p_from, k.d_lo, p_width) h
              WHERE h.service_name = ANY(p_services) GROUP BY 1, 2
              UNION ALL
              SELECT h.bucket, h.bin, sum(h.n)::bigint FROM integration_hist_range_service(k.d_hi, p_to, p_width) h
              WHERE h.service_name = ANY(p_services) GROUP BY 1, 2) g
        GROUP BY g.bucket) m;
END
$$;
REVOKE ALL ON FUNCTION integration_hist_percentile_series_zone(timestamptz, timestamptz, interval, text[], float8[], text) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_hist_percentile_series_zone(timestamptz, timestamptz, interval, text[], float8[], text) TO authenticated, service_role, integration_monitor_reader;
