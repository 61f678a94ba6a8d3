/**
 * Every function of the monitor that `anon` or `authenticated` may execute, with the reason it may:
 * on Supabase PostgREST serves each at /rpc/<name> to every signed-in user. The decision is made in
 * migrations/repeatable/20_function_privileges.sql; this list is what the catalog tests
 * (test/db/function-privileges.test.ts, test/db/supabase-roles.test.ts) hold the database to, so a
 * function added later without a decision fails them. anon may execute none.
 */
export const AUTHENTICATED_FUNCTIONS: Record<string, string> = {
  // Readers: rows of integration_logs and the rollups, filtered by RLS as the caller (read claim).
  // The four range readers, UTC or in a zone (their fourth argument): zone work bounded by integration_zone_work_ok.
  'integration_range_agg(timestamp with time zone,timestamp with time zone,interval,text)': 'reader, RLS (API, dashboards); zone work bounded',
  'integration_range_agg_service(timestamp with time zone,timestamp with time zone,interval,text)': 'reader, RLS (API, dashboards); zone work bounded',
  'integration_hist_range(timestamp with time zone,timestamp with time zone,interval,text)': 'reader, RLS (API, dashboards); zone work bounded',
  'integration_hist_range_service(timestamp with time zone,timestamp with time zone,interval,text)': 'reader, RLS (API, dashboards); zone work bounded',
  // Their old *_zone names, kept for dashboards users saved: one statement calling the reader above.
  'integration_range_agg_zone(timestamp with time zone,timestamp with time zone,interval,text)': 'integration_range_agg under its old name (saved dashboards)',
  'integration_range_agg_service_zone(timestamp with time zone,timestamp with time zone,interval,text)': 'integration_range_agg_service under its old name (saved dashboards)',
  'integration_hist_range_zone(timestamp with time zone,timestamp with time zone,interval,text)': 'integration_hist_range under its old name (saved dashboards)',
  'integration_hist_range_service_zone(timestamp with time zone,timestamp with time zone,interval,text)': 'integration_hist_range_service under its old name (saved dashboards)',
  'integration_raw_percentile_series(timestamp with time zone,timestamp with time zone,interval,text[],double precision[])': 'reader of raw rows, RLS',
  'integration_hist_hour_series(timestamp with time zone,timestamp with time zone,interval,timestamp with time zone,timestamp with time zone,text[])':
    'reader of hour histograms and raw rows, RLS (the percentile series)',
  'integration_hist_percentile_series_service_zone(timestamp with time zone,timestamp with time zone,interval,double precision,text)': 'reader, RLS (API, dashboards)',
  'integration_hist_percentile_series_zone(timestamp with time zone,timestamp with time zone,interval,text[],double precision[],text)': 'reader, RLS (dashboards)',
  'integration_last_call_at(text,timestamp with time zone,timestamp with time zone,boolean)': 'reader, RLS (API)',
  'integration_known_services()': 'reader, RLS (API, dashboards)',
  'integration_slowest_calls(timestamp with time zone,timestamp with time zone,text[],text[],integer)': 'reader, RLS (dashboards: Slowest calls)',
  'integration_day_zone(text)': 'reader of the day zone list, RLS like the rollups (no row without the claim)',
  'integration_zone_buckets(timestamp with time zone,timestamp with time zone,interval,text)': 'bucket starts the API fills; none without the claim, range capped',
  // Called by the readers as their caller (or inlined into the caller's query): must be executable.
  'integration_zone_pieces(timestamp with time zone,timestamp with time zone,interval,text)': 'zone readers’ plan; none without the claim, range capped',
  'integration_zone_day_pieces(timestamp with time zone,timestamp with time zone,interval,text)': 'zone readers’ plan; bounded through integration_zone_pieces',
  'integration_zone_hour_pieces(timestamp with time zone,timestamp with time zone,text)': 'zone readers’ plan; none without the claim, range capped',
  'integration_zone_work_ok(timestamp with time zone,timestamp with time zone,interval)': 'the cap itself: arithmetic',
  'integration_range_bounds(timestamp with time zone,timestamp with time zone,interval)': 'arithmetic on its arguments, inlined',
  'integration_minute_read_from()': 'the minute window’s start (015), from the clock; inlined into integration_range_bounds',
  'integration_zone_bucket(timestamp with time zone,interval,text)': 'arithmetic on its arguments, inlined',
  'integration_zone_same_as_utc(text,interval)': 'arithmetic on its arguments',
  'integration_reads_utc(text,interval)': 'arithmetic on its arguments (and the zone name checked)',
  'integration_raw_percentile_width(interval,text)': 'arithmetic on its arguments',
  'integration_hist_hour_width(interval,text)': 'arithmetic on its arguments',
  'integration_latency_bin(integer)': 'arithmetic, inlined into the readers’ raw edges',
  'integration_latency_bin_value(integer)': 'arithmetic, inlined',
  'integration_hist_percentile(integer[],bigint[],double precision)': 'arithmetic over the caller’s own arrays (API, dashboards)',
  'integration_slowest_kept()': 'a constant: how many slowest calls a day keeps, the most integration_slowest_calls returns',
  'integration_hist_bins(smallint[],integer[])': 'arithmetic, inlined: a stored histogram row’s (bin, n) rows for the readers',
  // The read policies' check.
  'integration_read_allowed()': 'the check every read policy runs as the caller',
  'integration_may_read()': 'the same, for argument-bound work',
};
