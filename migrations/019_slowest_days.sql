-- with: the repeatable files
-- 019 slowest calls from a kept top 50 per (service, action, UTC day) instead of an index over every call.
--
-- idx_integration_logs_slowest (010) held every call with a duration, ordered by it within each
-- (service, action): 47.3 MB of the 288 at 1M generated calls (compacted; 471.6 MB at 10M), the
-- largest single thing between the monitor and 1.2x the seed's storage (docs/scaling.md). The
-- "Slowest calls" panel only ever wants the 50 slowest of a range. A call that is not among the 50
-- slowest of its own (service, action, UTC day) cannot be among the 50 slowest of any range that
-- holds that whole day, so the table below keeps just those: about 50 rows per (service, action)
-- and day at any volume (60k rows, ~12 MB, at 1M and at 10M calls over 120 days). The statement
-- triggers keep it (repeatable/16_slowest_calls.sql), and integration_slowest_calls reads it, going
-- to the raw rows only for the part-days at a range's ends that the kept rows cannot decide.
--
-- The first line makes the migrator apply the repeatable files in this transaction
-- (src/db/migrate.ts), so the triggers (repeatable/16, beside their function) are in place before
-- any writer runs: integration_logs is locked against writes first. The backfill reads every raw
-- row once (a sort: ~30 s at 10M calls, during which writers wait; the recorder spools).

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

LOCK TABLE integration_logs IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE integration_slowest_day (
  bucket timestamptz NOT NULL, -- the UTC day (date_bin of created_at), for retention and the storage report
  service_name text NOT NULL,
  action text NOT NULL,
  duration_ms integer NOT NULL,
  created_at timestamptz NOT NULL,
  id uuid NOT NULL
);

INSERT INTO integration_slowest_day (bucket, service_name, action, duration_ms, created_at, id)
SELECT r.bucket, r.service_name, r.action, r.duration_ms, r.created_at, r.id
FROM (SELECT date_bin('1 day'::interval, l.created_at, '1970-01-01 00:00:00+00'::timestamptz) AS bucket,
             l.service_name, l.action, l.duration_ms, l.created_at, l.id,
             row_number() OVER (PARTITION BY l.service_name, l.action, date_bin('1 day'::interval, l.created_at, '1970-01-01 00:00:00+00'::timestamptz)
                                ORDER BY l.duration_ms DESC, l.created_at DESC, l.id DESC) AS rank
      FROM integration_logs l WHERE l.duration_ms IS NOT NULL) r
WHERE r.rank <= 50
ORDER BY r.service_name, r.action, r.created_at;

-- the order every reader and the triggers rank by; unique, so a row is kept once
CREATE UNIQUE INDEX integration_slowest_day_rank ON integration_slowest_day (service_name, action, duration_ms DESC, created_at DESC, id DESC);
-- a (service, action)'s kept rows of a time range: a range of a few days, and one day's group
CREATE INDEX integration_slowest_day_time ON integration_slowest_day (service_name, action, created_at);

REVOKE ALL ON integration_slowest_day FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON integration_slowest_day TO authenticated, service_role, integration_monitor_reader;
ALTER TABLE integration_slowest_day ENABLE ROW LEVEL SECURITY; -- policies: repeatable/10_policies.sql

DROP INDEX idx_integration_logs_slowest;

-- The statement triggers that keep the table are created with their function, in
-- repeatable/16_slowest_calls.sql, within this transaction (first line).
