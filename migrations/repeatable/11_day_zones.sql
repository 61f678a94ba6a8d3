-- Configured day zones (tables: 011_zone_days.sql, 013_zone_hours.sql): adding one backfills its
-- days (and its hours where they are not UTC hours), removing one drops them. Kept exact afterwards by the rollup triggers (04_rollup_triggers.sql), read by the
-- zone readers (06_zone_reads.sql), trimmed by cleanup_integration_rollups (09_retention.sql).
-- See docs/schema.md "Time zones".

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

/**
 * Fills zone p_zone's hours that are not UTC hours (013) from p_from on, replacing what it had, and
 * sets its hours_from: under a SHARE lock on integration_logs, so no write is missed or counted
 * twice (the insert trigger keeps them from then on). Called by integration_add_day_zone, and at the
 * end of this file for zones configured before 013 (hours_from NULL; readers compose their hours
 * until it is set).
 */
CREATE OR REPLACE FUNCTION integration_fill_zone_hours(p_zone text, p_from timestamptz) RETURNS void
LANGUAGE plpgsql
SET jit = off
SET search_path FROM CURRENT
SET TimeZone = 'UTC'
SET lock_timeout = '60s'
AS $$
BEGIN
  LOCK TABLE integration_logs IN SHARE MODE;
  -- Its hours that are not UTC hours (013; none for a whole-hour zone): the sums of their raw rows,
  -- as the insert trigger makes them. Exactly what the composed read at 1 hour gives (such an hour
  -- is composed from minutes within the minute window and raw rows before it, 015; before the
  -- oldest raw row it is empty either way), in one scan of the raw rows instead of two range reads
  -- per hour. Summed to UTC quarter hours first (cheap
  -- date_bin), which no local hour boundary cuts (offsets are whole quarter hours), so date_trunc in
  -- the zone, the costly part, runs once per quarter hour rather than per minute.
  DELETE FROM integration_rollup_zone_hour WHERE zone = p_zone;
  INSERT INTO integration_rollup_zone_hour (zone, bucket, service_name, action, status, calls, duration_n, duration_sum,
                                            duration_min, duration_max, retry_sum, retried)
  SELECT p_zone, date_trunc('hour', q.bucket, p_zone), q.service_name, q.action, q.status,
         sum(q.calls), sum(q.duration_n), sum(q.duration_sum), min(q.duration_min), max(q.duration_max), sum(q.retry_sum), sum(q.retried)
  FROM (
    SELECT date_bin('15 minutes'::interval, l.created_at, '1970-01-01 00:00:00+00'::timestamptz) AS bucket, l.service_name, l.action, l.status,
           count(*) AS calls, count(l.duration_ms) AS duration_n, coalesce(sum(l.duration_ms), 0)::bigint AS duration_sum,
           min(l.duration_ms) AS duration_min, max(l.duration_ms) AS duration_max,
           coalesce(sum(l.retry_count), 0)::bigint AS retry_sum, count(*) FILTER (WHERE l.retry_count > 0) AS retried
    FROM integration_logs l WHERE l.created_at >= p_from GROUP BY 1, 2, 3, 4
  ) q
  WHERE date_trunc('hour', q.bucket, p_zone) <> date_bin('1 hour'::interval, q.bucket, '1970-01-01 00:00:00+00'::timestamptz)
  GROUP BY 2, 3, 4, 5 ORDER BY 2, 3, 4, 5;
  UPDATE integration_monitor_day_zones SET hours_from = p_from WHERE zone = p_zone;
END
$$;
REVOKE ALL ON FUNCTION integration_fill_zone_hours(text, timestamptz) FROM PUBLIC, anon, authenticated, service_role;

