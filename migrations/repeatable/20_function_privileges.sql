-- reapply: after any other file
-- Who may call the monitor's functions, last word (docs/production.md "What anon and authenticated
-- can call"). On Supabase PostgREST exposes every function in the schema at /rpc/<name> to every
-- signed-in user (authenticated) and to anon, and Supabase's default privileges grant EXECUTE on
-- each new function to both; plain PostgreSQL grants it to PUBLIC. So: every function of ours
-- (a name with `integration_` in it) is first taken from PUBLIC, anon and authenticated, then the
-- readers below are given back to authenticated, service_role and the reader. Each is either a
-- reader whose rows RLS filters by the caller's read claim, or arithmetic on its arguments that a
-- reader must be able to call as its caller; the ones whose work grows with their arguments
-- (integration_zone_pieces and what calls it) do none for a caller without the claim and refuse
-- ranges too long for their width (integration_zone_work_ok, 03_read_claim.sql). Everything else —
-- partitions, retention, day zones, the read claim's value, triggers — is internal: the owner, and
-- service_role where its own file grants it.
-- The first line makes the migrator (src/db/migrate.ts) run this file's statements at the end of
-- every other file's transaction, and re-apply it after them, so a function another file creates or
-- re-creates (DROP + CREATE resets its privileges) is never committed callable. Default privileges
-- are not altered: on Supabase they are the app's own too (docs/production.md). test/db/function-privileges.test.ts holds the same list with the
-- reason for each name, and fails on any function callable by anon or authenticated without one.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

DO $$
DECLARE
  readers constant text[] := ARRAY[
    -- rows of integration_logs and the rollups, filtered by RLS as the caller: the range readers
    -- (UTC or in a zone, their fourth argument), and their old *_zone names kept for saved dashboards
    'integration_range_agg', 'integration_range_agg_service', 'integration_hist_range', 'integration_hist_range_service',
    'integration_range_agg_zone', 'integration_range_agg_service_zone', 'integration_hist_range_zone', 'integration_hist_range_service_zone',
    'integration_raw_percentile_series', 'integration_hist_percentile_series_service_zone', 'integration_hist_percentile_series_zone',
    'integration_hist_hour_series',
    'integration_last_call_at', 'integration_known_services', 'integration_day_zone', 'integration_slowest_calls',
    -- bucket starts in a zone (the API fills empty buckets with them): integration_zone_pieces' bounds
    'integration_zone_buckets',
    -- called by the readers above as their caller, or inlined into the caller's query
    'integration_zone_pieces', 'integration_zone_day_pieces', 'integration_zone_hour_pieces', 'integration_zone_work_ok',
    'integration_range_bounds', 'integration_minute_read_from', 'integration_zone_bucket', 'integration_zone_same_as_utc', 'integration_reads_utc', 'integration_raw_percentile_width', 'integration_hist_hour_width',
    'integration_latency_bin', 'integration_latency_bin_value', 'integration_hist_percentile', 'integration_hist_bins',
    'integration_slowest_kept',
    -- the read policies' check, and its short cut for argument-bound work
    'integration_read_allowed', 'integration_may_read'];
  f record;
BEGIN
  FOR f IN
    SELECT p.oid::regprocedure AS sig, p.proname = ANY (readers) AS reader
    FROM pg_proc p
    WHERE p.pronamespace = current_schema()::regnamespace AND p.proname ~ '(^|_)integration_'
      AND pg_has_role(p.proowner, 'USAGE')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, anon, authenticated', f.sig);
    IF f.reader THEN
      EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO authenticated, service_role, integration_monitor_reader', f.sig);
    END IF;
  END LOOP;
END
$$;
