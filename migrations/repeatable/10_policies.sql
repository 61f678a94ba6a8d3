-- Every row-level security policy (first created by 003 and 004, changed by 008). RLS itself is
-- enabled where each table is created. Why each policy exists: docs/schema.md "Read policies and
-- the read claim". A policy cannot be CREATE OR REPLACEd, so each is dropped and created again;
-- this file runs in one transaction, so no reader ever sees a table without its policies.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);
-- DROP POLICY IF EXISTS of a policy not created yet says so in a NOTICE: nothing for the operator.
SET LOCAL client_min_messages = warning;

-- integration_logs: the seed's two policies keep their names; the read one checks the read claim.
DROP POLICY IF EXISTS integration_logs_service_role_all ON integration_logs;
CREATE POLICY integration_logs_service_role_all ON integration_logs FOR ALL TO service_role USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS integration_logs_read_authenticated ON integration_logs;
CREATE POLICY integration_logs_read_authenticated ON integration_logs FOR SELECT TO authenticated
  USING ((SELECT integration_read_allowed()));
DROP POLICY IF EXISTS integration_logs_read_monitor_reader ON integration_logs;
CREATE POLICY integration_logs_read_monitor_reader ON integration_logs FOR SELECT TO integration_monitor_reader USING (true);
-- anon: no grant, no policy.

-- Rollup tables: read-only for everyone (triggers write them); authenticated under the read claim,
-- service_role and the reader (a direct login without a JWT) by policies of their own.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['integration_rollup_minute', 'integration_rollup_hour', 'integration_rollup_day',
                           'integration_latency_hist_hour', 'integration_latency_hist_day',
                           'integration_latency_hist_service_hour', 'integration_latency_hist_service_day',
                           'integration_rollup_service_hour', 'integration_rollup_service_day',
                           'integration_rollup_zone_day', 'integration_rollup_zone_hour', 'integration_service_actions',
                           -- each day's slowest calls (019)
                           'integration_slowest_day',
                           -- which day zones are kept (011), read through integration_day_zone by the callers' readers
                           'integration_monitor_day_zones'] LOOP
    EXECUTE format('DROP POLICY IF EXISTS %I ON %I', t || '_read', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO authenticated USING ((SELECT integration_read_allowed()))', t || '_read', t);
    EXECUTE format('DROP POLICY IF EXISTS %I ON %I', t || '_read_service_role', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO service_role USING (true)', t || '_read_service_role', t);
    EXECUTE format('DROP POLICY IF EXISTS %I ON %I', t || '_read_monitor_reader', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO integration_monitor_reader USING (true)', t || '_read_monitor_reader', t);
  END LOOP;
END
$$;

-- The day zone list is read as its rows' readers may read (the loop above); only the owner writes it.
GRANT SELECT ON integration_monitor_day_zones TO authenticated, service_role, integration_monitor_reader;
