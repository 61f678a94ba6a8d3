-- 003 privileges and row-level security on integration_logs.
--
-- Policies are named as in the seed: integration_logs_service_role_all (service_role: everything)
-- and integration_logs_read_authenticated (authenticated: SELECT only). anon: no grant, no policy.
-- (The rollup tables, views and functions get their own grants where they are created.)

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- Supabase's default privileges grant every new table in public to anon/authenticated/service_role;
-- revoke explicitly so that only the grants below exist.
REVOKE ALL ON integration_logs, integration_logs_default FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON integration_logs TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON integration_logs TO service_role;

ALTER TABLE integration_logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY integration_logs_service_role_all ON integration_logs FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY integration_logs_read_authenticated ON integration_logs FOR SELECT TO authenticated USING (true);
-- anon: no grant, no policy.
