-- 015 minute window: minute rollups only for the recent week.
--
-- At the volume of the teams this is for (1M calls in 90-120 days, a few calls a minute) a minute
-- bucket holds about one call, so the minute level cost as much as the raw rows it summed: 124 MB
-- of 731 MB at 1M generated calls (bench/results/2026-12-06-1M*.md). Only ranges of a day or less
-- and the partial hours at a range's ends read minutes; from now on the triggers keep them from
-- integration_minute_kept_from() (8 days back) and readers use them from
-- integration_minute_read_from() (7 days back), reading raw rows before it (repeatable/04, 05, 06;
-- docs/schema.md "The minute window"). Hours, days, histograms and zone levels are unchanged.
--
-- The minutes older than the window go now, and the table is rewritten so the space is returned
-- (a DELETE alone would leave the file its size until a VACUUM FULL). The expression is the one
-- integration_minute_kept_from() has (repeatable files run after the numbered ones).

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

CREATE TEMP TABLE integration_minute_keep ON COMMIT DROP AS
SELECT * FROM integration_rollup_minute
WHERE bucket >= date_bin('1 minute'::interval, now() - interval '8 days', '1970-01-01 00:00:00+00'::timestamptz);

TRUNCATE integration_rollup_minute;

INSERT INTO integration_rollup_minute SELECT * FROM integration_minute_keep ORDER BY bucket, service_name, action, status;
