-- 004 rollups: exact per-minute/hour/day aggregates and latency histograms of integration_logs,
-- and the range functions every stats read goes through.
--
-- Tables integration_rollup_{minute,hour,day} hold, per (bucket, service_name, action, status):
-- calls, duration_n (calls with a duration), duration_sum, duration_min, duration_max, retry_sum,
-- retried (calls with retry_count > 0). integration_latency_hist_{minute,hour,day} hold the count of
-- calls per log-scale latency bin (growth 1.05; see integration_latency_bin below).
-- integration_latency_hist_service_{hour,day} hold the same bins per (bucket, service_name) only, and
-- integration_rollup_service_{hour,day} calls and failed calls per (bucket, service_name).
--
-- Mechanism: statement-level AFTER triggers with transition tables on the partitioned parent (PG13+),
-- so every writer (the recorder, COPY, plain SQL from another service) keeps them exact, in the same
-- transaction, with no refresh lag:
--   INSERT: the transition table is aggregated once and all six tables are upserted in one
--           statement (data-modifying CTEs), keys in sorted order so concurrent writers take row
--           locks in the same order (no deadlocks).
--   UPDATE: only rows whose bucket/service/action/status/duration/retry changed count (new EXCEPT ALL
--           old, old EXCEPT ALL new); additive columns get the signed delta, min/max of the touched
--           groups (which cannot be decremented) are recomputed: minute from raw rows, hour from
--           minutes, day from hours. Groups whose count drops to 0 are deleted.
--   DELETE: as UPDATE with only removed rows. Skipped when the transaction-local setting
--           integration_monitor.retention is 'on' (cleanup_old_integration_logs sets it): retention
--           removes raw detail, not history. Partition drops fire no trigger at all.
-- Measured (bench/results/, 1M rows over 120 days, PG 17 embedded, this 2-core VM shared with
-- other work, load average 8-10 during the run, so ±30 % noise):
--   live-like COPY, 20 batches × 10k rows with current timestamps:
--     seed design 26.6k rows/s; ours with rollup upkeep 21.0k rows/s; ours with triggers off
--     (session_replication_role = replica) 19.2k rows/s — upkeep is within the noise when many rows
--     share a (minute, group) key, because each statement then upserts a few hundred keys.
--   bulk backfill at low density (1M rows spread over 120 days = ~6 rows/minute, so nearly every
--     row is its own minute key and histogram key): seed 18.7k rows/s, ours 6.7k rows/s. The
--     upsert count, not the row count, is the cost; it falls as traffic grows.
--   the alternative, a refresh job with a watermark: aggregating the same 200k live rows from raw
--     into the minute level alone took ~400 ms (~2 µs/row) — the same work moved out of the
--     insert path, at the price of stale rollups (or raw reads for the unrefreshed tail), plus a
--     re-aggregation window for late rows/updates/deletes that can never be proven sufficient.
--   Chosen: triggers — exact at commit time, no job to schedule, no window to tune.
-- Contention note: a writer holds row locks on the rollup keys it touched until it commits, so
-- concurrent writers of the same service/action/minute serialise at commit granularity. Batch
-- writers (the recorder's COPY) are unaffected; many long transactions each inserting one row of
-- the same key would queue.
--
-- Range reads: integration_range_agg / integration_hist_range / integration_hist_range_service split
-- [from, to) into the day-aligned interior (day rollups), hour- and minute-aligned edges
-- (hour/minute rollups) and the sub-minute remainders (raw rows), so results are exactly the raw
-- aggregation. The stats views and the API read aggregates only through these functions.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- ---- latency histogram bins ----------------------------------------------------------------------
-- Latency histogram bins: log scale with growth 1.05, so a bin's geometric middle is within 2.47 %
-- (sqrt(1.05)) of every value in it. 0 ms has bin 0; negative durations mirror positive ones.
CREATE FUNCTION integration_latency_bin(ms integer) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE
  WHEN ms = 0 THEN 0
  WHEN ms > 0 THEN 1 + floor(ln(ms::float8) / ln(1.05::float8))::integer
  ELSE -(1 + floor(ln(-ms::float8) / ln(1.05::float8))::integer)
END;

CREATE FUNCTION integration_latency_bin_value(bin integer) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE
  WHEN bin = 0 THEN 0::float8
  WHEN bin > 0 THEN exp((bin - 0.5) * ln(1.05::float8))
  ELSE -exp((-bin - 0.5) * ln(1.05::float8))
END;

/**
 * Percentile p (0..1) of a histogram given as bins sorted ascending with their counts, with
 * percentile_cont's definition: linear interpolation between the order statistics at positions
 * floor((N-1)p) and ceil((N-1)p); each is replaced by its bin's middle, so the result is within
 * 2.5 % of percentile_cont over the raw values.
 */
CREATE FUNCTION integration_hist_percentile(bins integer[], ns bigint[], p float8) RETURNS float8
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
  total bigint := 0;
  pos float8;
  lo_rank bigint;
  frac float8;
  cum bigint := 0;
  lo_val float8;
  hi_val float8;
BEGIN
  IF bins IS NULL OR p IS NULL THEN RETURN NULL; END IF;
  FOR i IN 1..coalesce(array_length(ns, 1), 0) LOOP total := total + ns[i]; END LOOP;
  IF total <= 0 THEN RETURN NULL; END IF;
  pos := (total - 1) * p;
  lo_rank := floor(pos)::bigint;
  frac := pos - lo_rank;
  FOR i IN 1..array_length(bins, 1) LOOP
    cum := cum + ns[i];
    IF lo_val IS NULL AND cum > lo_rank THEN
      lo_val := integration_latency_bin_value(bins[i]);
    END IF;
    IF cum > lo_rank + 1 OR (cum > lo_rank AND frac = 0) THEN
      hi_val := integration_latency_bin_value(bins[i]);
      EXIT;
    END IF;
  END LOOP;
  RETURN lo_val + frac * (coalesce(hi_val, lo_val) - lo_val);
END
$$;

-- ---- tables -------------------------------------------------------------------------------------
CREATE TABLE integration_rollup_minute (
  bucket timestamptz NOT NULL,
  service_name text NOT NULL,
  action text NOT NULL,
  status text NOT NULL,
  calls bigint NOT NULL,
  duration_n bigint NOT NULL,
  duration_sum bigint NOT NULL,
  duration_min integer,
  duration_max integer,
  retry_sum bigint NOT NULL,
  retried bigint NOT NULL,
  PRIMARY KEY (bucket, service_name, action, status)
);
CREATE TABLE integration_rollup_hour (LIKE integration_rollup_minute INCLUDING ALL);
CREATE TABLE integration_rollup_day (LIKE integration_rollup_minute INCLUDING ALL);

CREATE TABLE integration_latency_hist_minute (
  bucket timestamptz NOT NULL,
  service_name text NOT NULL,
  action text NOT NULL,
  status text NOT NULL,
  bin integer NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (bucket, service_name, action, status, bin)
);
CREATE TABLE integration_latency_hist_hour (LIKE integration_latency_hist_minute INCLUDING ALL);
CREATE TABLE integration_latency_hist_day (LIKE integration_latency_hist_minute INCLUDING ALL);

-- Every (service, action) ever written: services list and health's "known services".
CREATE TABLE integration_service_actions (
  service_name text NOT NULL,
  action text NOT NULL,
  first_seen timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (service_name, action)
);

-- Read-only for authenticated/service_role, behind RLS like the raw table; anon nothing. Only the
-- SECURITY DEFINER triggers (table owner) write.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['integration_rollup_minute', 'integration_rollup_hour', 'integration_rollup_day',
                           'integration_latency_hist_minute', 'integration_latency_hist_hour', 'integration_latency_hist_day',
                           'integration_service_actions'] LOOP
    EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, anon, authenticated, service_role', t);
    EXECUTE format('GRANT SELECT ON %I TO authenticated, service_role', t);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO authenticated, service_role USING (true)', t || '_read', t);
  END LOOP;
END
$$;

-- Per-service latency histograms (hour and day), for percentiles that do not split by action or
-- status. Measured at 10M rows (bench/results/2026-11-27-10M.md): p50/p95/p99 per service over 30
-- days took 165 ms p95 and a 30-day daily p95 series per service 285 ms when read from the
-- histograms keyed by (bucket, service, action, status, bin): ~150 occupied bins per group-day,
-- ~10^5 rows to merge for 30 days. Dashboards mostly ask per service; keyed by (bucket, service,
-- bin) the same 30 days are ~8x fewer rows. integration_hist_range_service reads them for the
-- aligned interior (minute histograms and raw rows still serve the edges), and the API uses it
-- whenever a percentile query neither filters nor groups by action or status.
CREATE TABLE integration_latency_hist_service_hour (
  bucket timestamptz NOT NULL,
  service_name text NOT NULL,
  bin integer NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (bucket, service_name, bin)
);
CREATE TABLE integration_latency_hist_service_day (LIKE integration_latency_hist_service_hour INCLUDING ALL);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['integration_latency_hist_service_hour', 'integration_latency_hist_service_day'] LOOP
    EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, anon, authenticated, service_role', t);
    EXECUTE format('GRANT SELECT ON %I TO authenticated, service_role', t);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO authenticated, service_role USING (true)', t || '_read', t);
  END LOOP;
END
$$;

-- Per-service call and failure counts (hour and day), for volume and failure-rate series that do
-- not split by action or status. Measured at 10M rows: a 7-day hourly failure-rate series took 25 ms
-- p95, and not as fixed overhead: it read and aggregated every (hour, service, action, status)
-- rollup row (twice: inside integration_range_agg, then per series). Keyed by (bucket, service) the
-- same range is actions × statuses fewer rows. integration_range_agg_service reads them for the
-- aligned interior (minute rollups and raw rows serve the edges).
CREATE TABLE integration_rollup_service_hour (
  bucket timestamptz NOT NULL,
  service_name text NOT NULL,
  calls bigint NOT NULL,
  failed bigint NOT NULL,
  PRIMARY KEY (bucket, service_name)
);
CREATE TABLE integration_rollup_service_day (LIKE integration_rollup_service_hour INCLUDING ALL);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['integration_rollup_service_hour', 'integration_rollup_service_day'] LOOP
    EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, anon, authenticated, service_role', t);
    EXECUTE format('GRANT SELECT ON %I TO authenticated, service_role', t);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO authenticated, service_role USING (true)', t || '_read', t);
  END LOOP;
END
$$;

-- ---- trigger functions ----------------------------------------------------------------------------
/**
 * The statement's change set as SQL text over the transition tables: every row with sign +1
 * (inserted, or an UPDATE's new version) or -1 (deleted, or an UPDATE's old version). For UPDATE
 * only rows whose `cols` actually changed count (new EXCEPT ALL old, old EXCEPT ALL new), so a
 * touch of other columns costs nothing. One definition for every trigger that keeps a rollup.
 */
CREATE FUNCTION integration_signed_changes(op text, cols text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE op
  WHEN 'INSERT' THEN format('SELECT %s, 1 AS sign FROM new_rows', cols)
  WHEN 'DELETE' THEN format('SELECT %s, -1 AS sign FROM old_rows', cols)
  ELSE format('(SELECT %1$s, 1 AS sign FROM (SELECT %1$s FROM new_rows EXCEPT ALL SELECT %1$s FROM old_rows) a)
               UNION ALL
               (SELECT %1$s, -1 AS sign FROM (SELECT %1$s FROM old_rows EXCEPT ALL SELECT %1$s FROM new_rows) r)', cols)
END;
REVOKE ALL ON FUNCTION integration_signed_changes(text, text) FROM PUBLIC, anon, authenticated, service_role;

CREATE FUNCTION integration_rollup_on_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
AS $$
BEGIN
  WITH m AS (
    SELECT date_bin('1 minute'::interval, created_at, '1970-01-01 00:00:00+00'::timestamptz) AS bucket,
           service_name, action, status,
           count(*) AS calls, count(duration_ms) AS duration_n, coalesce(sum(duration_ms), 0)::bigint AS duration_sum,
           min(duration_ms) AS duration_min, max(duration_ms) AS duration_max,
           coalesce(sum(retry_count), 0)::bigint AS retry_sum, count(*) FILTER (WHERE retry_count > 0) AS retried
    FROM new_rows GROUP BY 1, 2, 3, 4
  ), hm AS (
    SELECT date_bin('1 minute'::interval, created_at, '1970-01-01 00:00:00+00'::timestamptz) AS bucket,
           service_name, action, status, integration_latency_bin(duration_ms) AS bin, count(*) AS n
    FROM new_rows WHERE duration_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5
  ), up_m AS (
    INSERT INTO integration_rollup_minute AS t
    SELECT * FROM m ORDER BY 1, 2, 3, 4
    ON CONFLICT (bucket, service_name, action, status) DO UPDATE SET
      calls = t.calls + excluded.calls, duration_n = t.duration_n + excluded.duration_n,
      duration_sum = t.duration_sum + excluded.duration_sum,
      duration_min = least(t.duration_min, excluded.duration_min), duration_max = greatest(t.duration_max, excluded.duration_max),
      retry_sum = t.retry_sum + excluded.retry_sum, retried = t.retried + excluded.retried
  ), up_h AS (
    INSERT INTO integration_rollup_hour AS t
    SELECT date_bin('1 hour'::interval, bucket, '1970-01-01 00:00:00+00'::timestamptz), service_name, action, status,
           sum(calls), sum(duration_n), sum(duration_sum), min(duration_min), max(duration_max), sum(retry_sum), sum(retried)
    FROM m GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (bucket, service_name, action, status) DO UPDATE SET
      calls = t.calls + excluded.calls, duration_n = t.duration_n + excluded.duration_n,
      duration_sum = t.duration_sum + excluded.duration_sum,
      duration_min = least(t.duration_min, excluded.duration_min), duration_max = greatest(t.duration_max, excluded.duration_max),
      retry_sum = t.retry_sum + excluded.retry_sum, retried = t.retried + excluded.retried
  ), up_d AS (
    INSERT INTO integration_rollup_day AS t
    SELECT date_bin('1 day'::interval, bucket, '1970-01-01 00:00:00+00'::timestamptz), service_name, action, status,
           sum(calls), sum(duration_n), sum(duration_sum), min(duration_min), max(duration_max), sum(retry_sum), sum(retried)
    FROM m GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (bucket, service_name, action, status) DO UPDATE SET
      calls = t.calls + excluded.calls, duration_n = t.duration_n + excluded.duration_n,
      duration_sum = t.duration_sum + excluded.duration_sum,
      duration_min = least(t.duration_min, excluded.duration_min), duration_max = greatest(t.duration_max, excluded.duration_max),
      retry_sum = t.retry_sum + excluded.retry_sum, retried = t.retried + excluded.retried
  ), up_hm AS (
    INSERT INTO integration_latency_hist_minute AS t
    SELECT * FROM hm ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (bucket, service_name, action, status, bin) DO UPDATE SET n = t.n + excluded.n
  ), up_hh AS (
    INSERT INTO integration_latency_hist_hour AS t
    SELECT date_bin('1 hour'::interval, bucket, '1970-01-01 00:00:00+00'::timestamptz), service_name, action, status, bin, sum(n)
    FROM hm GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (bucket, service_name, action, status, bin) DO UPDATE SET n = t.n + excluded.n
  ), up_hd AS (
    INSERT INTO integration_latency_hist_day AS t
    SELECT date_bin('1 day'::interval, bucket, '1970-01-01 00:00:00+00'::timestamptz), service_name, action, status, bin, sum(n)
    FROM hm GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (bucket, service_name, action, status, bin) DO UPDATE SET n = t.n + excluded.n
  )
  INSERT INTO integration_service_actions (service_name, action)
  SELECT DISTINCT service_name, action FROM m ORDER BY 1, 2
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;

/**
 * UPDATE and DELETE: applies the signed change (rows added +1, rows removed -1) to every level.
 * Transition tables are visible to EXECUTE, which lets one body serve both operations.
 */
CREATE FUNCTION integration_rollup_on_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
AS $$
DECLARE
  cols constant text := 'created_at, service_name, action, status, duration_ms, retry_count';
  chg text;
  lo timestamptz;
  hi timestamptz;
  lvl record;
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('integration_monitor.retention', true) = 'on' THEN
    RETURN NULL;
  END IF;
  chg := integration_signed_changes(TG_OP, cols);
  chg := format('(SELECT date_bin(''1 minute''::interval, created_at, ''1970-01-01 00:00:00+00''::timestamptz) AS minute,
                         service_name, action, status, duration_ms, retry_count, sign FROM (%s) c0)', chg);

  EXECUTE format('SELECT min(minute), max(minute) FROM %s c', chg) INTO lo, hi;
  IF lo IS NULL THEN
    RETURN NULL; -- nothing that rollups see has changed
  END IF;

  -- Stats, finest level first: each coarser level recomputes min/max from the level below it,
  -- which the previous statement has already brought up to date.
  FOR lvl IN
    SELECT * FROM (VALUES
      (1, 'integration_rollup_minute', '1 minute', NULL::text),
      (2, 'integration_rollup_hour', '1 hour', 'integration_rollup_minute'),
      (3, 'integration_rollup_day', '1 day', 'integration_rollup_hour')) v(ord, tbl, width, below)
    ORDER BY ord
  LOOP
    EXECUTE format($q$
      WITH d AS (
        SELECT date_bin(%2$L::interval, minute, '1970-01-01 00:00:00+00'::timestamptz) AS bucket, service_name, action, status,
               sum(sign)::bigint AS calls,
               coalesce(sum(sign) FILTER (WHERE duration_ms IS NOT NULL), 0)::bigint AS duration_n,
               coalesce(sum(sign * duration_ms::bigint), 0)::bigint AS duration_sum,
               coalesce(sum(sign * retry_count::bigint), 0)::bigint AS retry_sum,
               coalesce(sum(sign) FILTER (WHERE retry_count > 0), 0)::bigint AS retried
        FROM %3$s c GROUP BY 1, 2, 3, 4
      )
      INSERT INTO %1$I AS t (bucket, service_name, action, status, calls, duration_n, duration_sum, duration_min, duration_max, retry_sum, retried)
      SELECT d.bucket, d.service_name, d.action, d.status, d.calls, d.duration_n, d.duration_sum, x.mn, x.mx, d.retry_sum, d.retried
      FROM d CROSS JOIN LATERAL (%4$s) x
      ORDER BY 1, 2, 3, 4
      ON CONFLICT (bucket, service_name, action, status) DO UPDATE SET
        calls = t.calls + excluded.calls, duration_n = t.duration_n + excluded.duration_n,
        duration_sum = t.duration_sum + excluded.duration_sum,
        duration_min = excluded.duration_min, duration_max = excluded.duration_max,
        retry_sum = t.retry_sum + excluded.retry_sum, retried = t.retried + excluded.retried
      $q$, lvl.tbl, lvl.width, chg,
      CASE WHEN lvl.below IS NULL THEN
        format($s$SELECT min(l.duration_ms) AS mn, max(l.duration_ms) AS mx FROM integration_logs l
                  WHERE l.created_at >= d.bucket AND l.created_at < d.bucket + %L::interval
                    AND l.service_name = d.service_name AND l.action = d.action AND l.status = d.status$s$, lvl.width)
      ELSE
        format($s$SELECT min(b.duration_min) AS mn, max(b.duration_max) AS mx FROM %I b
                  WHERE b.bucket >= d.bucket AND b.bucket < d.bucket + %L::interval
                    AND b.service_name = d.service_name AND b.action = d.action AND b.status = d.status$s$, lvl.below, lvl.width)
      END);
    EXECUTE format('DELETE FROM %I WHERE calls = 0 AND bucket >= date_bin(%L::interval, $1, ''1970-01-01 00:00:00+00''::timestamptz) AND bucket <= $2',
                   lvl.tbl, lvl.width) USING lo, hi;
  END LOOP;

  EXECUTE format($q$
    WITH hm AS (
      SELECT minute AS bucket, service_name, action, status, integration_latency_bin(duration_ms) AS bin, sum(sign)::bigint AS n
      FROM %1$s c WHERE duration_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5
      HAVING sum(sign) <> 0
    ), up_hm AS (
      INSERT INTO integration_latency_hist_minute AS t
      SELECT * FROM hm ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT (bucket, service_name, action, status, bin) DO UPDATE SET n = t.n + excluded.n
    ), up_hh AS (
      INSERT INTO integration_latency_hist_hour AS t
      SELECT date_bin('1 hour'::interval, bucket, '1970-01-01 00:00:00+00'::timestamptz), service_name, action, status, bin, sum(n)
      FROM hm GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT (bucket, service_name, action, status, bin) DO UPDATE SET n = t.n + excluded.n
    )
    INSERT INTO integration_latency_hist_day AS t
    SELECT date_bin('1 day'::interval, bucket, '1970-01-01 00:00:00+00'::timestamptz), service_name, action, status, bin, sum(n)
    FROM hm GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (bucket, service_name, action, status, bin) DO UPDATE SET n = t.n + excluded.n
    $q$, chg);
  DELETE FROM integration_latency_hist_minute WHERE n = 0 AND bucket >= lo AND bucket <= hi;
  DELETE FROM integration_latency_hist_hour WHERE n = 0
    AND bucket >= date_bin('1 hour'::interval, lo, '1970-01-01 00:00:00+00'::timestamptz) AND bucket <= hi;
  DELETE FROM integration_latency_hist_day WHERE n = 0
    AND bucket >= date_bin('1 day'::interval, lo, '1970-01-01 00:00:00+00'::timestamptz) AND bucket <= hi;

  IF TG_OP = 'UPDATE' THEN
    EXECUTE format('INSERT INTO integration_service_actions (service_name, action)
                    SELECT DISTINCT service_name, action FROM %s c WHERE sign > 0 ORDER BY 1, 2 ON CONFLICT DO NOTHING', chg);
  END IF;
  RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION integration_rollup_on_insert(), integration_rollup_on_change() FROM PUBLIC, anon, authenticated, service_role;

CREATE TRIGGER integration_logs_rollup_insert AFTER INSERT ON integration_logs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION integration_rollup_on_insert();
CREATE TRIGGER integration_logs_rollup_update AFTER UPDATE ON integration_logs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION integration_rollup_on_change();
CREATE TRIGGER integration_logs_rollup_delete AFTER DELETE ON integration_logs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION integration_rollup_on_change();

-- Per-service histograms: kept exact by their own statement triggers (same transition-table
-- pattern; histogram counts are purely additive, so UPDATE/DELETE apply a signed delta and drop
-- bins that reach 0; retention deletes are skipped as above).
CREATE FUNCTION integration_service_hist_on_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
AS $$
DECLARE
  cols constant text := 'created_at, service_name, duration_ms';
  chg text;
  lo timestamptz;
  hi timestamptz;
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('integration_monitor.retention', true) = 'on' THEN
    RETURN NULL;
  END IF;
  chg := integration_signed_changes(TG_OP, cols);
  EXECUTE format($q$
    WITH h AS (
      SELECT date_bin('1 hour'::interval, created_at, '1970-01-01 00:00:00+00'::timestamptz) AS bucket, service_name,
             integration_latency_bin(duration_ms) AS bin, sum(sign)::bigint AS n
      FROM (%s) c WHERE duration_ms IS NOT NULL GROUP BY 1, 2, 3 HAVING sum(sign) <> 0
    ), up_h AS (
      INSERT INTO integration_latency_hist_service_hour AS t
      SELECT * FROM h ORDER BY 1, 2, 3
      ON CONFLICT (bucket, service_name, bin) DO UPDATE SET n = t.n + excluded.n
    )
    INSERT INTO integration_latency_hist_service_day AS t
    SELECT date_bin('1 day'::interval, bucket, '1970-01-01 00:00:00+00'::timestamptz), service_name, bin, sum(n)
    FROM h GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (bucket, service_name, bin) DO UPDATE SET n = t.n + excluded.n
    $q$, chg);
  IF TG_OP <> 'INSERT' THEN
    -- Bins that reached 0, looked for only within the buckets this statement touched.
    EXECUTE format('SELECT min(created_at), max(created_at) FROM (%s) c', chg) INTO lo, hi;
    DELETE FROM integration_latency_hist_service_hour
     WHERE n = 0 AND bucket >= date_bin('1 hour'::interval, lo, '1970-01-01 00:00:00+00'::timestamptz) AND bucket <= hi;
    DELETE FROM integration_latency_hist_service_day
     WHERE n = 0 AND bucket >= date_bin('1 day'::interval, lo, '1970-01-01 00:00:00+00'::timestamptz) AND bucket <= hi;
  END IF;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION integration_service_hist_on_write() FROM PUBLIC, anon, authenticated, service_role;

CREATE TRIGGER integration_logs_service_hist_insert AFTER INSERT ON integration_logs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION integration_service_hist_on_write();
CREATE TRIGGER integration_logs_service_hist_update AFTER UPDATE ON integration_logs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION integration_service_hist_on_write();
CREATE TRIGGER integration_logs_service_hist_delete AFTER DELETE ON integration_logs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION integration_service_hist_on_write();

-- Per-service counts: same pattern; calls and failed are additive, so UPDATE/DELETE apply a signed
-- delta (a status change alone moves only `failed`) and drop buckets whose calls reach 0.
CREATE FUNCTION integration_service_rollup_on_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
AS $$
DECLARE
  cols constant text := 'created_at, service_name, status';
  chg text;
  lo timestamptz;
  hi timestamptz;
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('integration_monitor.retention', true) = 'on' THEN
    RETURN NULL;
  END IF;
  chg := integration_signed_changes(TG_OP, cols);
  EXECUTE format($q$
    WITH h AS (
      SELECT date_bin('1 hour'::interval, created_at, '1970-01-01 00:00:00+00'::timestamptz) AS bucket, service_name,
             sum(sign)::bigint AS calls, coalesce(sum(sign) FILTER (WHERE status = 'failed'), 0)::bigint AS failed
      FROM (%s) c GROUP BY 1, 2
      HAVING sum(sign) <> 0 OR coalesce(sum(sign) FILTER (WHERE status = 'failed'), 0) <> 0
    ), up_h AS (
      INSERT INTO integration_rollup_service_hour AS t
      SELECT * FROM h ORDER BY 1, 2
      ON CONFLICT (bucket, service_name) DO UPDATE SET calls = t.calls + excluded.calls, failed = t.failed + excluded.failed
    )
    INSERT INTO integration_rollup_service_day AS t
    SELECT date_bin('1 day'::interval, bucket, '1970-01-01 00:00:00+00'::timestamptz), service_name, sum(calls), sum(failed)
    FROM h GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (bucket, service_name) DO UPDATE SET calls = t.calls + excluded.calls, failed = t.failed + excluded.failed
    $q$, chg);
  IF TG_OP <> 'INSERT' THEN
    EXECUTE format('SELECT min(created_at), max(created_at) FROM (%s) c', chg) INTO lo, hi;
    DELETE FROM integration_rollup_service_hour
     WHERE calls = 0 AND bucket >= date_bin('1 hour'::interval, lo, '1970-01-01 00:00:00+00'::timestamptz) AND bucket <= hi;
    DELETE FROM integration_rollup_service_day
     WHERE calls = 0 AND bucket >= date_bin('1 day'::interval, lo, '1970-01-01 00:00:00+00'::timestamptz) AND bucket <= hi;
  END IF;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION integration_service_rollup_on_write() FROM PUBLIC, anon, authenticated, service_role;

CREATE TRIGGER integration_logs_service_rollup_insert AFTER INSERT ON integration_logs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION integration_service_rollup_on_write();
CREATE TRIGGER integration_logs_service_rollup_update AFTER UPDATE ON integration_logs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION integration_service_rollup_on_write();
CREATE TRIGGER integration_logs_service_rollup_delete AFTER DELETE ON integration_logs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION integration_service_rollup_on_write();

-- ---- range reads ---------------------------------------------------------------------------------
/**
 * How [p_from, p_to) splits across levels for buckets of p_width (NULL: one bucket):
 * day rollups cover [d_lo, d_hi), hour rollups [h_lo, d_lo) and [d_hi, h_hi), minute rollups
 * [m_lo, h_lo) and [h_hi, m_hi), raw rows [p_from, m_lo) and [m_hi, p_to). A level is used only
 * when p_width is a whole multiple of it (so each rollup bucket falls in one output bucket).
 * Empty pieces collapse onto a neighbouring bound so the nesting always holds.
 *
 * A plain SQL function, not plpgsql: a plpgsql version cost a function call per query (20 ms on a
 * cold session for compiling it, measurable on warm ones) and, being opaque to the planner, kept it
 * from seeing the bounds. STABLE (timestamptz ± interval is stable, and an IMMUTABLE function with
 * a stable body is not inlined), so it is inlined into its callers.
 */
CREATE FUNCTION integration_range_bounds(p_from timestamptz, p_to timestamptz, p_width interval)
RETURNS TABLE (m_lo timestamptz, m_hi timestamptz, h_lo timestamptz, h_hi timestamptz, d_lo timestamptz, d_hi timestamptz)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT m.lo, m.hi, h.lo, h.hi, d.lo, d.hi
  FROM (
    SELECT
      -- ceil/floor of the range ends to each level; infinite ends stay infinite
      CASE WHEN isfinite(p_from) THEN date_bin('1 minute'::interval, p_from - interval '1 microsecond', '1970-01-01 00:00:00+00'::timestamptz) + interval '1 minute' ELSE p_from END AS c_m,
      CASE WHEN isfinite(p_to) THEN date_bin('1 minute'::interval, p_to, '1970-01-01 00:00:00+00'::timestamptz) ELSE p_to END AS f_m,
      CASE WHEN isfinite(p_from) THEN date_bin('1 hour'::interval, p_from - interval '1 microsecond', '1970-01-01 00:00:00+00'::timestamptz) + interval '1 hour' ELSE p_from END AS c_h,
      CASE WHEN isfinite(p_to) THEN date_bin('1 hour'::interval, p_to, '1970-01-01 00:00:00+00'::timestamptz) ELSE p_to END AS f_h,
      CASE WHEN isfinite(p_from) THEN date_bin('1 day'::interval, p_from - interval '1 microsecond', '1970-01-01 00:00:00+00'::timestamptz) + interval '1 day' ELSE p_from END AS c_d,
      CASE WHEN isfinite(p_to) THEN date_bin('1 day'::interval, p_to, '1970-01-01 00:00:00+00'::timestamptz) ELSE p_to END AS f_d,
      p_from < p_to AND (p_width IS NULL OR (extract(epoch FROM p_width) > 0 AND extract(epoch FROM p_width) % 60 = 0)) AS use_m,
      p_from < p_to AND (p_width IS NULL OR (extract(epoch FROM p_width) > 0 AND extract(epoch FROM p_width) % 3600 = 0)) AS use_h,
      p_from < p_to AND (p_width IS NULL OR (extract(epoch FROM p_width) > 0 AND extract(epoch FROM p_width) % 86400 = 0)) AS use_d
  ) b
  CROSS JOIN LATERAL (SELECT CASE WHEN b.use_m AND b.c_m < b.f_m THEN b.c_m ELSE p_to END AS lo,
                             CASE WHEN b.use_m AND b.c_m < b.f_m THEN b.f_m ELSE p_to END AS hi) m
  CROSS JOIN LATERAL (SELECT CASE WHEN b.use_h AND b.c_h < b.f_h THEN b.c_h ELSE m.hi END AS lo,
                             CASE WHEN b.use_h AND b.c_h < b.f_h THEN b.f_h ELSE m.hi END AS hi) h
  CROSS JOIN LATERAL (SELECT CASE WHEN b.use_d AND b.c_d < b.f_d THEN b.c_d ELSE h.hi END AS lo,
                             CASE WHEN b.use_d AND b.c_d < b.f_d THEN b.f_d ELSE h.hi END AS hi) d;
END;

-- integration_range_agg / integration_hist_range(_service) are plpgsql so that their statements
-- are planned once per session and then run from a cached generic plan (plan_cache_mode =
-- force_generic_plan), whose raw-row partitions are pruned at executor startup from the bound
-- values. Measured (1M rows, 31 partitions, PG 17): as inlined SQL, integration_stats_hourly
-- planned in 64 ms and ran in 9 ms — planning the two raw-row branches means planning every
-- partition with all its indexes (and proving partial-index predicates against the bound
-- expressions) on every call. Parallel workers are off for them (starting workers cost ~75 ms, more
-- than the whole query). Filters on the result (service, action, status) are not pushed into the
-- rollup scans, which read at most a few thousand rollup rows anyway.

/** Exact per-bucket aggregates of integration_logs over [p_from, p_to); p_width NULL: one bucket labelled p_from. */
CREATE FUNCTION integration_range_agg(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, service_name text, action text, status text, calls bigint, duration_n bigint,
               duration_sum bigint, duration_min integer, duration_max integer, retry_sum bigint, retried bigint)
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  k record;
BEGIN
  SELECT * INTO k FROM integration_range_bounds(p_from, p_to, p_width);
  RETURN QUERY
  SELECT CASE WHEN p_width IS NULL THEN p_from ELSE date_bin(p_width, x.b, '1970-01-01 00:00:00+00'::timestamptz) END,
         x.service_name, x.action, x.status,
         sum(x.calls)::bigint, sum(x.duration_n)::bigint, sum(x.duration_sum)::bigint, min(x.duration_min), max(x.duration_max),
         sum(x.retry_sum)::bigint, sum(x.retried)::bigint
  FROM (
    SELECT r.bucket AS b, r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum, r.duration_min, r.duration_max, r.retry_sum, r.retried
    FROM integration_rollup_day r WHERE r.bucket >= k.d_lo AND r.bucket < k.d_hi
    UNION ALL
    SELECT r.bucket, r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum, r.duration_min, r.duration_max, r.retry_sum, r.retried
    FROM integration_rollup_hour r WHERE r.bucket >= k.h_lo AND r.bucket < k.d_lo
    UNION ALL
    SELECT r.bucket, r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum, r.duration_min, r.duration_max, r.retry_sum, r.retried
    FROM integration_rollup_hour r WHERE r.bucket >= k.d_hi AND r.bucket < k.h_hi
    UNION ALL
    SELECT r.bucket, r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum, r.duration_min, r.duration_max, r.retry_sum, r.retried
    FROM integration_rollup_minute r WHERE r.bucket >= k.m_lo AND r.bucket < k.h_lo
    UNION ALL
    SELECT r.bucket, r.service_name, r.action, r.status, r.calls, r.duration_n, r.duration_sum, r.duration_min, r.duration_max, r.retry_sum, r.retried
    FROM integration_rollup_minute r WHERE r.bucket >= k.h_hi AND r.bucket < k.m_hi
    UNION ALL
    SELECT l.created_at, l.service_name, l.action, l.status, 1::bigint, (l.duration_ms IS NOT NULL)::integer::bigint,
           coalesce(l.duration_ms, 0)::bigint, l.duration_ms, l.duration_ms, coalesce(l.retry_count, 0)::bigint,
           (coalesce(l.retry_count, 0) > 0)::integer::bigint
    FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < k.m_lo
    UNION ALL
    SELECT l.created_at, l.service_name, l.action, l.status, 1::bigint, (l.duration_ms IS NOT NULL)::integer::bigint,
           coalesce(l.duration_ms, 0)::bigint, l.duration_ms, l.duration_ms, coalesce(l.retry_count, 0)::bigint,
           (coalesce(l.retry_count, 0) > 0)::integer::bigint
    FROM integration_logs l WHERE l.created_at >= k.m_hi AND l.created_at < p_to
  ) x
  GROUP BY 1, 2, 3, 4;
END
$$;

/** Exact per-bucket latency histograms (bins as integration_latency_bin) over [p_from, p_to). */
CREATE FUNCTION integration_hist_range(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, service_name text, action text, status text, bin integer, n bigint)
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  k record;
BEGIN
  SELECT * INTO k FROM integration_range_bounds(p_from, p_to, p_width);
  RETURN QUERY
  SELECT CASE WHEN p_width IS NULL THEN p_from ELSE date_bin(p_width, x.b, '1970-01-01 00:00:00+00'::timestamptz) END,
         x.service_name, x.action, x.status, x.bin, sum(x.n)::bigint
  FROM (
    SELECT r.bucket AS b, r.service_name, r.action, r.status, r.bin, r.n
    FROM integration_latency_hist_day r WHERE r.bucket >= k.d_lo AND r.bucket < k.d_hi
    UNION ALL
    SELECT r.bucket, r.service_name, r.action, r.status, r.bin, r.n
    FROM integration_latency_hist_hour r WHERE r.bucket >= k.h_lo AND r.bucket < k.d_lo
    UNION ALL
    SELECT r.bucket, r.service_name, r.action, r.status, r.bin, r.n
    FROM integration_latency_hist_hour r WHERE r.bucket >= k.d_hi AND r.bucket < k.h_hi
    UNION ALL
    SELECT r.bucket, r.service_name, r.action, r.status, r.bin, r.n
    FROM integration_latency_hist_minute r WHERE r.bucket >= k.m_lo AND r.bucket < k.h_lo
    UNION ALL
    SELECT r.bucket, r.service_name, r.action, r.status, r.bin, r.n
    FROM integration_latency_hist_minute r WHERE r.bucket >= k.h_hi AND r.bucket < k.m_hi
    UNION ALL
    SELECT l.created_at, l.service_name, l.action, l.status, integration_latency_bin(l.duration_ms), 1::bigint
    FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < k.m_lo AND l.duration_ms IS NOT NULL
    UNION ALL
    SELECT l.created_at, l.service_name, l.action, l.status, integration_latency_bin(l.duration_ms), 1::bigint
    FROM integration_logs l WHERE l.created_at >= k.m_hi AND l.created_at < p_to AND l.duration_ms IS NOT NULL
  ) x
  GROUP BY 1, 2, 3, 4, 5;
END
$$;

/** integration_hist_range summed over action and status, reading the per-service levels. */
CREATE FUNCTION integration_hist_range_service(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, service_name text, bin integer, n bigint)
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  k record;
BEGIN
  SELECT * INTO k FROM integration_range_bounds(p_from, p_to, p_width);
  RETURN QUERY
  SELECT CASE WHEN p_width IS NULL THEN p_from ELSE date_bin(p_width, x.b, '1970-01-01 00:00:00+00'::timestamptz) END,
         x.service_name, x.bin, sum(x.n)::bigint
  FROM (
    SELECT r.bucket AS b, r.service_name, r.bin, r.n
    FROM integration_latency_hist_service_day r WHERE r.bucket >= k.d_lo AND r.bucket < k.d_hi
    UNION ALL
    SELECT r.bucket, r.service_name, r.bin, r.n
    FROM integration_latency_hist_service_hour r WHERE r.bucket >= k.h_lo AND r.bucket < k.d_lo
    UNION ALL
    SELECT r.bucket, r.service_name, r.bin, r.n
    FROM integration_latency_hist_service_hour r WHERE r.bucket >= k.d_hi AND r.bucket < k.h_hi
    UNION ALL
    SELECT r.bucket, r.service_name, r.bin, r.n
    FROM integration_latency_hist_minute r WHERE r.bucket >= k.m_lo AND r.bucket < k.h_lo
    UNION ALL
    SELECT r.bucket, r.service_name, r.bin, r.n
    FROM integration_latency_hist_minute r WHERE r.bucket >= k.h_hi AND r.bucket < k.m_hi
    UNION ALL
    SELECT l.created_at, l.service_name, integration_latency_bin(l.duration_ms), 1::bigint
    FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < k.m_lo AND l.duration_ms IS NOT NULL
    UNION ALL
    SELECT l.created_at, l.service_name, integration_latency_bin(l.duration_ms), 1::bigint
    FROM integration_logs l WHERE l.created_at >= k.m_hi AND l.created_at < p_to AND l.duration_ms IS NOT NULL
  ) x
  GROUP BY 1, 2, 3;
END
$$;
REVOKE ALL ON FUNCTION integration_hist_range_service(timestamptz, timestamptz, interval) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_hist_range_service(timestamptz, timestamptz, interval) TO authenticated, service_role;

/** integration_range_agg's calls per service, with how many failed, reading the per-service levels. */
CREATE FUNCTION integration_range_agg_service(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, service_name text, calls bigint, failed bigint)
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  k record;
BEGIN
  SELECT * INTO k FROM integration_range_bounds(p_from, p_to, p_width);
  RETURN QUERY
  SELECT CASE WHEN p_width IS NULL THEN p_from ELSE date_bin(p_width, x.b, '1970-01-01 00:00:00+00'::timestamptz) END,
         x.service_name, sum(x.calls)::bigint, sum(x.failed)::bigint
  FROM (
    SELECT r.bucket AS b, r.service_name, r.calls, r.failed
    FROM integration_rollup_service_day r WHERE r.bucket >= k.d_lo AND r.bucket < k.d_hi
    UNION ALL
    SELECT r.bucket, r.service_name, r.calls, r.failed
    FROM integration_rollup_service_hour r WHERE r.bucket >= k.h_lo AND r.bucket < k.d_lo
    UNION ALL
    SELECT r.bucket, r.service_name, r.calls, r.failed
    FROM integration_rollup_service_hour r WHERE r.bucket >= k.d_hi AND r.bucket < k.h_hi
    UNION ALL
    SELECT r.bucket, r.service_name, r.calls, CASE WHEN r.status = 'failed' THEN r.calls ELSE 0 END
    FROM integration_rollup_minute r WHERE r.bucket >= k.m_lo AND r.bucket < k.h_lo
    UNION ALL
    SELECT r.bucket, r.service_name, r.calls, CASE WHEN r.status = 'failed' THEN r.calls ELSE 0 END
    FROM integration_rollup_minute r WHERE r.bucket >= k.h_hi AND r.bucket < k.m_hi
    UNION ALL
    SELECT l.created_at, l.service_name, 1::bigint, (l.status = 'failed')::integer::bigint
    FROM integration_logs l WHERE l.created_at >= p_from AND l.created_at < k.m_lo
    UNION ALL
    SELECT l.created_at, l.service_name, 1::bigint, (l.status = 'failed')::integer::bigint
    FROM integration_logs l WHERE l.created_at >= k.m_hi AND l.created_at < p_to
  ) x
  GROUP BY 1, 2;
END
$$;
REVOKE ALL ON FUNCTION integration_range_agg_service(timestamptz, timestamptz, interval) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_range_agg_service(timestamptz, timestamptz, interval) TO authenticated, service_role;

/**
 * The newest created_at of p_service's calls (only failed ones when p_failed) in [p_from, p_to),
 * exactly as max(created_at) over raw rows, found by descending the rollups: newest hour with such
 * calls, newest minute of it, then raw rows of that one minute. Measured at 10M rows: health's two
 * max(created_at) subqueries per service over raw rows were most of its ~30 ms (planning every
 * partition of the window, and scanning back through other services' failures); this reads a few
 * index entries per level. A clipped edge hour or minute may hold no call inside the window (the
 * rollup counts the whole bucket), so the loops go on to the next older one.
 * Needs minute rollups for the window (minute retention >= raw retention, the default).
 */
CREATE FUNCTION integration_last_call_at(p_service text, p_from timestamptz, p_to timestamptz, p_failed boolean DEFAULT false)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  epoch constant timestamptz := '1970-01-01 00:00:00+00';
  h timestamptz;
  m timestamptz;
  h_upper timestamptz := p_to;
  m_upper timestamptz;
  found timestamptz;
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
    RETURN NULL;
  END IF;
  -- max(bucket) below an upper bound is a backward scan of the primary key (bucket first) that
  -- stops at the first matching row; each level narrows the next one's range.
  LOOP
    SELECT max(r.bucket) INTO h FROM integration_rollup_hour r
    WHERE r.service_name = p_service AND (NOT p_failed OR r.status = 'failed')
      AND r.bucket >= date_bin('1 hour'::interval, p_from, epoch) AND r.bucket < h_upper;
    EXIT WHEN h IS NULL;
    m_upper := least(h + interval '1 hour', p_to);
    LOOP
      SELECT max(r.bucket) INTO m FROM integration_rollup_minute r
      WHERE r.service_name = p_service AND (NOT p_failed OR r.status = 'failed')
        AND r.bucket >= greatest(h, date_bin('1 minute'::interval, p_from, epoch)) AND r.bucket < m_upper;
      EXIT WHEN m IS NULL;
      SELECT max(l.created_at) INTO found FROM integration_logs l
      WHERE l.service_name = p_service AND (NOT p_failed OR l.status = 'failed')
        AND l.created_at >= greatest(m, p_from) AND l.created_at < least(m + interval '1 minute', p_to);
      IF found IS NOT NULL THEN
        RETURN found;
      END IF;
      m_upper := m;
    END LOOP;
    h_upper := h;
  END LOOP;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION integration_last_call_at(text, timestamptz, timestamptz, boolean) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_last_call_at(text, timestamptz, timestamptz, boolean) TO authenticated, service_role;

/** Every (service, action) pair known to the monitor. */
CREATE FUNCTION integration_known_services()
RETURNS TABLE (service_name text, action text)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT s.service_name, s.action FROM integration_service_actions s;
END;

REVOKE ALL ON FUNCTION integration_range_agg(timestamptz, timestamptz, interval), integration_hist_range(timestamptz, timestamptz, interval),
  integration_known_services() FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_range_agg(timestamptz, timestamptz, interval), integration_hist_range(timestamptz, timestamptz, interval),
  integration_known_services() TO authenticated, service_role;
REVOKE ALL ON FUNCTION integration_range_bounds(timestamptz, timestamptz, interval) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_range_bounds(timestamptz, timestamptz, interval) TO authenticated, service_role;
