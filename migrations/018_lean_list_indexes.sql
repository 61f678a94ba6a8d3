-- 018 lean list indexes: the created_at index becomes a BRIN per week, the entity index loses created_at.
--
-- Measured at 1M generated calls (docs/scaling.md "Storage at 1M calls"):
--   idx_integration_logs_created_at  B-tree (created_at)                      21.7 MB -> BRIN 0.5 MB
--   idx_integration_logs_entity      (entity type, entity id, created_at)     32.6 MB -> (entity type, entity id) ~16 MB
-- Rows arrive in time order, so each 32-page range of the heap covers a short stretch of time and a
-- BRIN finds a time range's pages as a B-tree did (a bitmap scan of those pages). What only the
-- B-tree gave, newest-first order across every service, the logs list now takes from the service
-- index, one service at a time (src/store/queries.ts, logPage). Without created_at the entity key
-- repeats (one per call about that entity), so B-tree deduplication stores it once with its row
-- pointers; the drill-down reads the entity's rows and sorts them (tens at 10M calls).
-- The BRIN is per weekly partition (repeatable/01_partitions.sql, integration_index_log_partition,
-- applied to every existing week when that file runs after this one): the DEFAULT partition keeps a
-- B-tree. It holds rows no week was created for (history loaded before its partitions, in any
-- order), where a BRIN's page ranges would each span much of the time and a range read most of
-- the heap (an alert replay over 361k such rows went from about a minute to over ten). Weeks get
-- rows in time order: the recorder writes them as they happen and
-- ensure_integration_log_partitions moves rows out of DEFAULT sorted. `autosummarize`: a page range
-- is summarized as soon as it fills, not at the next VACUUM.
-- Rebuilding blocks writes for the duration (seconds at 1M rows); the recorder spools meanwhile.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

DROP INDEX idx_integration_logs_created_at, idx_integration_logs_entity;
CREATE INDEX integration_logs_default_created_at ON integration_logs_default (created_at);
CREATE INDEX idx_integration_logs_entity ON integration_logs (related_entity_type, related_entity_id)
  WHERE related_entity_id IS NOT NULL;
