-- 002 indexes on integration_logs.
--
-- The stats views and the stats/health/timeseries endpoints read rollups (004), never these
-- indexes, so the seed's btree on status (4 distinct values) and on (service_name, status) would
-- only cost writes and are not created (the bench's ingest lines compare write throughput against
-- the seed's seven indexes; the list/drill-down query lines show the reshaped ones serve their
-- reads). Kept, under the seed's names, reshaped for the queries that do read raw rows:
--   idx_integration_logs_created_at   (created_at DESC, id DESC)   logs list keyset, raw range edges
--   idx_integration_logs_service_name (service_name, created_at DESC, id DESC) logs filtered by service
--   idx_integration_logs_entity       (related_entity_type, related_entity_id, created_at DESC, id DESC)
--                                      WHERE related_entity_id IS NOT NULL   entity drill-down
--   idx_integration_logs_failed       (created_at DESC, id DESC) WHERE status = 'failed'  failures list
-- The trailing id makes the (created_at, id) keyset cursor an index range scan.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

CREATE INDEX idx_integration_logs_created_at ON integration_logs (created_at DESC, id DESC);
CREATE INDEX idx_integration_logs_service_name ON integration_logs (service_name, created_at DESC, id DESC);
CREATE INDEX idx_integration_logs_entity ON integration_logs (related_entity_type, related_entity_id, created_at DESC, id DESC)
  WHERE related_entity_id IS NOT NULL;
CREATE INDEX idx_integration_logs_failed ON integration_logs (created_at DESC, id DESC) WHERE status = 'failed';
