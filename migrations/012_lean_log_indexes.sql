-- 012 lean log indexes: integration_logs' four secondary indexes (002) again, ascending and without
-- the trailing id. Same names, same queries served; about half the bytes.
--
-- Why, measured (500k calls inserted in time order, 1,000 a statement, as the recorder writes them):
--   (created_at DESC, id DESC)                     35 MB  ->  (created_at)                      11 MB
--   (service_name, created_at DESC, id DESC)       44 MB  ->  (service_name, created_at)        23 MB
--   (entity type, entity id, created_at DESC, id DESC) 13 MB -> (entity type, entity id, created_at) 9.4 MB
-- Calls arrive in time order. In a DESC index each new entry goes to the far left of its key range,
-- where a page split leaves two half-empty pages; ascending, it goes to the right end, where
-- Postgres splits leaving the left page full (the rightmost-page and "increasing trailing key"
-- heuristics of nbtsplitloc.c). The id only broke ties of created_at for the keyset cursor; the
-- logs and failures lists still order by (created_at DESC, id DESC): a backward scan of these
-- indexes yields created_at order and an incremental sort orders the (rare) equal timestamps by id,
-- reading the same ~limit entries per partition as before (docs/scaling.md "Storage").
-- Rebuilding takes a lock that blocks writes for the duration (about a minute per index at 10M
-- rows on a 2-core machine); the recorder spools meanwhile.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

DROP INDEX idx_integration_logs_created_at, idx_integration_logs_service_name, idx_integration_logs_entity, idx_integration_logs_failed;
CREATE INDEX idx_integration_logs_created_at ON integration_logs (created_at);
CREATE INDEX idx_integration_logs_service_name ON integration_logs (service_name, created_at);
CREATE INDEX idx_integration_logs_entity ON integration_logs (related_entity_type, related_entity_id, created_at)
  WHERE related_entity_id IS NOT NULL;
CREATE INDEX idx_integration_logs_failed ON integration_logs (created_at) WHERE status = 'failed';
