-- The slowest calls (019): integration_slowest_day keeps, for every (service, action, UTC day), the
-- kept (50) slowest calls with a duration, ranked by (duration_ms, created_at, id) descending. The
-- statement triggers below keep it exact under INSERT, UPDATE and DELETE; integration_slowest_calls
-- answers the Service detail dashboard's "Slowest calls" from it. Retention trims it in
-- cleanup_old_integration_logs (09_retention.sql). Why a kept top 50 and not an index: 019.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

/** How many of each (service, action, day)'s slowest calls are kept: the most a reader may ask for. */
CREATE OR REPLACE FUNCTION integration_slowest_kept() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 50;

/**
 * Takes the transaction-level advisory lock of each group (service, action, day), in key order:
 * shared for writers that only add (they may run side by side), exclusive for a refill. A refill
 * reads the group from the raw rows; an adder that decided "not among the 50 slowest" against
 * entries the refill is replacing would otherwise be missing from both (its row committed after
 * the refill's snapshot, its decision taken before the refill's commit).
 */
CREATE OR REPLACE FUNCTION integration_slowest_lock(p_services text[], p_actions text[], p_days timestamptz[], p_exclusive boolean)
RETURNS void
LANGUAGE plpgsql
SET jit = off
SET search_path FROM CURRENT
AS $$
DECLARE
  k integer;
BEGIN
  FOR k IN
    SELECT DISTINCT hashtext(format('%s|%s|%s', g.service_name, g.action, extract(epoch FROM g.day)::bigint))
    FROM unnest(p_services, p_actions, p_days) g(service_name, action, day) ORDER BY 1
  LOOP
    IF p_exclusive THEN
      PERFORM pg_advisory_xact_lock(1936487276, k);
    ELSE
      PERFORM pg_advisory_xact_lock_shared(1936487276, k);
    END IF;
  END LOOP;
END
$$;

/**
 * Replaces the kept rows of each group (p_services[i], p_actions[i], p_days[i]: a UTC day start)
 * with the group's slowest calls as the raw rows now hold them. For the groups a change removed a
 * kept row from, and for the day retention cuts in two.
 */
CREATE OR REPLACE FUNCTION integration_slowest_refill(p_services text[], p_actions text[], p_days timestamptz[])
RETURNS void
LANGUAGE plpgsql
SET jit = off
SET search_path FROM CURRENT
AS $$
BEGIN
  PERFORM integration_slowest_lock(p_services, p_actions, p_days, true);
  -- by bucket (= the day of created_at): one hash join, where a time range per day was a filter
  -- over every kept row of the pair (0.8 s for a DELETE of all 1M rows)
  DELETE FROM integration_slowest_day s
  USING unnest(p_services, p_actions, p_days) g(service_name, action, day)
  WHERE s.service_name = g.service_name AND s.action = g.action AND s.bucket = g.day;
  INSERT INTO integration_slowest_day AS s (bucket, service_name, action, duration_ms, created_at, id)
  SELECT g.day, x.service_name, x.action, x.duration_ms, x.created_at, x.id
  FROM (SELECT DISTINCT * FROM unnest(p_services, p_actions, p_days) u(service_name, action, day)) g
  -- a day the change left without a timed call of the pair has nothing to read: the day rollups,
  -- kept by the triggers before this one, say so (exact over the raw window, as every range read
  -- assumes); its raw index entries, dead in this transaction, are not walked (0.5 s at 1M rows)
  CROSS JOIN LATERAL (
    SELECT 1 FROM integration_rollup_day r
    WHERE r.bucket = g.day AND r.service_name = g.service_name AND r.action = g.action AND r.duration_n > 0
    LIMIT 1) timed
  CROSS JOIN LATERAL (
    SELECT l.service_name, l.action, l.duration_ms, l.created_at, l.id FROM integration_logs l
    WHERE l.service_name = g.service_name AND l.action = g.action AND l.duration_ms IS NOT NULL
      AND l.created_at >= g.day AND l.created_at < g.day + interval '1 day'
    ORDER BY l.duration_ms DESC, l.created_at DESC, l.id DESC
    LIMIT integration_slowest_kept()) x
  ORDER BY 2, 3, 5
  ON CONFLICT DO NOTHING; -- a concurrent adder's row, already in
END
$$;