/**
 * Keeps days of zone p_zone from now on, and its hours where they are not UTC hours (:30/:45
 * offsets), and backfills them from the data there is. Returns the zone's stored name (its tz
 * database spelling), or NULL when there is nothing to do: UTC and its aliases, whose days are the
 * UTC day rollups. Idempotent: a zone already kept is left as it is.
 * Only what the API's `tz` reads the same way as Node: a name of pg_timezone_names shaped
 * Area/Location, any case (Asia/Kolkata, America/Indiana/Knox, Etc/GMT-5); anything else — POSIX
 * strings such as '<+05>-05' or 'EST5EDT,M3.2.0,M11.1.0', abbreviations, offsets, single names
 * like Japan — is 22023. At most 4 zones are kept (each adds work to every insert's triggers and a
 * backfill under a SHARE lock): a fifth is 54000, naming those kept.
 *
 * Concurrency: the backfill runs in the caller's transaction under a SHARE lock on integration_logs,
 * which conflicts with every INSERT/UPDATE/DELETE (ROW EXCLUSIVE) and partition drop: writers wait
 * until the zone is committed (and from then on their triggers keep its days), so no row is missed
 * or counted twice. Readers are not blocked. The wait is the backfill's length: a read of the whole
 * history at the hour (whole-hour zones) or minute (:30/:45 zones) level, plus for its hours one
 * scan of the minute rollups (90 days by default) — run it when a pause of
 * that length in ingestion is acceptable (the recorder buffers meanwhile). A second add of any zone
 * queues behind the first (SHARE ROW EXCLUSIVE on integration_monitor_day_zones).
 * What the backfill cannot know: days whose hour or minute rollups retention already removed read
 * as the composed reads did (integration_range_agg in that zone over the same range).
 */
CREATE OR REPLACE FUNCTION integration_add_day_zone(p_zone text) RETURNS text
LANGUAGE plpgsql
SET jit = off
SECURITY DEFINER -- writes owner-only tables and takes the table locks; only service_role may call it
SET search_path FROM CURRENT
SET TimeZone = 'UTC'
-- a long transaction holding integration_logs (a stuck writer) makes it fail rather than wait on
SET lock_timeout = '60s'
AS $$
DECLARE
  max_zones constant integer := 4; -- docs/schema.md "Time zones"
  name text;
  kept text[];
BEGIN
  IF p_zone IS NULL OR btrim(p_zone) = '' THEN
    RAISE EXCEPTION 'a time zone name is required' USING ERRCODE = '22023';
  END IF;
  IF integration_zone_same_as_utc(p_zone, interval '1 day') THEN
    RETURN NULL;
  END IF;
  IF p_zone ~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){1,2}$' THEN
    name := (SELECT n.name FROM pg_timezone_names n WHERE lower(n.name) = lower(p_zone) ORDER BY n.name LIMIT 1);
  END IF;
  IF name IS NULL THEN
    RAISE EXCEPTION 'time zone "%" is not an IANA zone name (Area/Location, such as Asia/Kolkata)', left(p_zone, 80) USING ERRCODE = '22023';
  END IF;
  -- the count under the lock integration_keep_day_zone takes anyway, so two adds cannot both fit
  LOCK TABLE integration_monitor_day_zones IN SHARE ROW EXCLUSIVE MODE;
  SELECT array_agg(z.zone ORDER BY z.zone) INTO kept FROM integration_monitor_day_zones z;
  IF coalesce(cardinality(kept), 0) >= max_zones AND NOT lower(name) = ANY (SELECT lower(k) FROM unnest(kept) k) THEN
    RAISE EXCEPTION 'at most % day zones are kept (now: %): remove one first (integration-monitor day-zones remove <zone>)', max_zones, array_to_string(kept, ', ')
      USING ERRCODE = '54000';
  END IF;
  RETURN integration_keep_day_zone(name);
END
$$;

/**
 * What integration_add_day_zone does once the name is checked: any zone TimeZone takes, no cap.
 * Owner only: zones kept before the rules above (a POSIX zone, a fifth zone) stay kept and read
 * exactly, and tests keep such zones through it.
 */
CREATE OR REPLACE FUNCTION integration_keep_day_zone(p_zone text) RETURNS text
LANGUAGE plpgsql
SET jit = off
SET search_path FROM CURRENT
SET TimeZone = 'UTC'
SET lock_timeout = '60s'
AS $$
DECLARE
  name text;
  lo timestamptz;
  hi timestamptz;
