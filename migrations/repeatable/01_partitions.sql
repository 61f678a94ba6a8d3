-- Weekly partitions of integration_logs: naming, bounds, creation (first created by 001).

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- UTC day boundaries, whatever the session's TimeZone.
CREATE OR REPLACE FUNCTION integration_day_start(ts timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_bin('1 day'::interval, ts, '1970-01-01 00:00:00+00'::timestamptz);

CREATE OR REPLACE FUNCTION integration_log_partition_name(day timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'integration_logs_p' || to_char(day AT TIME ZONE 'UTC', 'YYYYMMDD');

CREATE OR REPLACE FUNCTION integration_week_start(ts timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_bin('7 days'::interval, ts, '2000-01-03 00:00:00+00'::timestamptz); -- a Monday

/** The bounds of every non-default partition of integration_logs. */
CREATE OR REPLACE FUNCTION integration_log_partitions()
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

/**
 * A weekly partition's created_at index: a BRIN (018). Rows reach a week in time order (the recorder
 * writes them as they happen; rows moved out of the default partition are sorted), so each 32-page
 * range covers a short stretch of time and a range read finds its pages for ~0.5 MB in all at 1M
 * calls instead of a 21.7 MB B-tree. Per partition rather than on the parent, because the default
 * partition holds rows in any order and keeps a B-tree (018).
 */
CREATE OR REPLACE FUNCTION integration_index_log_partition(p_partition text)
RETURNS void
LANGUAGE plpgsql
SET jit = off
SET search_path FROM CURRENT
AS $$
BEGIN
  IF to_regclass(p_partition || '_created_at_brin') IS NULL THEN
    EXECUTE format('CREATE INDEX %I ON %I USING brin (created_at) WITH (pages_per_range = 32, autosummarize = on)',
                   p_partition || '_created_at_brin', p_partition);
  END IF;
END
$$;

/** Creates partition [lo, hi), moving any rows the default partition holds for it. */
CREATE OR REPLACE FUNCTION integration_create_log_partition(lo timestamptz, hi timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET jit = off
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
     INSERT INTO %I SELECT * FROM moved ORDER BY created_at', name) USING lo, hi; -- in time order, for its BRIN
  GET DIAGNOSTICS n = ROW_COUNT;
  EXECUTE format('ALTER TABLE integration_logs ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
  PERFORM integration_index_log_partition(name);
  EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, anon, authenticated, service_role', name);
  IF n > 0 THEN
    RAISE NOTICE 'integration_logs: moved % rows from the default partition into %', n, name;
  END IF;
  RETURN n;
END
$$;

/**
 * Creates the weekly partitions covering [lo, hi] (the weeks of lo, of hi and every week between)
 * that do not exist yet; a week that some existing partition already overlaps is left alone. Rows
 * already in the default partition for a new week are moved into it (and reported), never left
 * behind. Call it before loading history (INSERT … SELECT from an export) so that the rows land in
 * weekly partitions, where retention drops them. Returns one row per partition created.
 */
CREATE OR REPLACE FUNCTION integration_ensure_log_partitions_between(lo timestamptz, hi timestamptz)
RETURNS TABLE (partition_name text, moved_rows bigint)
LANGUAGE plpgsql
SET jit = off
SECURITY DEFINER -- DDL needs the table owner; only service_role may call it
SET search_path FROM CURRENT
AS $$
DECLARE
  w timestamptz;
BEGIN
  -- Serialise with concurrent callers and with inserts routed to the default partition.
  LOCK TABLE integration_logs_default IN SHARE ROW EXCLUSIVE MODE;
  w := integration_week_start(lo);
  WHILE w <= hi LOOP
    IF NOT EXISTS (SELECT 1 FROM integration_log_partitions() p WHERE p.lo < w + interval '7 days' AND p.hi > w) THEN
      partition_name := integration_log_partition_name(w);
      moved_rows := integration_create_log_partition(w, w + interval '7 days');
      RETURN NEXT;
    END IF;
    w := w + interval '7 days';
  END LOOP;
END
$$;

/**
 * The maintenance run's partitions: those covering [today - days_back, today + days_ahead] (UTC
 * days), then one for every week that rows in the default partition belong to (history loaded
 * without its partitions, a clock far off), the rows moved into it, so that nothing stays where
 * retention's partition drop cannot reach it. Returns one row per partition created.
 */
CREATE OR REPLACE FUNCTION ensure_integration_log_partitions(days_ahead integer DEFAULT 7, days_back integer DEFAULT 0)
RETURNS TABLE (partition_name text, moved_rows bigint)
LANGUAGE plpgsql
SET jit = off
SECURITY DEFINER -- DDL needs the table owner; only service_role may call it
SET search_path FROM CURRENT
AS $$
DECLARE
  w timestamptz;
BEGIN
  RETURN QUERY SELECT * FROM integration_ensure_log_partitions_between(
    integration_day_start(now()) - make_interval(days => days_back), integration_day_start(now()) + make_interval(days => days_ahead));
  -- (Locked by the call above: no row can reach the default partition meanwhile.)
  FOR w IN SELECT DISTINCT integration_week_start(d.created_at) FROM integration_logs_default d ORDER BY 1 LOOP
    RETURN QUERY SELECT * FROM integration_ensure_log_partitions_between(w, w);
  END LOOP;
END
$$;

REVOKE ALL ON FUNCTION integration_create_log_partition(timestamptz, timestamptz) FROM PUBLIC, anon, authenticated, service_role;
REVOKE ALL ON FUNCTION integration_index_log_partition(text) FROM PUBLIC, anon, authenticated, service_role;
REVOKE ALL ON FUNCTION integration_log_partitions() FROM PUBLIC, anon;
REVOKE ALL ON FUNCTION ensure_integration_log_partitions(integer, integer) FROM PUBLIC, anon, authenticated, service_role;
REVOKE ALL ON FUNCTION integration_ensure_log_partitions_between(timestamptz, timestamptz) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION ensure_integration_log_partitions(integer, integer) TO service_role;
GRANT EXECUTE ON FUNCTION integration_ensure_log_partitions_between(timestamptz, timestamptz) TO service_role;

-- Weeks created before 018 (or by hand) get their BRIN when this file is applied.
SELECT integration_index_log_partition(p.partition_name) FROM integration_log_partitions() p;
