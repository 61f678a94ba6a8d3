-- Adopting a database that already ran the seed's MIGRATION 004 (bookkeeping: 016; the swap that
-- calls these, and the batch loop: src/db/adopt-seed.ts; README.md "Already ran MIGRATION 004?").
-- Rows are copied with INSERT into integration_logs, so the rollup triggers fill every rollup and
-- histogram as they do for any write: there is no second copy of that logic here.
-- A row whose created_at is NULL (the seed allows it; our partition key does not) gets its
-- updated_at, or the swap's time when that is NULL too; both counts are kept in
-- integration_monitor_adoption.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

/**
 * The statement that copies the rows of p_source matching p_where into integration_logs: the seed's
 * columns in its (and our) order, created_at as the NULL rule above says; oldest first. One text for
 * the swap, the batches and the end, which EXECUTE it with their own parameters.
 */
CREATE OR REPLACE FUNCTION integration_adopt_seed_insert(p_source text, p_swapped_at timestamptz, p_where text) RETURNS text
LANGUAGE sql STABLE
RETURN format($q$INSERT INTO integration_logs (id, service_name, action, status, related_entity_type, related_entity_id,
                   request_payload, response_payload, error_message, error_code, duration_ms, retry_count, created_at, updated_at)
                 SELECT id, service_name, action, status, related_entity_type, related_entity_id, request_payload, response_payload,
                        error_message, error_code, duration_ms, retry_count, coalesce(created_at, updated_at, %L::timestamptz), updated_at
                 FROM %I WHERE %s ORDER BY created_at$q$, p_swapped_at, p_source, p_where);
-- its column list, before the statement was one text; quiet on a database that never had it
SET LOCAL client_min_messages = warning;
DROP FUNCTION IF EXISTS integration_adopt_seed_columns(timestamptz);

/**
 * The swap's part, run by `migrate` in the transaction that renamed the seed's table to p_source and
 * created ours: weekly partitions for the whole time range of its rows, then the rows writers may
 * still touch (pending or retrying ones created in the last p_pending: writers update them by id to
 * success/failed; all created in the last p_recent; those whose created_at is NULL, if updated in the
 * last p_pending), then the bookkeeping row. Older pending/retrying rows are abandoned calls: they
 * come with the history (older NULL created_at ones at its end, integration_adopt_seed_finish).
 */
CREATE OR REPLACE FUNCTION integration_adopt_seed_begin(p_source text, p_recent interval, p_pending interval)
RETURNS integration_monitor_adoption
LANGUAGE plpgsql
SET jit = off
SET search_path FROM CURRENT
AS $$
DECLARE
  st integration_monitor_adoption;
  lo timestamptz;
  hi timestamptz;
BEGIN
  st.source := p_source;
  st.swapped_at := now();
  st.recent_from := now() - p_recent;
  st.pending_from := least(now() - p_pending, st.recent_from);
  -- Both ends from the seed's created_at index; the NULL ones by the same index (btree keeps NULLs).
  EXECUTE format($q$SELECT min(c), max(c) FROM (
      (SELECT created_at FROM %1$I WHERE created_at IS NOT NULL ORDER BY created_at LIMIT 1)
      UNION ALL (SELECT created_at FROM %1$I WHERE created_at IS NOT NULL ORDER BY created_at DESC LIMIT 1)
      UNION ALL SELECT coalesce(updated_at, $1) FROM %1$I WHERE created_at IS NULL) x(c)$q$, p_source)
    INTO lo, hi USING st.swapped_at;
  -- Every week of a plausible span now; a stray date years off instead gets its week at the end
  -- (integration_adopt_seed_finish moves what landed in the default partition).
  IF lo IS NOT NULL AND hi - lo <= interval '1830 days' THEN
    PERFORM integration_ensure_log_partitions_between(lo, hi);
  END IF;
  EXECUTE integration_adopt_seed_insert(p_source, st.swapped_at,
    '(created_at IS NULL AND coalesce(updated_at, $3) >= $2) OR (created_at >= $2 AND (created_at >= $1 OR status IN (''pending'', ''retrying'')))')
    USING st.recent_from, st.pending_from, st.swapped_at;
  GET DIAGNOSTICS st.copied_in_swap = ROW_COUNT;
  EXECUTE format('SELECT count(*), count(*) FILTER (WHERE updated_at IS NULL) FROM %I WHERE created_at IS NULL', p_source)
    INTO st.null_created_at, st.null_created_and_updated_at;
  st.copied := st.copied_in_swap;
  -- The batches go down from here: newest history first.
  st.below_created_at := 'infinity';
  st.below_id := 'ffffffff-ffff-ffff-ffff-ffffffffffff';
  INSERT INTO integration_monitor_adoption SELECT st.*;
  RETURN st;
END
$$;

/**
 * Copies the next batch of at most p_batch rows the swap left (older than recent_from and final,
 * or older than pending_from), newest first, and records how far it got, in the caller's transaction: a batch and its
 * position commit together, so an interrupted run continues exactly where it stopped. Returns the
 * rows copied; 0 when none are left (or no adoption is in progress).
 */
