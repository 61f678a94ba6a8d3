-- 011 zone days: a day level kept in the time zones an operator configures.
--
-- A day of a zone that is not UTC-aligned was composed from 24 hour rollups per (service, action,
-- status), plus minute rollups or raw rows around a :30/:45 midnight (009): 10-30x a UTC day's
-- read. For the zones people actually read in (MONITOR_TIMEZONE, `integration-monitor day-zones
-- add`), integration_rollup_zone_day holds those days whole, kept exact by the same triggers as the
-- UTC levels; the zone readers use it for every local day a range holds whole
-- (repeatable/06_zone_reads.sql). Functions, triggers and policies: repeatable/04, 06, 09, 10 and
-- 11_day_zones.sql; docs/schema.md "Time zones".

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- The columns of integration_rollup_day, per zone; bucket is the local midnight (date_trunc('day',
-- …, zone)), so a DST day is one row covering 23 or 25 hours.
CREATE TABLE integration_rollup_zone_day (
  zone text NOT NULL,
  bucket timestamptz NOT NULL,
  service_name text NOT NULL,
  action text NOT NULL,
  status text NOT NULL,
  calls bigint NOT NULL,
  duration_n bigint NOT NULL,
  duration_sum bigint NOT NULL,
  duration_min integer,
  duration_max integer,
  retry_sum bigint NOT NULL,
  retried bigint NOT NULL,
  PRIMARY KEY (zone, bucket, service_name, action, status)
);
-- Read-only like the other rollups (only the SECURITY DEFINER triggers and functions write).
REVOKE ALL ON integration_rollup_zone_day FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON integration_rollup_zone_day TO authenticated, service_role, integration_monitor_reader;
ALTER TABLE integration_rollup_zone_day ENABLE ROW LEVEL SECURITY;

-- The configured zones. complete_from: local days starting at or after it are whole in
-- integration_rollup_zone_day (set by integration_add_day_zone once its backfill is done; NULL
-- until then, and readers ignore the zone). Owner-only like integration_monitor_settings (RLS on,
-- no policy, no grant): readers learn a zone's complete_from through integration_day_zone().
CREATE TABLE integration_monitor_day_zones (
  zone text PRIMARY KEY,
  complete_from timestamptz,
  added_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON integration_monitor_day_zones FROM PUBLIC, anon, authenticated, service_role;
ALTER TABLE integration_monitor_day_zones ENABLE ROW LEVEL SECURITY;
