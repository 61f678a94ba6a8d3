-- 011 dashboard reads: an index-backed path for the Service detail dashboard's "Slowest calls".
--
-- Why (bench/results/, `npm run bench:dashboards`): the panel found its 50 rows by reading the hour
-- rollups' duration_max, cutting at the 50th largest, then reading every (hour, service, action,
-- status) group at or above the cut from raw rows. Failed calls that time out all last exactly
-- 30,000 ms, so nearly every failing hour ties at the cut and the panel read a large part of the
-- range's raw rows: 479 ms at 90 days on 1M calls, 49.7 s at 10M (issue 16).
-- Now the panel asks, for each known (service, action) of the selection, for its 50 slowest calls
-- in the range straight from this index (an ordered scan per partition, stopped after 50 matches),
-- then keeps the 50 slowest of those: exact (the same ORDER BY over the same rows), and the rows read
-- are ~50 index entries per (service, action) and partition whatever the range.
-- Cost: one more index on the raw table (see the bench's storage-by-relation table).
-- New partitions get it from the parent (ensure_integration_log_partitions attaches them).

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

CREATE INDEX idx_integration_logs_slowest ON integration_logs (service_name, action, duration_ms DESC, created_at DESC)
  WHERE duration_ms IS NOT NULL;
