-- The trigger functions that keep the rollup tables exact (first created by 004; the rollup_on_*
-- bodies as 007 left them, rollup_on_change with 009's fixed UTC; both keep 011's zone days and
-- 013's zone hours).
-- The triggers themselves are table DDL and stay in 004.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- ---- the minute window ----------------------------------------------------------------------------
-- Minute rollups are kept for the recent week only (015): the panels that read minutes (ranges of a
-- day or less, edges of longer ones) mostly look at the last days, and at low traffic a minute row
-- costs as much as the raw row it sums (0.74 minute rows per call at 1M calls over 120 days).
-- Older sub-hour pieces are read from raw rows (kept 90 days), which is exact and, for the at most
-- two partial hours at a range's ends, a few thousand rows at 10M calls.
-- Writers keep minutes from integration_minute_kept_from() (8 days back), readers use them from
-- integration_minute_read_from() (7 days back): a day of slack, so a minute a reader uses was kept
-- by every writer before it, whatever their clocks (a transaction's now() is its start), and the
-- daily cleanup (09) may run at any hour.

/** The oldest minute bucket the triggers keep (and cleanup_integration_rollups leaves). */
CREATE OR REPLACE FUNCTION integration_minute_kept_from() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
RETURN date_bin('1 minute'::interval, now() - interval '8 days', '1970-01-01 00:00:00+00'::timestamptz);

/** The oldest minute bucket readers take from the minute rollups; before it they read raw rows. */
CREATE OR REPLACE FUNCTION integration_minute_read_from() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
RETURN date_bin('1 minute'::interval, now() - interval '7 days', '1970-01-01 00:00:00+00'::timestamptz);

-- readers call integration_minute_read_from() as themselves (20_function_privileges.sql grants it);
-- the kept-from bound is the triggers' and the cleanup's (both run as the owner)
REVOKE ALL ON FUNCTION integration_minute_kept_from(), integration_minute_read_from() FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION integration_minute_read_from() TO authenticated, service_role, integration_monitor_reader;

/**
 * The statement's change set as SQL text over the transition tables: every row with sign +1
 * (inserted, or an UPDATE's new version) or -1 (deleted, or an UPDATE's old version). For UPDATE
 * only rows whose `cols` actually changed count (new EXCEPT ALL old, old EXCEPT ALL new), so a
 * touch of other columns costs nothing. One definition for every trigger that keeps a rollup.
 */
CREATE OR REPLACE FUNCTION integration_signed_changes(op text, cols text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE op
  WHEN 'INSERT' THEN format('SELECT %s, 1 AS sign FROM new_rows', cols)
  WHEN 'DELETE' THEN format('SELECT %s, -1 AS sign FROM old_rows', cols)
  ELSE format('(SELECT %1$s, 1 AS sign FROM (SELECT %1$s FROM new_rows EXCEPT ALL SELECT %1$s FROM old_rows) a)
               UNION ALL
               (SELECT %1$s, -1 AS sign FROM (SELECT %1$s FROM old_rows EXCEPT ALL SELECT %1$s FROM new_rows) r)', cols)
END;
REVOKE ALL ON FUNCTION integration_signed_changes(text, text) FROM PUBLIC, anon, authenticated, service_role;

-- ---- the levels ------------------------------------------------------------------------------------
/**
 * The level table: every table the triggers keep from integration_logs, one row each, in the order
 * every trigger path writes them (`write_order`, the lock order below). `kind` says what a row of it
 * holds: 'stats' calls, durations and retries per (bucket, service, action, status); 'hist' latency
 * bins per (bucket, service, action, status); 'service hist' and 'service stats' the same per
 * (bucket, service); 'pairs' the (service, action) pairs ever seen (no buckets). `unit` is its bucket,
 * `zoned` whether the buckets are a configured day zone's (011, 013) rather than UTC ones.
 * It drives the INSERT trigger (generated from it below), the UPDATE/DELETE triggers and retention
 * (cleanup_integration_rollups). The range readers (05, 06) name their tables in static SQL, so
 * that their plans are cached (docs/schema.md "The levels").
 */
CREATE OR REPLACE FUNCTION integration_rollup_levels()
RETURNS TABLE (write_order integer, tbl text, kind text, unit text, zoned boolean)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT v.write_order, v.tbl, v.kind, v.unit, v.zoned FROM (VALUES
    (1, 'integration_rollup_minute', 'stats', 'minute', false),
    (2, 'integration_rollup_hour', 'stats', 'hour', false),
    (3, 'integration_rollup_day', 'stats', 'day', false),
    (4, 'integration_rollup_zone_day', 'stats', 'day', true),
    (5, 'integration_rollup_zone_hour', 'stats', 'hour', true),
    (6, 'integration_latency_hist_hour', 'hist', 'hour', false),
    (7, 'integration_latency_hist_day', 'hist', 'day', false),
    (8, 'integration_service_actions', 'pairs', NULL, false),
    (9, 'integration_latency_hist_service_hour', 'service hist', 'hour', false),
    (10, 'integration_latency_hist_service_day', 'service hist', 'day', false),
    (11, 'integration_rollup_service_hour', 'service stats', 'hour', false),
    (12, 'integration_rollup_service_day', 'service stats', 'day', false)) v(write_order, tbl, kind, unit, zoned)
  ORDER BY v.write_order;
END;
-- the triggers' and retention's, both run as the owner
REVOKE ALL ON FUNCTION integration_rollup_levels() FROM PUBLIC, anon, authenticated, service_role;

/**
 * The change set the stats and histogram levels read, as a FROM item's text: each changed call's
 * minute bucket (`minute`), service_name, action, status, duration_ms, retry_count and sign
 * (integration_signed_changes). The INSERT trigger is generated over `integration_rollup_changes('INSERT')`,
 * integration_rollup_on_change runs over its own operation's.
 */
CREATE OR REPLACE FUNCTION integration_rollup_changes(op text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format('(SELECT date_bin(''1 minute''::interval, created_at, ''1970-01-01 00:00:00+00''::timestamptz) AS minute,
                       service_name, action, status, duration_ms, retry_count, sign FROM (%s) c0)',
              integration_signed_changes(op, 'created_at, service_name, action, status, duration_ms, retry_count'));
REVOKE ALL ON FUNCTION integration_rollup_changes(text) FROM PUBLIC, anon, authenticated, service_role;

/** A stats level's key columns, as its primary key lists them. */
CREATE OR REPLACE FUNCTION integration_rollup_level_keycols(zoned boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN zoned THEN 'zone, bucket, service_name, action, status' ELSE 'bucket, service_name, action, status' END;

/**
 * A stats level's rows of a change set, as `keys` (its key columns as a SELECT list) and `src` (a
 * FROM item): `chg` is the change set (columns minute, the call's minute bucket, service_name,
 * action, status, duration_ms, retry_count and sign), named `c`; zoned levels pair it with every
 * configured day zone `z`. A zone day is the sum of its minutes (a minute never straddles a local
 * midnight: offsets are whole quarter hours). Minutes are kept within the window only (015: older
 * ones are summed into hours and days all the same); zone hours only where a local hour is not a UTC
 * hour (a :30/:45 offset's: a whole-hour zone's hours are the UTC hour rollups, 013).
 */
CREATE OR REPLACE FUNCTION integration_rollup_level_keys(unit text, zoned boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN zoned THEN format('z.zone, date_trunc(%L, c.minute, z.zone) AS bucket, c.service_name, c.action, c.status', unit)
            ELSE format('date_bin(%L::interval, c.minute, ''1970-01-01 00:00:00+00''::timestamptz) AS bucket, c.service_name, c.action, c.status', '1 ' || unit) END;

CREATE OR REPLACE FUNCTION integration_rollup_level_src(chg text, unit text, zoned boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format('%s c', chg) || CASE
  WHEN zoned AND unit = 'hour' THEN ' CROSS JOIN integration_monitor_day_zones z
    WHERE date_trunc(''hour'', c.minute, z.zone) <> date_bin(''1 hour''::interval, c.minute, ''1970-01-01 00:00:00+00''::timestamptz)'
  WHEN zoned THEN ' CROSS JOIN integration_monitor_day_zones z'
  WHEN unit = 'minute' THEN ' WHERE c.minute >= integration_minute_kept_from()'
  ELSE '' END;

/**
 * The statement that adds the rows of a change set made only of additions (an INSERT's) to a stats
 * level: counts and sums added, min/max widened, one upsert in key order.
 */
CREATE OR REPLACE FUNCTION integration_rollup_add_statement(tbl text, unit text, zoned boolean, chg text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format($q$
  INSERT INTO %1$I AS t (%2$s, calls, duration_n, duration_sum, duration_min, duration_max, retry_sum, retried)
  SELECT %3$s, count(*), count(c.duration_ms), coalesce(sum(c.duration_ms), 0)::bigint, min(c.duration_ms), max(c.duration_ms),
         coalesce(sum(c.retry_count), 0)::bigint, count(*) FILTER (WHERE c.retry_count > 0)
  FROM %4$s
  GROUP BY %2$s ORDER BY %2$s
  ON CONFLICT (%2$s) DO UPDATE SET
    calls = t.calls + excluded.calls, duration_n = t.duration_n + excluded.duration_n,
    duration_sum = t.duration_sum + excluded.duration_sum,
    duration_min = least(t.duration_min, excluded.duration_min), duration_max = greatest(t.duration_max, excluded.duration_max),
    retry_sum = t.retry_sum + excluded.retry_sum, retried = t.retried + excluded.retried$q$,
  tbl, integration_rollup_level_keycols(zoned), integration_rollup_level_keys(unit, zoned),
  integration_rollup_level_src(chg, unit, zoned));

/**
 * The statement that sets a stats level's group min/max from what lies below it, for
 * integration_apply_rollup_change (`d` the group, `t` its row): UTC minutes and hours from the raw
 * rows of the bucket; days from the hours the previous statement has already brought up to date.
 * Zone days: the UTC hours lying wholly inside the local day, and the raw rows of the day in the
 * hours its midnights cut (a :30/:45 offset's). The day is what date_trunc('day', created_at, zone)
 * says, not [label, next label): where a DST change repeats the hour after midnight (01:00 back to
 * 00:00, as in Havana), both midnights get the later instant as their label, so the day begins an
 * hour before its label and the day before ends an hour before the next label. Hence the hours from
 * 3 before the label to 27 after it, each tested by its first and last instant. Older than raw
 * retention (90 days by default) the raw rows are gone, and such a day's min/max then come from its
 * whole hours only; counts and sums stay exact (signed deltas).
 * Zone hours: the raw rows with the same local hour, looked for within 2 hours either side of its
 * label (a DST change's ambiguous hour is labelled by its later instant and spans 2 hours); an hour
 * older than raw retention keeps its min/max as they were.
 */
CREATE OR REPLACE FUNCTION integration_rollup_level_minmax(unit text, zoned boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN zoned AND unit = 'day' THEN $s$
      SELECT min(y.mn) AS mn, max(y.mx) AS mx
      FROM (SELECT h.h, date_trunc('day', h.h, d.zone) = d.bucket AS starts_in,
                   date_trunc('day', h.h + interval '59 minutes 59.999999 seconds', d.zone) = d.bucket AS ends_in
            FROM generate_series(date_bin('1 hour'::interval, d.bucket - interval '3 hours', '1970-01-01 00:00:00+00'::timestamptz),
                                 d.bucket + interval '27 hours', interval '1 hour') h(h)) e
      CROSS JOIN LATERAL (
        SELECT b.duration_min AS mn, b.duration_max AS mx FROM integration_rollup_hour b
        WHERE e.starts_in AND e.ends_in
          AND b.bucket = e.h AND b.service_name = d.service_name AND b.action = d.action AND b.status = d.status
        UNION ALL
        SELECT l.duration_ms, l.duration_ms FROM integration_logs l
        WHERE e.starts_in <> e.ends_in
          AND l.created_at >= e.h AND l.created_at < e.h + interval '1 hour' AND date_trunc('day', l.created_at, d.zone) = d.bucket
          AND l.service_name = d.service_name AND l.action = d.action AND l.status = d.status) y
      WHERE true$s$
  -- `+ 0`: without it the planner answers min and max from an index led by (service_name,
  -- duration_ms) where one exists (010's, dropped by 019), scanning the pair's durations in every
  -- partition until one falls in this bucket, and none does when the bucket's rows were all
  -- deleted: 6 ms a group at 1M calls, growing with the table (issue 23: a 50k-row DELETE took 31 s).
  WHEN zoned THEN $s$
      SELECT CASE WHEN count(*) = 0 THEN t.duration_min ELSE min(l.duration_ms + 0) END AS mn,
             CASE WHEN count(*) = 0 THEN t.duration_max ELSE max(l.duration_ms + 0) END AS mx
      FROM integration_logs l
      WHERE l.created_at >= d.bucket - interval '2 hours' AND l.created_at < d.bucket + interval '2 hours'
        AND l.service_name = d.service_name AND l.action = d.action AND l.status = d.status
        AND date_trunc('hour', l.created_at, d.zone) = d.bucket$s$
  WHEN unit = 'day' THEN $s$
      SELECT min(b.duration_min) AS mn, max(b.duration_max) AS mx FROM integration_rollup_hour b
      WHERE b.bucket >= d.bucket AND b.bucket < d.bucket + interval '1 day'
        AND b.service_name = d.service_name AND b.action = d.action AND b.status = d.status$s$
  ELSE format($s$
      SELECT min(l.duration_ms + 0) AS mn, max(l.duration_ms + 0) AS mx FROM integration_logs l
      WHERE l.created_at >= d.bucket AND l.created_at < d.bucket + %L::interval
        AND l.service_name = d.service_name AND l.action = d.action AND l.status = d.status$s$, '1 ' || unit)
END;

REVOKE ALL ON FUNCTION integration_rollup_level_keycols(boolean), integration_rollup_level_keys(text, boolean),
  integration_rollup_level_src(text, text, boolean), integration_rollup_add_statement(text, text, boolean, text),
  integration_rollup_level_minmax(text, boolean) FROM PUBLIC, anon, authenticated, service_role;

/**
 * The statements that add a change set to the latency histograms (017: one row per key, the
 * occupied bins ascending in `bins`, their counts in `ns`), one per level of `kind` ('hist': per
 * (bucket, service, action, status), 'service hist': per (bucket, service)) in write order.
 * `src` is the change set (rows with `tcol`, the key columns, duration_ms and sign;
 * integration_signed_changes). A stored key gets the counts added bin by bin and a bin that reaches
 * 0 is left out, so the arrays stay sorted, exact and free of zeros whatever the order of the
 * writes; each upsert's rows in key order. With `lo`/`hi` (UPDATE, DELETE: the change set's first
 * and last instant) each upsert is followed by the delete of the keys it left without a bin in the
 * buckets touched (an upsert cannot delete). Counts are purely additive, so no lock-first step
 * (integration_lock_rollup_groups). Text to EXECUTE: transition tables are visible only to the trigger.
 */
CREATE OR REPLACE FUNCTION integration_hist_statements(per_service boolean, tcol text, src text, lo timestamptz, hi timestamptz)
RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
  others constant text := CASE WHEN per_service THEN 'service_name' ELSE 'service_name, action, status' END;
  keycols constant text := 'bucket, ' || others;
  lvl record;
  out text[] := '{}';
BEGIN
  FOR lvl IN SELECT l.tbl, l.unit FROM integration_rollup_levels() l
             WHERE l.kind = CASE WHEN per_service THEN 'service hist' ELSE 'hist' END ORDER BY l.write_order LOOP
    out := out || format($q$
      INSERT INTO %1$I AS t (%2$s, bins, ns)
      SELECT %2$s, array_agg(g.bin ORDER BY g.bin), array_agg(g.n ORDER BY g.bin)
      FROM (SELECT date_bin(%3$L::interval, %4$I, '1970-01-01 00:00:00+00'::timestamptz) AS bucket, %6$s,
                   integration_latency_bin(duration_ms)::smallint AS bin, sum(sign)::integer AS n
            FROM %5$s WHERE duration_ms IS NOT NULL GROUP BY %2$s, bin HAVING sum(sign) <> 0) g
      GROUP BY %2$s ORDER BY %2$s
      ON CONFLICT (%2$s) DO UPDATE SET (bins, ns) = (
        SELECT coalesce(array_agg(m.bin ORDER BY m.bin), '{}'), coalesce(array_agg(m.n ORDER BY m.bin), '{}')
        -- one unnest of both rows' arrays end to end: a third of the time of a UNION ALL of two
        -- (16 against 47 us a key of 25 bins at 1M calls)
        FROM (SELECT u.bin, sum(u.n)::integer AS n FROM unnest(t.bins || excluded.bins, t.ns || excluded.ns) u(bin, n)
              -- a key the change empties (no bin is ever negative, so a total of 0 is every bin at
              -- 0) skips the merge and its sorts: a one-time filter (a DELETE empties most keys)
              WHERE (SELECT sum(x) FROM unnest(t.ns || excluded.ns) x) <> 0
              GROUP BY u.bin HAVING sum(u.n) <> 0) m)
      $q$, lvl.tbl, keycols, '1 ' || lvl.unit, tcol, src, others);
    IF lo IS NOT NULL THEN
      out := out || format($q$DELETE FROM %I WHERE bins = '{}' AND bucket >= date_bin(%L::interval, %L::timestamptz, '1970-01-01 00:00:00+00'::timestamptz) AND bucket <= %L::timestamptz$q$,
                           lvl.tbl, '1 ' || lvl.unit, lo, hi);
    END IF;
  END LOOP;
  RETURN out;
END
$$;
REVOKE ALL ON FUNCTION integration_hist_statements(boolean, text, text, timestamptz, timestamptz) FROM PUBLIC, anon, authenticated, service_role;

/**
 * The statements that add a change set (`src`: created_at, service_name, status, sign) to the
 * per-service counts, hour then day: calls and failed are additive, so UPDATE/DELETE apply a signed
 * delta (a status change alone moves only `failed`), and with `lo`/`hi` each is followed by the
 * delete of the buckets it left without calls.
 */
CREATE OR REPLACE FUNCTION integration_service_rollup_statements(src text, lo timestamptz, hi timestamptz)
RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT coalesce(array_agg(s.q ORDER BY l.write_order, s.step), '{}')
  FROM integration_rollup_levels() l
  CROSS JOIN LATERAL (VALUES (1, format($q$
      INSERT INTO %1$I AS t (bucket, service_name, calls, failed)
      SELECT date_bin(%2$L::interval, created_at, '1970-01-01 00:00:00+00'::timestamptz), service_name,
             sum(sign)::bigint, coalesce(sum(sign) FILTER (WHERE status = 'failed'), 0)::bigint
      FROM %3$s GROUP BY 1, 2
      HAVING sum(sign) <> 0 OR coalesce(sum(sign) FILTER (WHERE status = 'failed'), 0) <> 0
      ORDER BY 1, 2
      ON CONFLICT (bucket, service_name) DO UPDATE SET calls = t.calls + excluded.calls, failed = t.failed + excluded.failed
      $q$, l.tbl, '1 ' || l.unit, src)),
    (2, CASE WHEN lo IS NOT NULL THEN
      format($q$DELETE FROM %I WHERE calls = 0 AND bucket >= date_bin(%L::interval, %L::timestamptz, '1970-01-01 00:00:00+00'::timestamptz) AND bucket <= %L::timestamptz$q$,
             l.tbl, '1 ' || l.unit, lo, hi) END)) s(step, q)
  WHERE l.kind = 'service stats' AND s.q IS NOT NULL;
END;
REVOKE ALL ON FUNCTION integration_service_rollup_statements(text, timestamptz, timestamptz) FROM PUBLIC, anon, authenticated, service_role;

-- Lock order. Every trigger path writes the levels one statement per table in write_order
-- (integration_rollup_levels: minute, hour, day, zone_day, zone_hour, latency_hist_hour, _day,
-- service_actions, latency_hist_service_hour, _day, rollup_service_hour, _day), then slowest_day
-- (16_slowest_calls.sql, whose per-day advisory locks come first). INSERT: all of them in the one
-- trigger below. UPDATE and DELETE: integration_rollup_on_change (stats, hist, pairs), then
-- integration_service_hist_on_write, then integration_service_rollup_on_write; statement triggers
-- fire in name order, and integration_logs_rollup_* < _service_hist_* < _service_rollup_* <
-- _slowest_*. Each upsert's rows are ordered by its conflict key (INSERT … SELECT … ORDER BY locks
-- them in that order). So any two writers that touch overlapping rollup rows lock them in the same
-- order and wait for each other instead of deadlocking: the seed's insert-pending-then-update-by-id
-- writers did (40P01 in 1-2% of concurrent pairs) while these were data-modifying CTEs of one
-- statement, whose order among themselves PostgreSQL leaves unspecified.

-- The INSERT trigger, generated from the level table: one static statement per level, so plpgsql
-- plans each once per session and runs it from its cached plan. The same statements run through
-- EXECUTE (planned on every insert) made a single-row INSERT 0.3 ms slower (2.35-2.42 against
-- 2.66-2.79 ms, 400 autocommit single-row INSERTs on 1M calls, docs/scaling.md "The level table");
-- so were the per-service levels when they had triggers of their own, which 020 dropped.
-- `\sf integration_rollup_on_insert` shows the generated body.
DO $install$
DECLARE
  changes constant text := integration_rollup_changes('INSERT');
  body text;
BEGIN
  SELECT string_agg(s.q, E'\n' ORDER BY l.write_order, s.ord) INTO body
  FROM integration_rollup_levels() l
  CROSS JOIN LATERAL (
    SELECT 0 AS ord,
           CASE WHEN l.zoned THEN format(E'  IF zones THEN%s;\n  END IF;', integration_rollup_add_statement(l.tbl, l.unit, l.zoned, changes))
                ELSE integration_rollup_add_statement(l.tbl, l.unit, l.zoned, changes) || ';' END AS q
    WHERE l.kind = 'stats'
    UNION ALL
    -- the histograms of one kind come as one array, so only their first level's row takes it
    SELECT h.ord, h.q || ';'
    FROM unnest(integration_hist_statements(l.kind = 'service hist', 'minute', format('%s c', changes), NULL, NULL))
         WITH ORDINALITY h(q, ord)
    WHERE l.kind IN ('hist', 'service hist')
      AND l.write_order = (SELECT min(x.write_order) FROM integration_rollup_levels() x WHERE x.kind = l.kind)
    UNION ALL
    SELECT 0, format(E'  INSERT INTO %I (service_name, action)\n  SELECT DISTINCT service_name, action FROM new_rows ORDER BY 1, 2\n  ON CONFLICT DO NOTHING;', l.tbl)
    WHERE l.kind = 'pairs'
    UNION ALL
    SELECT s.ord, s.q || ';'
    FROM unnest(integration_service_rollup_statements(format('(%s) c', integration_signed_changes('INSERT', 'created_at, service_name, status')), NULL, NULL))
         WITH ORDINALITY s(q, ord)
    WHERE l.kind = 'service stats'
      AND l.write_order = (SELECT min(x.write_order) FROM integration_rollup_levels() x WHERE x.kind = l.kind)) s;

  EXECUTE format($f$
CREATE OR REPLACE FUNCTION integration_rollup_on_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
SET jit = off
AS %L$f$, format(E'\n-- generated by 04_rollup_triggers.sql from integration_rollup_levels(): edit that file, not this body\nDECLARE\n  zones constant boolean := EXISTS (SELECT 1 FROM integration_monitor_day_zones);\nBEGIN\n%s\n  RETURN NULL;\nEND\n', body));
END
$install$;

/**
 * The statement that locks the rollup rows of the groups `keys` (a SELECT list over `src`) names in
 * table `tbl` (key columns `keycols`), in key order, inserting an empty row (calls = 0) for a group
 * that has none yet; ON CONFLICT DO UPDATE … WHERE false locks an existing row without writing a
 * new version. integration_rollup_on_change recomputes a group's min/max from the rows below it
 * (raw rows, hours): a writer that added to the group and committed while that statement waited
 * for the row lock would be missing from the statement's snapshot, and its min or max lost (test/
 * db/rollup-deadlocks.test.ts has the cases). So the locks come first, in a statement of their own;
 * the next statement's snapshot (READ COMMITTED) holds every writer that had the lock before, and
 * every later one waits and applies least()/greatest() (inserts) or recomputes (changes) after.
 * Text to EXECUTE, not a function that runs it: transition tables are visible only to the trigger.
 */
CREATE OR REPLACE FUNCTION integration_lock_rollup_groups(tbl text, keycols text, keys text, src text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format($q$
    INSERT INTO %1$I AS t (%2$s, calls, duration_n, duration_sum, retry_sum, retried)
    SELECT k.*, 0, 0, 0, 0, 0 FROM (SELECT DISTINCT %3$s FROM %4$s) k ORDER BY %2$s
    ON CONFLICT (%2$s) DO UPDATE SET calls = t.calls WHERE false
    $q$, tbl, keycols, keys, src);
REVOKE ALL ON FUNCTION integration_lock_rollup_groups(text, text, text, text) FROM PUBLIC, anon, authenticated, service_role;

/**
 * The statement that applies the change set to the groups integration_lock_rollup_groups (same
 * `tbl`, `keycols`, `keys`, `src`; `src` names the change set `c`) has just locked. It aggregates
 * the change per group, finds each group's row once by key and then writes it by ctid (our lock
 * keeps it in place): a group the change leaves without calls is deleted outright (no update first,
 * no min/max lookup), the others get the deltas and a min/max that is the added values' when every
 * row of the group was replaced (an UPDATE of a whole range, a new group), `lookup`'s when a
 * removed value was the min or the max, and otherwise the stored one, widened by the values added.
 * `lookup` (a SELECT of mn, mx over `d`, the group, and `t`, its row) ends in a WHERE clause that
 * this extends with `r.rc`: a one-time filter, so no group that does not need it pays a scan. The
 * DELETE and the UPDATE write disjoint rows (calls reaching 0 or not). Text to EXECUTE, as above.
 */
CREATE OR REPLACE FUNCTION integration_apply_rollup_change(tbl text, keycols text, keys text, src text, lookup text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format($q$
    WITH d AS MATERIALIZED (
      SELECT %3$s,
             sum(c.sign)::bigint AS calls,
             coalesce(sum(c.sign) FILTER (WHERE c.duration_ms IS NOT NULL), 0)::bigint AS duration_n,
             coalesce(sum(c.sign * c.duration_ms::bigint), 0)::bigint AS duration_sum,
             coalesce(sum(c.sign * c.retry_count::bigint), 0)::bigint AS retry_sum,
             coalesce(sum(c.sign) FILTER (WHERE c.retry_count > 0), 0)::bigint AS retried,
             min(c.duration_ms) FILTER (WHERE c.sign > 0) AS add_min, max(c.duration_ms) FILTER (WHERE c.sign > 0) AS add_max,
             count(*) FILTER (WHERE c.sign < 0) AS removed,
             min(c.duration_ms) FILTER (WHERE c.sign < 0) AS del_min, max(c.duration_ms) FILTER (WHERE c.sign < 0) AS del_max
      FROM %4$s GROUP BY %6$s
    ), j AS MATERIALIZED (
      SELECT d.*, t.ctid AS tid, t.calls + d.calls AS calls_left FROM d JOIN %1$I t ON %7$s
    ), emptied AS (
      DELETE FROM %1$I t WHERE t.ctid = ANY (ARRAY(SELECT j.tid FROM j WHERE j.calls_left = 0))
    )
    UPDATE %1$I t SET
      calls = t.calls + d.calls, duration_n = t.duration_n + d.duration_n, duration_sum = t.duration_sum + d.duration_sum,
      retry_sum = t.retry_sum + d.retry_sum, retried = t.retried + d.retried,
      (duration_min, duration_max) = (
        SELECT CASE WHEN r.all_new THEN d.add_min WHEN r.rc THEN x.mn ELSE least(t.duration_min, d.add_min) END,
               CASE WHEN r.all_new THEN d.add_max WHEN r.rc THEN x.mx ELSE greatest(t.duration_max, d.add_max) END
        FROM (SELECT d.removed = t.calls AS all_new,
                     d.removed <> t.calls AND coalesce(d.del_min <= t.duration_min OR d.del_max >= t.duration_max, d.del_min IS NOT NULL) AS rc) r
        CROSS JOIN LATERAL (%5$s AND r.rc) x)
    FROM j d
    WHERE t.ctid = d.tid AND d.calls_left <> 0
    $q$, tbl, keycols, keys, src, lookup,
    (SELECT string_agg(i::text, ', ') FROM generate_series(1, cardinality(string_to_array(keycols, ','))) i),
    (SELECT string_agg(format('t.%1$I = d.%1$I', trim(k)), ' AND ') FROM unnest(string_to_array(keycols, ',')) k));
REVOKE ALL ON FUNCTION integration_apply_rollup_change(text, text, text, text, text) FROM PUBLIC, anon, authenticated, service_role;

/**
 * UPDATE and DELETE: applies the signed change (rows added +1, rows removed -1) to every stats level,
 * the histograms and the pairs. Transition tables are visible to EXECUTE, which lets one body serve
 * both operations.
 */
CREATE OR REPLACE FUNCTION integration_rollup_on_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
SET jit = off
-- Its statements join the touched groups to a rollup table by primary key. The planner guesses the
-- groups of a transition table as a tenth of its rows and then prefers hashing the whole rollup
-- table: a 5k-row DELETE of 1M calls read all 49k minute and 58k hour rows, twice (400 ms against
-- 210 ms with index lookups per group). Lookups keep each level's cost with the groups touched.
SET enable_hashjoin = off
SET enable_mergejoin = off
-- UTC, so that its `bucket + '1 day'` windows (min/max of a day from its hours) are 24 hours.
SET TimeZone = 'UTC'
AS $$
DECLARE
  zones constant boolean := EXISTS (SELECT 1 FROM integration_monitor_day_zones);
  chg text;
  lo timestamptz;
  hi timestamptz;
  lvl record;
  keycols text;
  keys text;
  src text;
  q text;
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('integration_monitor.retention', true) = 'on' THEN
    RETURN NULL;
  END IF;
  chg := integration_rollup_changes(TG_OP);

  EXECUTE format('SELECT min(minute), max(minute) FROM %s c', chg) INTO lo, hi;
  IF lo IS NULL THEN
    RETURN NULL; -- nothing that rollups see has changed
  END IF;

  -- Stats levels in write order, finest first: each one's min/max comes from the raw rows or from
  -- a level before it that is already up to date (integration_rollup_level_minmax).
  FOR lvl IN SELECT * FROM integration_rollup_levels() l WHERE l.kind = 'stats' AND (zones OR NOT l.zoned) ORDER BY l.write_order LOOP
    keycols := integration_rollup_level_keycols(lvl.zoned);
    keys := integration_rollup_level_keys(lvl.unit, lvl.zoned);
    src := integration_rollup_level_src(chg, lvl.unit, lvl.zoned);
    EXECUTE integration_lock_rollup_groups(lvl.tbl, keycols, keys, src);
    EXECUTE integration_apply_rollup_change(lvl.tbl, keycols, keys, src, integration_rollup_level_minmax(lvl.unit, lvl.zoned));
  END LOOP;

  -- one statement per table, in write order (a data-modifying CTE's order is unspecified)
  FOREACH q IN ARRAY integration_hist_statements(false, 'minute', format('%s c', chg), lo, hi) LOOP
    EXECUTE q;
  END LOOP;

  IF TG_OP = 'UPDATE' THEN
    EXECUTE format('INSERT INTO integration_service_actions (service_name, action)
                    SELECT DISTINCT service_name, action FROM %s c WHERE sign > 0 ORDER BY 1, 2 ON CONFLICT DO NOTHING', chg);
  END IF;
  RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION integration_rollup_on_insert(), integration_rollup_on_change() FROM PUBLIC, anon, authenticated, service_role;

-- Per-service histograms and counts on UPDATE and DELETE (their INSERT is integration_rollup_on_insert's):
-- their own statement triggers (same transition-table pattern; counts are purely additive, so a
-- signed delta is applied, and bins, keys and buckets left at 0 are dropped; retention deletes are
-- skipped as in integration_rollup_on_change).
CREATE OR REPLACE FUNCTION integration_service_hist_on_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
SET jit = off
AS $$
DECLARE
  chg text;
  lo timestamptz;
  hi timestamptz;
  q text;
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('integration_monitor.retention', true) = 'on' THEN
    RETURN NULL;
  END IF;
  chg := integration_signed_changes(TG_OP, 'created_at, service_name, duration_ms');
  EXECUTE format('SELECT min(created_at), max(created_at) FROM (%s) c', chg) INTO lo, hi;
  IF lo IS NULL THEN
    RETURN NULL;
  END IF;
  FOREACH q IN ARRAY integration_hist_statements(true, 'created_at', format('(%s) c', chg), lo, hi) LOOP
    EXECUTE q;
  END LOOP;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION integration_service_hist_on_write() FROM PUBLIC, anon, authenticated, service_role;

CREATE OR REPLACE FUNCTION integration_service_rollup_on_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
SET jit = off
AS $$
DECLARE
  chg text;
  lo timestamptz;
  hi timestamptz;
  q text;
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('integration_monitor.retention', true) = 'on' THEN
    RETURN NULL;
  END IF;
  chg := integration_signed_changes(TG_OP, 'created_at, service_name, status');
  EXECUTE format('SELECT min(created_at), max(created_at) FROM (%s) c', chg) INTO lo, hi;
  IF lo IS NULL THEN
    RETURN NULL;
  END IF;
  FOREACH q IN ARRAY integration_service_rollup_statements(format('(%s) c', chg), lo, hi) LOOP
    EXECUTE q;
  END LOOP;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION integration_service_rollup_on_write() FROM PUBLIC, anon, authenticated, service_role;
