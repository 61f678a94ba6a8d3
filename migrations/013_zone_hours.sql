-- 013 zone hours: an hour level kept for the configured day zones (011) where their local hours are
-- not UTC hours.
--
-- In a :30/:45 zone (Asia/Kolkata, Asia/Kathmandu, America/St_Johns, Australia/Adelaide) every local
-- hour is two half hours of the UTC levels, read from 60 minute rollups per (service, action, status):
-- the hourly view was 5-9x its UTC time. integration_rollup_zone_hour holds those hours whole, kept
-- by the same triggers as zone days; whole-hour zones store nothing (their hours are UTC hours).
-- Functions, triggers and policies: repeatable/04, 06, 09, 10 and 11_day_zones.sql; docs/schema.md
-- "Day zones".

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- The columns of integration_rollup_zone_day; bucket is the local hour (date_trunc('hour', …, zone)),
-- only ever one that is not a UTC hour start.
-- The zone-day table's columns and key: (zone, bucket, service_name, action, status).
CREATE TABLE integration_rollup_zone_hour (LIKE integration_rollup_zone_day INCLUDING ALL);
-- Read-only like the other rollups (only the SECURITY DEFINER triggers and functions write).
REVOKE ALL ON integration_rollup_zone_hour FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON integration_rollup_zone_hour TO authenticated, service_role, integration_monitor_reader;
ALTER TABLE integration_rollup_zone_hour ENABLE ROW LEVEL SECURITY;

-- When a zone's hours are in: NULL until then, and readers compose its hours meanwhile. Zones
-- configured before this migration get theirs when repeatable/11_day_zones.sql runs next (right
-- after this file: integration_fill_zone_hours under the same lock as an add).
ALTER TABLE integration_monitor_day_zones ADD COLUMN hours_from timestamptz;
