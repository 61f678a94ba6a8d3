-- 010 dashboard reads: an index-backed path for the Service detail dashboard's "Slowest calls".
--
-- For each known (service, action) of the selection the panel reads its 50 slowest calls in the
-- range straight from this index (an ordered scan per partition, stopped after 50 matches), then
-- keeps the 50 slowest of those: exact, and ~50 index entries read per (service, action) and
-- partition whatever the range. Measurements and what it costs: docs/scaling.md "Slowest calls".
-- New partitions get it from the parent (ensure_integration_log_partitions attaches them).
-- The percentile series the dashboards read: repeatable/07_percentile_series.sql.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

CREATE INDEX idx_integration_logs_slowest ON integration_logs (service_name, action, duration_ms DESC, created_at DESC)
  WHERE duration_ms IS NOT NULL;
