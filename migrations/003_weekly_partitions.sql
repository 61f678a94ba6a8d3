-- 003 weekly partitions, and range reads the planner can prune.
--
-- Measured (bench, 100k rows over 120 days, PG 17, this 2-core machine): with one partition per day
-- (~130 partitions) a query the planner cannot prune at plan time pays for every partition and its
-- indexes: the failures list planned in 6–11 ms warm (113 ms on a fresh connection) for 2 ms of
-- execution, integration_range_agg over 24 h planned in 17–33 ms. Planning cost grows with the
-- partition count, so partitions become weekly (Monday 00:00 UTC; ~14 for 90-day retention, ~19
-- for the bench's 120 days).
-- The price: the partition straddling the retention cutoff is DELETEd from day by day until the
-- whole week is past the cutoff (at most 6 days of rows; a daily 00:05 run deletes one day's worth).
-- Those dead tuples live only in a partition that is dropped within the week, so they never bloat
-- the live data.
--
-- Existing daily partitions stay; ensure_integration_log_partitions now creates a week's partition
-- when no existing partition overlaps that week, and otherwise daily partitions for the days no
-- partition covers yet, so old and new layouts coexist without gaps or overlaps.
--
-- The range functions also bound their raw-row branches by p_from/p_to directly (besides the
-- computed edges), so when the bounds are bind parameters the planner prunes to the partitions
-- of [p_from, p_to) instead of planning every partition.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

CREATE FUNCTION integration_week_start(ts timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_bin('7 days'::interval, ts, '2000-01-03 00:00:00+00'::timestamptz); -- a Monday

/** The bounds of every non-default partition of integration_logs. */
CREATE FUNCTION integration_log_partitions()
RETURNS TABLE (partition_name text, lo timestamptz, hi timestamptz)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $$
  SELECT c.relname::text, (m)[1]::timestamptz, (m)[2]::timestamptz
  FROM pg_inherits i
  JOIN pg_class c ON c.oid = i.inhrelid
  CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') AS m
  WHERE i.inhparent = 'integration_logs'::regclass AND m IS NOT NULL
$$;

/** Creates partition [lo, hi), moving any rows the default partition holds for it. */
CREATE FUNCTION integration_create_log_partition(lo timestamptz, hi timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
DECLARE
  name text := integration_log_partition_name(lo);
  n bigint;
BEGIN
  EXECUTE format('CREATE TABLE %I (LIKE integration_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
  EXECUTE format(
    'WITH moved AS (DELETE FROM integration_logs_default WHERE created_at >= $1 AND created_at < $2 RETURNING *)
     INSERT INTO %I SELECT * FROM moved', name) USING lo, hi;
  GET DIAGNOSTICS n = ROW_COUNT;
  EXECUTE format('ALTER TABLE integration_logs ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
  EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, anon, authenticated, service_role', name);
  IF n > 0 THEN
    RAISE NOTICE 'integration_logs: moved % rows from the default partition into %', n, name;
  END IF;
  RETURN n;
END
$$;

/**
 * Creates the partitions covering [today - days_back, today + days_ahead] (UTC days) that do not
 * exist yet: whole weeks where nothing overlaps, single days where an older daily partition
 * already covers part of the week. Rows already in the default partition for a new range are moved
 * into it (and reported), never left behind. Returns one row per partition created.
 */
CREATE OR REPLACE FUNCTION ensure_integration_log_partitions(days_ahead integer DEFAULT 7, days_back integer DEFAULT 0)
RETURNS TABLE (partition_name text, moved_rows bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
DECLARE
  first_day timestamptz := integration_day_start(now()) - make_interval(days => days_back);
  last_day timestamptz := integration_day_start(now()) + make_interval(days => days_ahead);
  w timestamptz;
  d timestamptz;
BEGIN
  -- Serialise with concurrent callers and with inserts routed to the default partition.
  LOCK TABLE integration_logs_default IN SHARE ROW EXCLUSIVE MODE;
  w := integration_week_start(first_day);
  WHILE w <= last_day LOOP
    IF NOT EXISTS (SELECT 1 FROM integration_log_partitions() p WHERE p.lo < w + interval '7 days' AND p.hi > w) THEN
      partition_name := integration_log_partition_name(w);
      moved_rows := integration_create_log_partition(w, w + interval '7 days');
      RETURN NEXT;
    ELSE
      d := w;
      WHILE d < w + interval '7 days' LOOP
        IF d >= first_day AND d <= last_day
           AND NOT EXISTS (SELECT 1 FROM integration_log_partitions() p WHERE p.lo < d + interval '1 day' AND p.hi > d) THEN
          partition_name := integration_log_partition_name(d);
          moved_rows := integration_create_log_partition(d, d + interval '1 day');
          RETURN NEXT;
        END IF;
        d := d + interval '1 day';
      END LOOP;
    END IF;
    w := w + interval '7 days';
  END LOOP;
END
$$;

REVOKE ALL ON FUNCTION integration_create_log_partition(timestamptz, timestamptz) FROM PUBLIC, anon, authenticated, service_role;
REVOKE ALL ON FUNCTION integration_log_partitions() FROM PUBLIC, anon;
REVOKE ALL ON FUNCTION ensure_integration_log_partitions(integer, integer) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION ensure_integration_log_partitions(integer, integer) TO service_role;

CREATE OR REPLACE FUNCTION integration_range_agg(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, service_name text, action text, status text, calls bigint, duration_n bigint,
               duration_sum bigint, duration_min integer, duration_max integer, retry_sum bigint, retried bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT CASE WHEN p_width IS NULL THEN p_from ELSE date_bin(p_width, x.b, '1970-01-01 00:00:00+00'::timestamptz) END,
         x.service_name, x.action, x.status,
         sum(x.calls)::bigint, sum(x.duration_n)::bigint, sum(x.duration_sum)::bigint, min(x.duration_min), max(x.duration_max),
         sum(x.retry_sum)::bigint, sum(x.retried)::bigint
  FROM integration_range_bounds(p_from, p_to, p_width) k
  CROSS JOIN LATERAL (
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
    FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < p_to AND l.created_at < k.m_lo
    UNION ALL
    SELECT l.created_at, l.service_name, l.action, l.status, 1::bigint, (l.duration_ms IS NOT NULL)::integer::bigint,
           coalesce(l.duration_ms, 0)::bigint, l.duration_ms, l.duration_ms, coalesce(l.retry_count, 0)::bigint,
           (coalesce(l.retry_count, 0) > 0)::integer::bigint
    FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < p_to AND l.created_at >= k.m_hi
  ) x
  GROUP BY 1, 2, 3, 4;
END;

CREATE OR REPLACE FUNCTION integration_hist_range(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, service_name text, action text, status text, bin integer, n bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT CASE WHEN p_width IS NULL THEN p_from ELSE date_bin(p_width, x.b, '1970-01-01 00:00:00+00'::timestamptz) END,
         x.service_name, x.action, x.status, x.bin, sum(x.n)::bigint
  FROM integration_range_bounds(p_from, p_to, p_width) k
  CROSS JOIN LATERAL (
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
    FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < p_to AND l.created_at < k.m_lo AND l.duration_ms IS NOT NULL
    UNION ALL
    SELECT l.created_at, l.service_name, l.action, l.status, integration_latency_bin(l.duration_ms), 1::bigint
    FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < p_to AND l.created_at >= k.m_hi AND l.duration_ms IS NOT NULL
  ) x
  GROUP BY 1, 2, 3, 4, 5;
END;

-- Upcoming weeks under the new layout (days already covered by daily partitions are skipped).
SELECT count(*) FROM ensure_integration_log_partitions(7, 0);
