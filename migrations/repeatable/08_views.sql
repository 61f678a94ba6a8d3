-- The seed's views (first created by 005, in the session's zone since 009). Same columns as 005,
-- so CREATE OR REPLACE keeps their dependants; a change of columns needs DROP VIEW first. They read
-- integration_range_agg in the session's zone (its fourth argument); 005's views, over its old
-- 3-argument signature, are dropped by 05_range_reads.sql with it and created again here.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- security_invoker: the caller's own privileges and RLS apply to what the view reads.
-- failed_count/success_count are the calls of this row that failed/succeeded (so they can be
-- summed across rows); failure_rate_percent is the failure rate of the row's service and action on
-- that day over all statuses (failed / all calls * 100), repeated on each status row of the group:
-- one failed call of three reads 33.33 on every row of that service/action/day.
CREATE OR REPLACE VIEW integration_stats_hourly WITH (security_invoker = true) AS
SELECT r.service_name, r.action, r.status, r.bucket AS hour, r.calls AS count,
       r.duration_sum::numeric / NULLIF(r.duration_n, 0) AS avg_duration_ms,
       r.duration_min AS min_duration_ms, r.duration_max AS max_duration_ms
FROM integration_range_agg(now() - interval '24 hours', 'infinity'::timestamptz, interval '1 hour', current_setting('TimeZone')) r;

CREATE OR REPLACE VIEW integration_stats_daily WITH (security_invoker = true) AS
SELECT r.service_name, r.action, r.status, r.bucket AS day, r.calls AS count,
       r.duration_sum::numeric / NULLIF(r.duration_n, 0) AS avg_duration_ms,
       r.duration_min AS min_duration_ms, r.duration_max AS max_duration_ms,
       CASE WHEN r.status = 'failed' THEN r.calls ELSE 0 END::bigint AS failed_count,
       CASE WHEN r.status = 'success' THEN r.calls ELSE 0 END::bigint AS success_count,
       round(100 * sum(CASE WHEN r.status = 'failed' THEN r.calls ELSE 0 END) OVER w::numeric
             / NULLIF(sum(r.calls) OVER w, 0), 2) AS failure_rate_percent
FROM integration_range_agg(now() - interval '30 days', 'infinity'::timestamptz, interval '1 day', current_setting('TimeZone')) r
WINDOW w AS (PARTITION BY r.service_name, r.action, r.bucket);

REVOKE ALL ON integration_stats_hourly, integration_stats_daily FROM PUBLIC, anon, authenticated, service_role, integration_monitor_reader;
GRANT SELECT ON integration_stats_hourly, integration_stats_daily TO authenticated, service_role, integration_monitor_reader;
