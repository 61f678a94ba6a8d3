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

/** The read claim in force: intmon.read_claim when set, else integration_monitor_settings; NULL: none. */
CREATE FUNCTION integration_read_claim() RETURNS text
LANGUAGE sql STABLE
SECURITY DEFINER -- reads the owner-only settings table
SET search_path FROM CURRENT
AS $$
  SELECT coalesce(nullif(btrim(current_setting('intmon.read_claim', true)), ''),
                  (SELECT nullif(btrim(s.read_claim), '') FROM integration_monitor_settings s))
$$;
REVOKE ALL ON FUNCTION integration_read_claim() FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_read_claim() TO authenticated, service_role;

/**
 * true when the current caller may read under the read claim: none is set, or
 * request.jwt.claims holds the value at the path (a string, number or boolean whose JSON text is
 * the value, or an array with such an element). A setting without `=` or claims that are not JSON
 * read as "no": fail closed. The one check every read policy uses; src/api/read-claim.ts matches
 * claims the same way.
 * Policies call it as (SELECT integration_read_allowed()) so it runs once per query, not per row.
 */
CREATE FUNCTION integration_read_allowed() RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $$
DECLARE
  requirement text := coalesce(integration_read_claim(), '');
  eq integer := strpos(requirement, '=');
  want text;
  got jsonb;
BEGIN
  IF requirement = '' THEN
    RETURN true; -- unset: the seed's behaviour
  END IF;
  IF eq < 2 OR btrim(left(requirement, eq - 1)) = '' THEN
    RETURN false;
  END IF;
  want := btrim(substr(requirement, eq + 1));
  BEGIN
    got := nullif(current_setting('request.jwt.claims', true), '')::jsonb
           #> string_to_array(btrim(left(requirement, eq - 1)), '.');
  EXCEPTION WHEN invalid_text_representation THEN
    RETURN false;
  END;
  IF got IS NULL THEN
    RETURN false;
  END IF;
  IF jsonb_typeof(got) = 'array' THEN
    RETURN EXISTS (SELECT 1 FROM jsonb_array_elements(got) e
                   WHERE jsonb_typeof(e) IN ('string', 'number', 'boolean') AND e #>> '{}' = want);
  END IF;
  RETURN jsonb_typeof(got) IN ('string', 'number', 'boolean') AND got #>> '{}' = want;
END
$$;
REVOKE ALL ON FUNCTION integration_read_allowed() FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_read_allowed() TO authenticated, service_role;

-- integration_logs: the seed's policy keeps its name; only its condition changes.
ALTER POLICY integration_logs_read_authenticated ON integration_logs USING ((SELECT integration_read_allowed()));
CREATE POLICY integration_logs_read_monitor_reader ON integration_logs FOR SELECT TO integration_monitor_reader USING (true);

-- Rollup tables: their one policy (authenticated and service_role, USING (true)) becomes the claim
-- check for authenticated, plus one policy each for service_role and the reader.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['integration_rollup_minute', 'integration_rollup_hour', 'integration_rollup_day',
                           'integration_latency_hist_hour', 'integration_latency_hist_day',
                           'integration_latency_hist_service_hour', 'integration_latency_hist_service_day',
                           'integration_rollup_service_hour', 'integration_rollup_service_day',
                           'integration_service_actions'] LOOP
    EXECUTE format('ALTER POLICY %I ON %I TO authenticated USING ((SELECT integration_read_allowed()))', t || '_read', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO service_role USING (true)', t || '_read_service_role', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO integration_monitor_reader USING (true)', t || '_read_monitor_reader', t);
  END LOOP;
END
$$;

-- The reader gets its own grants too, so it reads even where the migrating role may not
-- GRANT authenticated TO integration_monitor_reader (001 then only warns): on Supabase, `postgres`
-- is not a superuser and, on PostgreSQL 16+, administers only roles it created itself.
GRANT SELECT ON integration_logs, integration_stats_hourly, integration_stats_daily,
  integration_rollup_minute, integration_rollup_hour, integration_rollup_day,
  integration_latency_hist_hour, integration_latency_hist_day,
  integration_latency_hist_service_hour, integration_latency_hist_service_day,
  integration_rollup_service_hour, integration_rollup_service_day,
  integration_service_actions TO integration_monitor_reader;
GRANT EXECUTE ON FUNCTION integration_range_agg(timestamptz, timestamptz, interval), integration_hist_range(timestamptz, timestamptz, interval),
  integration_hist_range_service(timestamptz, timestamptz, interval), integration_range_agg_service(timestamptz, timestamptz, interval),
  integration_last_call_at(text, timestamptz, timestamptz, boolean), integration_known_services(),
  integration_range_bounds(timestamptz, timestamptz, interval) TO integration_monitor_reader;

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