BEGIN
  -- 22023 "time zone ... not recognized" for an unknown one
  PERFORM date_trunc('day', now(), p_zone);
  IF integration_zone_same_as_utc(p_zone, interval '1 day') THEN
    RETURN NULL;
  END IF;
  name := coalesce((SELECT n.name FROM pg_timezone_names n WHERE lower(n.name) = lower(p_zone) ORDER BY n.name LIMIT 1), p_zone);

  LOCK TABLE integration_monitor_day_zones IN SHARE ROW EXCLUSIVE MODE;
  IF EXISTS (SELECT 1 FROM integration_monitor_day_zones z WHERE lower(z.zone) = lower(name)) THEN
    RETURN (SELECT z.zone FROM integration_monitor_day_zones z WHERE lower(z.zone) = lower(name));
  END IF;
  LOCK TABLE integration_logs IN SHARE MODE;
  -- complete_from stays NULL until the days are in: readers compose meanwhile (and, in this
  -- transaction, the backfill's own read below must compose too)
  INSERT INTO integration_monitor_day_zones (zone) VALUES (name);
  DELETE FROM integration_rollup_zone_day WHERE zone = name;
  -- The data's extent, day-aligned in the zone: the day rollups go back furthest.
  SELECT date_trunc('day', least(min(d.bucket), now()), name), greatest(max(d.bucket) + interval '24 hours', now())
    INTO lo, hi FROM integration_rollup_day d;
  hi := date_trunc('day', hi + interval '30 hours', name); -- the local midnight after it
  INSERT INTO integration_rollup_zone_day (zone, bucket, service_name, action, status, calls, duration_n, duration_sum,
                                           duration_min, duration_max, retry_sum, retried)
  SELECT name, r.bucket, r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum,
         r.duration_min, r.duration_max, r.retry_sum, r.retried
  FROM integration_range_agg(lo, hi, interval '1 day', name) r
  ORDER BY 2, 3, 4, 5;
  PERFORM integration_fill_zone_hours(name, lo);
  UPDATE integration_monitor_day_zones SET complete_from = lo WHERE zone = name;
  RETURN name;
END
$$;

/**
 * Stops keeping days (and hours) of zone p_zone and deletes them; true when it was kept. Under the same locks
 * as integration_add_day_zone (briefly), so no writer's trigger that still saw the zone adds a row
 * after the delete.
 */
CREATE OR REPLACE FUNCTION integration_remove_day_zone(p_zone text) RETURNS boolean
LANGUAGE plpgsql
SET jit = off
SECURITY DEFINER
SET search_path FROM CURRENT
SET lock_timeout = '60s'
AS $$
DECLARE
  name text;
BEGIN
  LOCK TABLE integration_monitor_day_zones IN SHARE ROW EXCLUSIVE MODE;
  LOCK TABLE integration_logs IN SHARE MODE;
  DELETE FROM integration_monitor_day_zones z WHERE lower(z.zone) = lower(p_zone) RETURNING z.zone INTO name;
  IF name IS NULL THEN
    RETURN false;
  END IF;
  DELETE FROM integration_rollup_zone_day WHERE zone = name;
  DELETE FROM integration_rollup_zone_hour WHERE zone = name;
  RETURN true;
END
$$;

/** The configured day zones, with the first day each holds whole and how many day rows it keeps. */
CREATE OR REPLACE FUNCTION integration_day_zones()
RETURNS TABLE (zone text, complete_from timestamptz, added_at timestamptz, day_rows bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
  SELECT z.zone, z.complete_from, z.added_at, (SELECT count(*) FROM integration_rollup_zone_day r WHERE r.zone = z.zone)
  FROM integration_monitor_day_zones z ORDER BY z.zone
$$;

REVOKE ALL ON FUNCTION integration_keep_day_zone(text) FROM PUBLIC, anon, authenticated, service_role, integration_monitor_reader;
-- Operators only: the owner (the migrating role) and service_role.
REVOKE ALL ON FUNCTION integration_add_day_zone(text), integration_remove_day_zone(text), integration_day_zones()
  FROM PUBLIC, anon, authenticated, service_role, integration_monitor_reader;
GRANT EXECUTE ON FUNCTION integration_add_day_zone(text), integration_remove_day_zone(text), integration_day_zones() TO service_role;

-- Zones configured before 013 (or whose hours were never filled): their hours, once.
SELECT integration_fill_zone_hours(z.zone, z.complete_from)
FROM integration_monitor_day_zones z WHERE z.hours_from IS NULL AND z.complete_from IS NOT NULL;
