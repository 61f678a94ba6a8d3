-- Where the monitor's bytes go, and what a retention period at the current rate will take: what
-- `integration-monitor doctor` prints (src/cli/doctor.ts; docs/scaling.md "Storage").

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

/**
 * One row per table of the monitor (integration_*; a partitioned table with all its partitions):
 * its rows (the planner's estimate, no scan), its bytes now (heap, indexes and TOAST), and what
 * p_days of data would take at the current rate:
 *   integration_logs: bytes per row now × calls per day × p_days, the calls per day being those of
 *     the last 7 days / 7 (the week's heap pages, found by the BRIN on created_at: ~600k rows at
 *     10M calls);
 *   a rollup table (one with a bucket column): bytes now per day it covers × p_days, at most 8
 *     days for the minute level (its window, 015);
 *   anything else (settings, the service list): as it is now.
 * calls_per_day is the same on every row. Only sizes and counts come out, so it runs as its owner
 * (the rollups' policies do not matter here); service_role may call it.
 */
CREATE OR REPLACE FUNCTION integration_storage_report(p_days integer DEFAULT 90)
RETURNS TABLE (relation text, row_estimate bigint, bytes bigint, days_covered float8, projected_bytes bigint, calls_per_day float8)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
SET jit = off
AS $$
DECLARE
  r record;
  lo timestamptz;
  hi timestamptz;
  rate float8;
  width interval;
BEGIN
  IF p_days IS NULL OR p_days <= 0 THEN
    RAISE EXCEPTION 'p_days must be a positive number of days, got %', p_days USING ERRCODE = '22023';
  END IF;
  SELECT count(*) / 7.0 INTO rate FROM integration_logs l WHERE l.created_at >= now() - interval '7 days' AND l.created_at < now();
  FOR r IN
    SELECT c.oid, c.relname::text AS name,
           -- a plain table is its own only leaf (pg_partition_tree returns nothing for it)
           (SELECT sum(greatest(t.reltuples, 0))::bigint FROM pg_class t
            WHERE t.oid = c.oid AND c.relkind = 'r' OR t.oid IN (SELECT p.relid FROM pg_partition_tree(c.oid) p WHERE p.isleaf)) AS n,
           (SELECT sum(pg_total_relation_size(t.oid))::bigint FROM pg_class t
            WHERE t.oid = c.oid AND c.relkind = 'r' OR t.oid IN (SELECT p.relid FROM pg_partition_tree(c.oid) p WHERE p.isleaf)) AS b,
           EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'bucket' AND NOT a.attisdropped) AS bucketed
    FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND c.relname LIKE 'integration\_%'
    ORDER BY 4 DESC, 2
  LOOP
    relation := r.name;
    row_estimate := coalesce(r.n, 0);
    bytes := coalesce(r.b, 0);
    calls_per_day := rate;
    days_covered := NULL;
    IF r.name = 'integration_logs' THEN
      -- each known service's first and last call from the service index (created_at alone has only
      -- a BRIN since 018, which gives no order)
      SELECT min(e.lo), max(e.hi) INTO lo, hi
      FROM (SELECT DISTINCT s.service_name FROM integration_service_actions s) k
      CROSS JOIN LATERAL (SELECT (SELECT min(l.created_at) FROM integration_logs l WHERE l.service_name = k.service_name) AS lo,
                                 (SELECT max(l.created_at) FROM integration_logs l WHERE l.service_name = k.service_name) AS hi) e;
      days_covered := extract(epoch FROM hi - lo) / 86400;
      projected_bytes := CASE WHEN row_estimate > 0 THEN round(bytes::float8 / row_estimate * rate * p_days) ELSE bytes END;
    ELSIF r.bucketed THEN
      width := CASE WHEN r.name LIKE '%minute%' THEN interval '1 minute' WHEN r.name LIKE '%day%' THEN interval '1 day' ELSE interval '1 hour' END;
      EXECUTE format('SELECT min(bucket), max(bucket) FROM %I', r.name) INTO lo, hi;
      days_covered := extract(epoch FROM hi + width - lo) / 86400;
      projected_bytes := CASE WHEN days_covered > 0
                              THEN round(bytes / days_covered * CASE WHEN r.name LIKE '%minute%' THEN least(p_days, 8) ELSE p_days END)
                              ELSE bytes END;
    ELSE
      projected_bytes := bytes;
    END IF;
    RETURN NEXT;
  END LOOP;
END
$$;

REVOKE ALL ON FUNCTION integration_storage_report(integer) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION integration_storage_report(integer) TO service_role;