/**
 * Adds calls (their service, action, duration, time and id, position by position) to their days'
 * kept rows: a call goes in when it ranks above its day's 50th kept row (or the day has fewer),
 * then each day that took one is cut back to 50. A concurrent adder may leave a day a row or two
 * over 50 (each cuts what it sees): readers rank by the 50th, which stays exact. Static SQL, so its
 * plans are cached: it runs on every INSERT statement.
 */
CREATE OR REPLACE FUNCTION integration_slowest_add(p_services text[], p_actions text[], p_durations integer[], p_times timestamptz[], p_ids uuid[])
RETURNS void
LANGUAGE plpgsql
SET jit = off
SET search_path FROM CURRENT
AS $$
DECLARE
  gs text[];
  ga text[];
  gd timestamptz[];
BEGIN
  SELECT array_agg(g.service_name), array_agg(g.action), array_agg(g.day) INTO gs, ga, gd
  FROM (SELECT DISTINCT u.service_name, u.action, date_bin('1 day'::interval, u.created_at, '1970-01-01 00:00:00+00'::timestamptz) AS day
        FROM unnest(p_services, p_actions, p_times) u(service_name, action, created_at)) g;
  IF gs IS NULL THEN
    RETURN;
  END IF;
  PERFORM integration_slowest_lock(gs, ga, gd, false);
  -- (a new statement, so a new snapshot: a refill this waited for is seen whole)
  WITH a AS (
    SELECT u.service_name, u.action, date_bin('1 day'::interval, u.created_at, '1970-01-01 00:00:00+00'::timestamptz) AS day,
           u.duration_ms, u.created_at, u.id,
           row_number() OVER (PARTITION BY u.service_name, u.action, date_bin('1 day'::interval, u.created_at, '1970-01-01 00:00:00+00'::timestamptz)
                              ORDER BY u.duration_ms DESC, u.created_at DESC, u.id DESC) AS rank
    FROM unnest(p_services, p_actions, p_durations, p_times, p_ids) u(service_name, action, duration_ms, created_at, id)
  ), nth AS (
    SELECT g.service_name, g.action, g.day, x.duration_ms, x.created_at, x.id
    FROM unnest(gs, ga, gd) g(service_name, action, day)
    LEFT JOIN LATERAL (
      SELECT s.duration_ms, s.created_at, s.id FROM integration_slowest_day s
      WHERE s.service_name = g.service_name AND s.action = g.action AND s.created_at >= g.day AND s.created_at < g.day + interval '1 day'
      ORDER BY s.duration_ms DESC, s.created_at DESC, s.id DESC OFFSET integration_slowest_kept() - 1 LIMIT 1) x ON true
  ), ins AS (
    INSERT INTO integration_slowest_day AS s (bucket, service_name, action, duration_ms, created_at, id)
    SELECT a.day, a.service_name, a.action, a.duration_ms, a.created_at, a.id
    FROM a JOIN nth n ON n.service_name = a.service_name AND n.action = a.action AND n.day = a.day
    WHERE a.rank <= integration_slowest_kept() AND (n.id IS NULL OR (a.duration_ms, a.created_at, a.id) > (n.duration_ms, n.created_at, n.id))
    ORDER BY 2, 3, 5
    ON CONFLICT DO NOTHING
    RETURNING s.service_name, s.action, s.bucket
  )
  SELECT array_agg(g.service_name), array_agg(g.action), array_agg(g.bucket) INTO gs, ga, gd
  FROM (SELECT DISTINCT * FROM ins) g;
  IF gs IS NOT NULL THEN
    -- the days that took rows, cut back to the kept number
    DELETE FROM integration_slowest_day s WHERE s.ctid = ANY (ARRAY(
      SELECT x.ctid FROM unnest(gs, ga, gd) g(service_name, action, day)
      CROSS JOIN LATERAL (
        SELECT e.ctid FROM integration_slowest_day e
        WHERE e.service_name = g.service_name AND e.action = g.action AND e.created_at >= g.day AND e.created_at < g.day + interval '1 day'
        ORDER BY e.duration_ms DESC, e.created_at DESC, e.id DESC OFFSET integration_slowest_kept()) x));
  END IF;
END
$$;

/** INSERT on integration_logs: the new calls with a duration, added (static SQL over the transition table). */
CREATE OR REPLACE FUNCTION integration_slowest_on_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
SET jit = off
AS $$
BEGIN
  PERFORM integration_slowest_add(array_agg(n.service_name), array_agg(n.action), array_agg(n.duration_ms), array_agg(n.created_at), array_agg(n.id))
  FROM new_rows n WHERE n.duration_ms IS NOT NULL
  HAVING count(*) > 0;
  RETURN NULL;
