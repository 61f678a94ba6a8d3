-- Retention (first created by 006; cleanup_integration_rollups as 007 left it). Both run daily:
-- through pg_cron when available, else in-process (src/db/scheduler.ts), together with
-- ensure_integration_log_partitions (01_partitions.sql).

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

/**
 * Removes raw rows older than `retention`: whole partitions entirely before the cutoff are counted
 * and dropped (no dead tuples, no vacuum debt), then only the remainder (the default partition and
 * the partition straddling the cutoff) is DELETEd. Returns the number of rows removed.
 * The remainder DELETE sets integration_monitor.retention for the transaction so that the rollup
 * triggers (04_rollup_triggers.sql) keep their totals: retention removes raw detail, not history.
 * The cutoff is rounded down to a whole minute so a per-minute rollup never covers half-deleted
 * raw rows.
 */
CREATE OR REPLACE FUNCTION cleanup_old_integration_logs(retention interval DEFAULT '90 days')
RETURNS bigint
LANGUAGE plpgsql
SET jit = off
SECURITY DEFINER -- dropping partitions needs the table owner; only service_role may call it
SET search_path FROM CURRENT
AS $$
DECLARE
  cutoff timestamptz := date_bin('1 minute'::interval, now() - retention, '1970-01-01 00:00:00+00'::timestamptz);
  part record;
  n bigint;
  total bigint := 0;
  gs text[];
  ga text[];
  gd timestamptz[];
BEGIN
  IF retention IS NULL OR retention <= interval '0' THEN
    RAISE EXCEPTION 'retention must be a positive interval, got %', retention;
  END IF;
  FOR part IN
    SELECT c.oid::regclass AS rel, c.relname
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'integration_logs'::regclass
      AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
      -- upper bound of "FOR VALUES FROM ('…') TO ('…')"
      AND (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz <= cutoff
    ORDER BY c.relname
  LOOP
    EXECUTE format('SELECT count(*) FROM %s', part.rel) INTO n;
    EXECUTE format('ALTER TABLE integration_logs DETACH PARTITION %s', part.rel);
    EXECUTE format('DROP TABLE %s', part.rel);
    total := total + n;
  END LOOP;

  PERFORM set_config('integration_monitor.retention', 'on', true);
  DELETE FROM integration_logs WHERE created_at < cutoff;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM set_config('integration_monitor.retention', 'off', true);

  -- each day's slowest calls (019) point at raw rows: days before the cutoff's go, and the day the
  -- cutoff cuts is refilled from the rows it keeps
  DELETE FROM integration_slowest_day WHERE bucket < date_bin('1 day'::interval, cutoff, '1970-01-01 00:00:00+00'::timestamptz);
  SELECT array_agg(g.service_name), array_agg(g.action), array_agg(g.bucket) INTO gs, ga, gd
  FROM (SELECT DISTINCT s.service_name, s.action, s.bucket FROM integration_slowest_day s WHERE s.created_at < cutoff) g;
  IF gs IS NOT NULL THEN
    PERFORM integration_slowest_refill(gs, ga, gd);
  END IF;
  RETURN total + n;
END
$$;

REVOKE ALL ON FUNCTION cleanup_old_integration_logs(interval) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION cleanup_old_integration_logs(interval) TO service_role;

/**
 * Deletes rollup buckets older than `retention` (hour and day levels, histograms, zone days and zone hours included) and
 * minute-level buckets older than `minute_retention` or the minute window (015: minutes before
 * integration_minute_kept_from(), 8 days back, are never read). Returns the number of rollup rows removed.
 */
CREATE OR REPLACE FUNCTION cleanup_integration_rollups(retention interval DEFAULT '400 days', minute_retention interval DEFAULT '90 days')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
SET jit = off
AS $$
DECLARE
  cutoff timestamptz := date_bin('1 day'::interval, now() - retention, '1970-01-01 00:00:00+00'::timestamptz);
  mcutoff timestamptz := greatest(date_bin('1 minute'::interval, now() - minute_retention, '1970-01-01 00:00:00+00'::timestamptz),
                                  integration_minute_kept_from());
  n bigint;
  total bigint := 0;
  lvl record;
BEGIN
  IF retention IS NULL OR retention <= interval '0' OR minute_retention IS NULL OR minute_retention <= interval '0' THEN
    RAISE EXCEPTION 'retentions must be positive intervals';
  END IF;
  -- every bucketed level of the level table (04_rollup_triggers.sql): zone days (011) by the same
  -- cutoff (a local day starting before it goes with the UTC day it began in), zone hours (013) kept
  -- as long as the UTC hours (a :30/:45 hour older than minute retention could not be composed
  -- again: its halves are minute rows, so the level is what keeps it exact)
  FOR lvl IN SELECT l.tbl, l.unit FROM integration_rollup_levels() l WHERE l.unit IS NOT NULL ORDER BY l.write_order LOOP
    EXECUTE format('DELETE FROM %I WHERE bucket < $1', lvl.tbl) USING CASE WHEN lvl.unit = 'minute' THEN mcutoff ELSE cutoff END;
    GET DIAGNOSTICS n = ROW_COUNT;
    total := total + n;
  END LOOP;
  RETURN total;
END
$$;

REVOKE ALL ON FUNCTION cleanup_integration_rollups(interval, interval) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION cleanup_integration_rollups(interval, interval) TO service_role;
