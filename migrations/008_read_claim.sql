-- 008 read claim: which `authenticated` callers may read the logs, in one database setting.
--
-- On Supabase every signed-in end user is `authenticated`, so the seed's "read only" policy
-- (USING (true)) lets any customer of the app read every logged call through PostgREST. The setting
--   ALTER DATABASE <db> SET intmon.read_claim = 'app_metadata.role=admin';   (or ALTER ROLE … SET)
-- or, where that is refused,
--   UPDATE integration_monitor_settings SET read_claim = 'app_metadata.role=admin';
-- names a claim (`path.to.claim=value`) that `request.jwt.claims` — what PostgREST and our API set
-- per request — must carry before an `authenticated` caller reads anything: integration_logs, the
-- rollup tables, and through them the security_invoker views and the read functions (all of which
-- run as the caller; none is SECURITY DEFINER, see test/db/read-claim.test.ts). Unset or empty: the
-- seed's behaviour.
--
-- Who else reads:
--   service_role: its own policies (integration_logs_service_role_all; <table>_read_service_role
--     below), and on Supabase it bypasses RLS anyway.
--   integration_monitor_reader (Grafana's Postgres data source): a direct login that carries no JWT.
--     It is a member of `authenticated` (so the claim policy applies to it and fails), and it reads
--     through a policy of its own on each table (<table>_read_monitor_reader): permissive policies are
--     OR-ed. Only roles an operator grants integration_monitor_reader to get it; PostgREST's
--     `authenticator` is not one of them.
-- Why a table as well: Postgres lets only a superuser store a custom (placeholder) parameter with
-- ALTER DATABASE/ROLE … SET ("permission denied to set parameter"), and hosted Supabase's `postgres`
-- is not one. The parameter wins when set; otherwise the table's value applies.
-- Trust: like Supabase's own auth.jwt(), this trusts request.jwt.claims as the session set it.
-- PostgREST sets it from the verified token and offers no way to change it; a role that can run
-- arbitrary SQL could set it itself, which is why such roles (the reader) get explicit policies.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- One row; readable only by its owner (RLS on, no policy, no grant): the requirement is not secret,
-- but nobody outside the operators needs to see or change it.
CREATE TABLE integration_monitor_settings (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  read_claim text CHECK (read_claim IS NULL OR btrim(read_claim) = '' OR read_claim ~ '^\s*[^=\s][^=]*=.*$')
);
INSERT INTO integration_monitor_settings (read_claim) VALUES (NULL);
REVOKE ALL ON integration_monitor_settings FROM PUBLIC, anon, authenticated, service_role;
ALTER TABLE integration_monitor_settings ENABLE ROW LEVEL SECURITY;

-- integration_read_claim()/integration_read_allowed(): repeatable/03_read_claim.sql; the policies
-- that use them: repeatable/10_policies.sql; the grants on views and functions sit with them.

-- The reader gets its own grants too, so it reads even where the migrating role may not
-- GRANT authenticated TO integration_monitor_reader (001 then only warns): on Supabase, `postgres`
-- is not a superuser and, on PostgreSQL 16+, administers only roles it created itself.
GRANT SELECT ON integration_logs,
  integration_rollup_minute, integration_rollup_hour, integration_rollup_day,
  integration_latency_hist_hour, integration_latency_hist_day,
  integration_latency_hist_service_hour, integration_latency_hist_service_day,
  integration_rollup_service_hour, integration_rollup_service_day,
  integration_service_actions TO integration_monitor_reader;

-- The migrator's bookkeeping table (src/db/migrate.ts) is created before any migration runs, so
-- Supabase's default privileges hand it to anon/authenticated (readable and writable through
-- PostgREST). Nobody but its owner needs it. (Absent when these files are applied by another tool.)
DO $$
BEGIN
  IF to_regclass('integration_monitor_migrations') IS NOT NULL THEN
    REVOKE ALL ON integration_monitor_migrations FROM PUBLIC, anon, authenticated, service_role;
    ALTER TABLE integration_monitor_migrations ENABLE ROW LEVEL SECURITY;
  END IF;
END
$$;