END
$$;

/**
 * UPDATE and DELETE on integration_logs. Rows a change removes (deleted, or an UPDATE's old version
 * of service, action, duration or time) that were kept: their days are refilled from the raw rows.
 * Rows it adds (an UPDATE's new versions): added as inserts are.
 */
CREATE OR REPLACE FUNCTION integration_slowest_on_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
SET jit = off
AS $$
DECLARE
  chg constant text := format(
    '(SELECT c0.*, date_bin(''1 day''::interval, c0.created_at, ''1970-01-01 00:00:00+00''::timestamptz) AS day FROM (%s) c0 WHERE c0.duration_ms IS NOT NULL) c',
    integration_signed_changes(TG_OP, 'service_name, action, duration_ms, created_at, id'));
  gs text[];
  ga text[];
  gd timestamptz[];
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('integration_monitor.retention', true) = 'on' THEN
    RETURN NULL; -- cleanup_old_integration_logs trims this table itself
  END IF;
  -- EXECUTE: transition tables reach dynamic SQL, and the signed change set is text
  EXECUTE format($q$
    SELECT array_agg(g.service_name), array_agg(g.action), array_agg(g.day)
    FROM (SELECT DISTINCT c.service_name, c.action, c.day FROM %s
          WHERE c.sign < 0 AND EXISTS (
            SELECT 1 FROM integration_slowest_day s
            WHERE s.service_name = c.service_name AND s.action = c.action AND s.duration_ms = c.duration_ms
              AND s.created_at = c.created_at AND s.id = c.id)) g$q$, chg) INTO gs, ga, gd;
  IF gs IS NOT NULL THEN
    PERFORM integration_slowest_refill(gs, ga, gd);
  END IF;
  IF TG_OP = 'UPDATE' THEN
    EXECUTE format('SELECT integration_slowest_add(array_agg(c.service_name), array_agg(c.action), array_agg(c.duration_ms), array_agg(c.created_at), array_agg(c.id))
                    FROM %s WHERE c.sign > 0 HAVING count(*) > 0', chg);
  END IF;
  RETURN NULL;
END
$$;

-- After the other triggers (statement triggers fire in name order): the lock order of
-- 04_rollup_triggers.sql ends with this table. Here, beside their function, rather than in 019:
-- a numbered file holds no function, and a trigger needs its function to exist.
CREATE OR REPLACE TRIGGER integration_logs_slowest_insert AFTER INSERT ON integration_logs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION integration_slowest_on_insert();
CREATE OR REPLACE TRIGGER integration_logs_slowest_update AFTER UPDATE ON integration_logs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION integration_slowest_on_change();
CREATE OR REPLACE TRIGGER integration_logs_slowest_delete AFTER DELETE ON integration_logs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION integration_slowest_on_change();

REVOKE ALL ON FUNCTION integration_slowest_lock(text[], text[], timestamptz[], boolean),
  integration_slowest_refill(text[], text[], timestamptz[]), integration_slowest_add(text[], text[], integer[], timestamptz[], uuid[]),
  integration_slowest_on_insert(), integration_slowest_on_change() FROM PUBLIC, anon, authenticated, service_role;

/**
 * The p_limit (at most integration_slowest_kept()) slowest calls with a duration in [p_from, p_to)
 * of the (service, action) pairs in p_services × p_actions (NULL: every one), slowest first, equal
 * durations newest first (then by id): exactly what ORDER BY duration_ms DESC, created_at DESC,
 * id DESC LIMIT p_limit over the raw rows returns. As the caller: the tables' policies apply.
 *
 * Each pair's kept rows in the range are candidates, and on a day the range holds whole nothing
 * else can rank (the day's other calls are below 50 of its kept rows, all in the range). A day the
 * range cuts holds unknown calls below its 50th kept row, so only where that row ranks at or above
 * the candidates' p_limit-th (or there are fewer candidates) are the raw rows of that part-day read,
 * and only those below the 50th: at most two part-days per pair, most often none.
 */
CREATE OR REPLACE FUNCTION integration_slowest_calls(p_from timestamptz, p_to timestamptz, p_services text[], p_actions text[], p_limit integer DEFAULT 50)
RETURNS TABLE (created_at timestamptz, service_name text, action text, status text, duration_ms integer, retry_count integer,
               error_code text, related_entity_type text, related_entity_id uuid, id uuid)
LANGUAGE plpgsql STABLE
SET jit = off
SET search_path FROM CURRENT
AS $$
BEGIN
  IF p_limit IS NULL OR p_limit < 1 OR p_limit > integration_slowest_kept() THEN
    RAISE EXCEPTION 'p_limit must be between 1 and %, got %', integration_slowest_kept(), p_limit USING ERRCODE = '22023';
  END IF;
  IF p_from IS NULL OR p_to IS NULL OR p_to <= p_from THEN
    RETURN;
  END IF;
  -- EXECUTE: planned for these arguments each time (a short range reads by time, a long one in
  -- duration order); a cached generic plan would pick one for all
  RETURN QUERY EXECUTE $q$
    WITH pairs AS MATERIALIZED (
      SELECT k.service_name, k.action FROM integration_service_actions k
      WHERE ($3 IS NULL OR k.service_name = ANY ($3)) AND ($4 IS NULL OR k.action = ANY ($4))
    ), cand AS MATERIALIZED (
      SELECT c.* FROM pairs p CROSS JOIN LATERAL (
        SELECT s.service_name, s.action, s.duration_ms, s.created_at, s.id FROM integration_slowest_day s
        WHERE s.service_name = p.service_name AND s.action = p.action AND s.created_at >= $1 AND s.created_at < $2
        ORDER BY s.duration_ms DESC, s.created_at DESC, s.id DESC LIMIT $5) c
    ), cut AS MATERIALIZED (
      SELECT c.duration_ms, c.created_at, c.id FROM cand c
      ORDER BY c.duration_ms DESC, c.created_at DESC, c.id DESC OFFSET $5 - 1 LIMIT 1
    ), edges AS MATERIALIZED (
      SELECT p.service_name, p.action, greatest($1, d.day) AS lo, least($2, d.day + interval '1 day') AS hi, b.duration_ms, b.created_at, b.id
      FROM pairs p
      CROSS JOIN (SELECT DISTINCT x.day FROM unnest(ARRAY[date_bin('1 day'::interval, $1, '1970-01-01 00:00:00+00'::timestamptz),
                                                          date_bin('1 day'::interval, $2 - interval '1 microsecond', '1970-01-01 00:00:00+00'::timestamptz)]) x(day)
                  WHERE x.day < $1 OR x.day + interval '1 day' > $2) d
      CROSS JOIN LATERAL (
        SELECT s.duration_ms, s.created_at, s.id FROM integration_slowest_day s
        WHERE s.service_name = p.service_name AND s.action = p.action AND s.created_at >= d.day AND s.created_at < d.day + interval '1 day'
        ORDER BY s.duration_ms DESC, s.created_at DESC, s.id DESC OFFSET integration_slowest_kept() - 1 LIMIT 1) b
      WHERE NOT EXISTS (SELECT 1 FROM cut WHERE (cut.duration_ms, cut.created_at, cut.id) >= (b.duration_ms, b.created_at, b.id))
    ), unknown AS (
      SELECT r.* FROM edges e CROSS JOIN LATERAL (
        SELECT l.service_name, l.action, l.duration_ms, l.created_at, l.id FROM integration_logs l
        WHERE l.service_name = e.service_name AND l.action = e.action AND l.duration_ms IS NOT NULL
          AND l.created_at >= e.lo AND l.created_at < e.hi
          AND (l.duration_ms, l.created_at, l.id) < (e.duration_ms, e.created_at, e.id)
        ORDER BY l.duration_ms DESC, l.created_at DESC, l.id DESC LIMIT $5) r
    ), top AS (
      SELECT u.* FROM (SELECT * FROM cand UNION ALL SELECT * FROM unknown) u
      ORDER BY u.duration_ms DESC, u.created_at DESC, u.id DESC LIMIT $5
    )
    SELECT l.created_at, l.service_name, l.action, l.status, l.duration_ms, l.retry_count,
           l.error_code, l.related_entity_type, l.related_entity_id, l.id
    FROM top t JOIN integration_logs l ON l.id = t.id AND l.created_at = t.created_at
    ORDER BY t.duration_ms DESC, t.created_at DESC, t.id DESC$q$
  USING p_from, p_to, p_services, p_actions, p_limit;
END
$$;

-- readers call both as themselves (20_function_privileges.sql grants them)
REVOKE ALL ON FUNCTION integration_slowest_kept(), integration_slowest_calls(timestamptz, timestamptz, text[], text[], integer) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_slowest_kept(), integration_slowest_calls(timestamptz, timestamptz, text[], text[], integer)
  TO authenticated, service_role, integration_monitor_reader;