CREATE OR REPLACE FUNCTION integration_adopt_seed_copy(p_batch integer)
RETURNS bigint
LANGUAGE plpgsql
SET jit = off
SET search_path FROM CURRENT
AS $$
DECLARE
  st integration_monitor_adoption;
  -- the rows the swap left, below the position reached ($2, $3)
  pending_rows constant text := $p$created_at < $1 AND (created_at < $6 OR status NOT IN ('pending', 'retrying'))
                                    AND created_at <= $2 AND (created_at < $2 OR id < $3)$p$;
  c timestamptz;
  i uuid;
  n bigint;
BEGIN
  SELECT * INTO st FROM integration_monitor_adoption WHERE finished_at IS NULL ORDER BY source LIMIT 1 FOR UPDATE;
  IF NOT FOUND OR st.below_created_at = '-infinity' THEN
    RETURN 0;
  END IF;
  -- This batch's last row, or NULL when fewer than p_batch are left.
  EXECUTE format('SELECT created_at, id FROM %I WHERE %s ORDER BY created_at DESC, id DESC OFFSET $4 LIMIT 1', st.source, pending_rows)
    INTO c, i USING st.recent_from, st.below_created_at, st.below_id, p_batch - 1, NULL::uuid, st.pending_from;
  EXECUTE integration_adopt_seed_insert(st.source, st.swapped_at,
    pending_rows || ' AND ($4::timestamptz IS NULL OR created_at > $4 OR (created_at = $4 AND id >= $5))')
    USING st.recent_from, st.below_created_at, st.below_id, c, i, st.pending_from;
  GET DIAGNOSTICS n = ROW_COUNT;
  UPDATE integration_monitor_adoption
  SET copied = copied + n, below_created_at = coalesce(c, '-infinity'), below_id = i
  WHERE source = st.source;
  RETURN n;
END
$$;

/**
 * Ends an adoption whose batches are done: checks that every row of the seed's table was copied
 * (its count against the copies made; nothing writes to it since the swap), gives rows that landed
 * in the default partition their weeks, and records the end. Returns the bookkeeping row (the last
 * adoption's when none is in progress).
 */
CREATE OR REPLACE FUNCTION integration_adopt_seed_finish()
RETURNS integration_monitor_adoption
LANGUAGE plpgsql
SET jit = off
SET search_path FROM CURRENT
AS $$
DECLARE
  st integration_monitor_adoption;
  total bigint;
BEGIN
  SELECT * INTO st FROM integration_monitor_adoption WHERE finished_at IS NULL ORDER BY source LIMIT 1 FOR UPDATE;
  IF NOT FOUND THEN
    SELECT * INTO st FROM integration_monitor_adoption ORDER BY finished_at DESC NULLS FIRST LIMIT 1;
    RETURN st;
  END IF;
  IF st.below_created_at <> '-infinity' THEN
    RAISE EXCEPTION 'adoption of %: batches not done yet', st.source;
  END IF;
  -- The rows without a created_at the swap left (updated before pending_from): the batches go by created_at.
  EXECUTE integration_adopt_seed_insert(st.source, st.swapped_at, 'created_at IS NULL AND coalesce(updated_at, $2) < $1')
    USING st.pending_from, st.swapped_at;
  GET DIAGNOSTICS total = ROW_COUNT;
  st.copied := st.copied + total;
  EXECUTE format('SELECT count(*) FROM %I', st.source) INTO total;
  IF total <> st.copied THEN
    RAISE EXCEPTION 'adoption of %: % rows copied, the table has %: nothing was dropped; report this', st.source, st.copied, total;
  END IF;
  PERFORM ensure_integration_log_partitions(7, 0);
  UPDATE integration_monitor_adoption SET copied = st.copied, source_rows = total, finished_at = now() WHERE source = st.source RETURNING * INTO st;
  RETURN st;
END
$$;

/**
 * For `doctor`: the latest adoption (an unfinished one first) with the rows its old table still
 * holds beyond those copied, and whether that table is still there. No rows: nothing was adopted.
 */
CREATE OR REPLACE FUNCTION integration_adopt_seed_status()
RETURNS TABLE (source text, copied bigint, source_rows bigint, null_created_at bigint, finished_at timestamptz, source_kept boolean)
LANGUAGE sql STABLE
SECURITY DEFINER -- the bookkeeping is the owner's
SET search_path FROM CURRENT
AS $$
  SELECT a.source, a.copied, a.source_rows, a.null_created_at, a.finished_at, to_regclass(a.source) IS NOT NULL
  FROM integration_monitor_adoption a ORDER BY a.finished_at DESC NULLS FIRST LIMIT 1
$$;

REVOKE ALL ON FUNCTION integration_adopt_seed_status() FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION integration_adopt_seed_status() TO service_role;
REVOKE ALL ON FUNCTION integration_adopt_seed_insert(text, timestamptz, text) FROM PUBLIC, anon, authenticated, service_role;
REVOKE ALL ON FUNCTION integration_adopt_seed_begin(text, interval, interval) FROM PUBLIC, anon, authenticated, service_role;
REVOKE ALL ON FUNCTION integration_adopt_seed_copy(integer) FROM PUBLIC, anon, authenticated, service_role;
REVOKE ALL ON FUNCTION integration_adopt_seed_finish() FROM PUBLIC, anon, authenticated, service_role;
