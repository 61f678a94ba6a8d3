-- Compaction of closed weeks' B-tree indexes (issue 23). Runs daily after retention: through
-- pg_cron when available, else in-process (src/db/scheduler.ts).
-- Why: the raw table's indexes are filled in time order but interleaved by service and duration, so
-- page splits leave them 60-75% full; a week's partition is closed once its week is over (only rare
-- late rows and updates after that), so one rebuild packed full holds for the rest of its life.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

/**
 * Rebuilds, once, every B-tree index of each weekly partition of integration_logs whose week ended
 * at least p_min_age ago, packed full: ALTER INDEX … SET (fillfactor = 100), then REINDEX INDEX.
 * An index whose reloptions already hold fillfactor=100 is done, so no bookkeeping table is needed
 * and a second run does nothing. Other access methods (a BRIN) and the DEFAULT partition are left
 * alone. One row per index attempted: its bytes before and after; bytes_after is NULL when the index
 * was skipped because a lock was not granted within lock_timeout (a writer or a long read on that
 * partition: the index is left as it was, retried on the next run, and a NOTICE names it) rather
 * than making the partition's writers queue behind the rebuild. The rebuilt indexes stay locked
 * (reads of those partitions, and plans over all of them such as the newest-first list, wait) until
 * the caller's transaction ends: p_max_partitions stops after that many partitions had an index
 * rebuilt, so a caller can commit partition by partition (the in-process job calls it with 1 until
 * a call rebuilds nothing; the pg_cron job calls it with 1 every hour); NULL does every closed week
 * in one go (the bench, after its load).
 */
CREATE OR REPLACE FUNCTION integration_compact_partitions(p_min_age interval DEFAULT '1 day', p_max_partitions integer DEFAULT NULL)
RETURNS TABLE (index_name text, bytes_before bigint, bytes_after bigint)
LANGUAGE plpgsql
SET jit = off
-- waits on a busy partition this long at most; reverted when the function returns
SET lock_timeout = '200ms'
SECURITY DEFINER -- REINDEX needs the table owner; only service_role may call it
SET search_path FROM CURRENT
AS $$
DECLARE
  idx record;
  part text;
  rebuilt_here boolean := false;
  parts_rebuilt integer := 0;
BEGIN
  IF p_min_age IS NULL OR p_min_age < interval '0' THEN
    RAISE EXCEPTION 'p_min_age must be a non-negative interval, got %', p_min_age USING ERRCODE = '22023';
  END IF;
  IF p_max_partitions IS NOT NULL AND p_max_partitions < 1 THEN
    RAISE EXCEPTION 'p_max_partitions must be at least 1 (or NULL: all), got %', p_max_partitions USING ERRCODE = '22023';
  END IF;
  FOR idx IN
    SELECT p.partition_name AS part, ic.oid::regclass AS rel, ic.relname::text AS name
    FROM integration_log_partitions() p
    JOIN pg_index x ON x.indrelid = quote_ident(p.partition_name)::regclass
    JOIN pg_class ic ON ic.oid = x.indexrelid
    JOIN pg_am am ON am.oid = ic.relam
    WHERE p.hi <= now() - p_min_age
      AND am.amname = 'btree'
      AND NOT coalesce('fillfactor=100' = ANY (ic.reloptions), false)
    ORDER BY p.lo, ic.relname
  LOOP
    IF part IS DISTINCT FROM idx.part THEN
      parts_rebuilt := parts_rebuilt + rebuilt_here::int;
      EXIT WHEN parts_rebuilt >= p_max_partitions;
      part := idx.part;
      rebuilt_here := false;
    END IF;
    index_name := idx.name;
    bytes_before := pg_relation_size(idx.rel);
    BEGIN
      EXECUTE format('ALTER INDEX %s SET (fillfactor = 100)', idx.rel);
      EXECUTE format('REINDEX INDEX %s', idx.rel);
      bytes_after := pg_relation_size(idx.rel);
      rebuilt_here := true;
    EXCEPTION WHEN lock_not_available THEN
      -- the subtransaction undid the ALTER: the index still counts as not compacted
      RAISE NOTICE 'integration_compact_partitions: % is busy (%), left for the next run', idx.name, SQLERRM;
      bytes_after := NULL;
    END;
    RETURN NEXT;
  END LOOP;
END
$$;

REVOKE ALL ON FUNCTION integration_compact_partitions(interval, integer) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION integration_compact_partitions(interval, integer) TO service_role;
