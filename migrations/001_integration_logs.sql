-- 001 integration_logs: the seed's table, partitioned by created_at, with roles, RLS and retention.
--
-- Columns, types, defaults and the status CHECK are exactly the seed's. One deliberate deviation:
-- the primary key is (id, created_at), not (id). A unique constraint on a partitioned table must
-- contain the partition key (each partition enforces uniqueness only within itself), and the
-- partition key must be created_at so that retention is a partition drop. Being part of a primary
-- key, created_at therefore becomes NOT NULL (the seed has it nullable with DEFAULT now(); an
-- insert that omits it still gets now(), only an explicit NULL is now rejected). ids stay unique in
-- practice (gen_random_uuid()), and lookups by id alone still use the primary-key index.
--
-- Partition width: this migration creates daily partitions; migration 003 switches new ranges to
-- weekly after measuring the planning cost of ~130 daily partitions (6-17 ms per query the planner
-- cannot prune, against 2 ms of execution) — see its header.
--
-- A DEFAULT partition accepts any timestamp that has no partition (years back, far ahead).
-- ensure_integration_log_partitions() creates partitions ahead of time; if the default already holds
-- rows for a day it is about to create, it moves them into the new partition in the same
-- transaction (and reports how many), instead of failing or leaving them behind.
--
-- Indexes: the stats views and the stats/health/timeseries endpoints read rollups (migration 002),
-- never these indexes, so the seed's btree on status (4 distinct values) and on
-- (service_name, status) would only cost writes and are not created (the bench's ingest lines
-- compare write throughput against the seed's seven indexes; the list/drill-down query lines show
-- the reshaped ones serve their reads). Kept, under the seed's names, reshaped for the queries that do read raw rows:
--   idx_integration_logs_created_at   (created_at DESC, id DESC)   logs list keyset, raw range edges
--   idx_integration_logs_service_name (service_name, created_at DESC, id DESC) logs filtered by service
--   idx_integration_logs_entity       (related_entity_type, related_entity_id, created_at DESC, id DESC)
--                                      WHERE related_entity_id IS NOT NULL   entity drill-down
--   idx_integration_logs_failed       (created_at DESC, id DESC) WHERE status = 'failed'  failures list
-- The trailing id makes the (created_at, id) keyset cursor an index range scan.

-- Functions created here resolve names in this schema only (not in the caller's search_path).
-- (pg_catalog, not listed, is searched first; pg_temp last so temp objects cannot shadow ours.)
SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- ---- roles -------------------------------------------------------------------------------------
-- Supabase already has these; on stock Postgres they are created once per cluster. Another database
-- of the same cluster may be migrating at the same instant (advisory locks are per database), so a
-- duplicate is tolerated rather than checked-then-created.
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END;
    END IF;
  END LOOP;
  -- Grafana's Postgres data source logs in as this role once an operator gives it a password
  -- (ALTER ROLE integration_monitor_reader LOGIN PASSWORD '…'); it reads as `authenticated`.
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'integration_monitor_reader') THEN
    BEGIN
      CREATE ROLE integration_monitor_reader NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  IF NOT pg_has_role('integration_monitor_reader', 'authenticated', 'MEMBER') THEN
    BEGIN
      GRANT authenticated TO integration_monitor_reader;
    EXCEPTION WHEN insufficient_privilege THEN
      -- A hosted Postgres may not let the migrating role administer `authenticated`: say so, and
      -- let the operator grant it (the rest of the schema does not depend on this role).
      RAISE WARNING 'could not GRANT authenticated TO integration_monitor_reader (%); ask an admin to run it', SQLERRM;
    END;
  END IF;
END
$$;

-- ---- table ---------------------------------------------------------------------------------------
CREATE TABLE integration_logs (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  service_name text NOT NULL,
  action text NOT NULL,
  status text NOT NULL CHECK (status IN ('success', 'failed', 'pending', 'retrying')),
  related_entity_type text,
  related_entity_id uuid,
  request_payload jsonb,
  response_payload jsonb,
  error_message text,
  error_code text,
  duration_ms integer,
  retry_count integer DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  CONSTRAINT integration_logs_pkey PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

COMMENT ON TABLE integration_logs IS 'Централизованные логи всех интеграций с внешними API (AmoCRM, Resend, Telegram, Mobizon, Whapi)';
COMMENT ON COLUMN integration_logs.service_name IS 'Название сервиса: amocrm, resend, telegram, mobizon, whapi';
COMMENT ON COLUMN integration_logs.action IS 'Действие: send_email, sync_lead, send_sms, etc.';
COMMENT ON COLUMN integration_logs.status IS 'Статус: success, failed, pending, retrying';
COMMENT ON COLUMN integration_logs.duration_ms IS 'Длительность запроса в миллисекундах';
COMMENT ON COLUMN integration_logs.retry_count IS 'Количество повторных попыток (для retrying статуса)';

CREATE TABLE integration_logs_default PARTITION OF integration_logs DEFAULT;

CREATE INDEX idx_integration_logs_created_at ON integration_logs (created_at DESC, id DESC);
CREATE INDEX idx_integration_logs_service_name ON integration_logs (service_name, created_at DESC, id DESC);
CREATE INDEX idx_integration_logs_entity ON integration_logs (related_entity_type, related_entity_id, created_at DESC, id DESC)
  WHERE related_entity_id IS NOT NULL;
CREATE INDEX idx_integration_logs_failed ON integration_logs (created_at DESC, id DESC) WHERE status = 'failed';

-- ---- privileges and RLS ---------------------------------------------------------------------------
-- Supabase's default privileges grant every new table in public to anon/authenticated/service_role;
-- revoke explicitly so that only the grants below exist.
REVOKE ALL ON integration_logs, integration_logs_default FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON integration_logs TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON integration_logs TO service_role;

ALTER TABLE integration_logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY integration_logs_service_role_all ON integration_logs FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY integration_logs_read_authenticated ON integration_logs FOR SELECT TO authenticated USING (true);
-- anon: no grant, no policy.

-- ---- partitions ----------------------------------------------------------------------------------
-- UTC day boundaries, whatever the session's TimeZone.
CREATE FUNCTION integration_day_start(ts timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_bin('1 day'::interval, ts, '1970-01-01 00:00:00+00'::timestamptz);

CREATE FUNCTION integration_log_partition_name(day timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'integration_logs_p' || to_char(day AT TIME ZONE 'UTC', 'YYYYMMDD');

/**
 * Creates the daily partitions for [today - days_back, today + days_ahead] that do not exist yet.
 * Rows already sitting in the default partition for such a day are moved into it (counted in the
 * NOTICE and in moved_rows), never left behind or silently dropped. Returns one row per partition
 * created.
 */
CREATE FUNCTION ensure_integration_log_partitions(days_ahead integer DEFAULT 7, days_back integer DEFAULT 0)
RETURNS TABLE (partition_name text, moved_rows bigint)
LANGUAGE plpgsql
SECURITY DEFINER -- DDL needs the table owner; only service_role may call it
SET search_path FROM CURRENT
AS $$
DECLARE
  today timestamptz := integration_day_start(now());
  d timestamptz;
  name text;
  n bigint;
  parent_schema text := current_schema();
BEGIN
  FOR i IN -days_back..days_ahead LOOP
    d := today + make_interval(days => i);
    name := integration_log_partition_name(d);
    IF to_regclass(format('%I.%I', parent_schema, name)) IS NOT NULL THEN
      CONTINUE;
    END IF;
    -- Serialise with concurrent callers and with inserts routed to the default partition.
    LOCK TABLE integration_logs_default IN SHARE ROW EXCLUSIVE MODE;
    IF to_regclass(format('%I.%I', parent_schema, name)) IS NOT NULL THEN
      CONTINUE;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE integration_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    -- Rows move partition-to-table directly: the parent's statement triggers (rollups) do not fire,
    -- which is right, as the rows only change place.
    EXECUTE format(
      'WITH moved AS (DELETE FROM integration_logs_default WHERE created_at >= $1 AND created_at < $2 RETURNING *)
       INSERT INTO %I SELECT * FROM moved', name) USING d, d + interval '1 day';
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE format('ALTER TABLE integration_logs ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   name, d, d + interval '1 day');
    EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, anon, authenticated, service_role', name);
    IF n > 0 THEN
      RAISE NOTICE 'integration_logs: moved % rows from the default partition into %', n, name;
    END IF;
    partition_name := name;
    moved_rows := n;
    RETURN NEXT;
  END LOOP;
END
$$;

/**
 * Removes raw rows older than `retention`: whole partitions entirely before the cutoff are counted
 * and dropped (no dead tuples, no vacuum debt), then only the remainder (the default partition and
 * the partition straddling the cutoff) is DELETEd. Returns the number of rows removed.
 * The remainder DELETE sets integration_monitor.retention for the transaction so that the rollup
 * triggers (migration 002) keep their totals: retention removes raw detail, not history.
 * The cutoff is rounded down to a whole minute so a per-minute rollup never covers half-deleted
 * raw rows.
 */
CREATE FUNCTION cleanup_old_integration_logs(retention interval DEFAULT '90 days')
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER -- dropping partitions needs the table owner; only service_role may call it
SET search_path FROM CURRENT
AS $$
DECLARE
  cutoff timestamptz := date_bin('1 minute'::interval, now() - retention, '1970-01-01 00:00:00+00'::timestamptz);
  part record;
  n bigint;
  total bigint := 0;
BEGIN
  IF retention IS NULL OR retention <= interval '0' THEN
    RAISE EXCEPTION 'retention must be a positive interval, got %', retention;
  END IF;
  FOR part IN
    SELECT c.oid::regclass AS rel, c.relname
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'integration_logs'::regclass
      AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
      -- upper bound of "FOR VALUES FROM ('…') TO ('…')"
      AND (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz <= cutoff
    ORDER BY c.relname
  LOOP
    EXECUTE format('SELECT count(*) FROM %s', part.rel) INTO n;
    EXECUTE format('ALTER TABLE integration_logs DETACH PARTITION %s', part.rel);
    EXECUTE format('DROP TABLE %s', part.rel);
    total := total + n;
  END LOOP;

  PERFORM set_config('integration_monitor.retention', 'on', true);
  DELETE FROM integration_logs WHERE created_at < cutoff;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM set_config('integration_monitor.retention', 'off', true);
  RETURN total + n;
END
$$;

REVOKE ALL ON FUNCTION ensure_integration_log_partitions(integer, integer), cleanup_old_integration_logs(interval)
  FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION ensure_integration_log_partitions(integer, integer), cleanup_old_integration_logs(interval) TO service_role;

SELECT count(*) FROM ensure_integration_log_partitions(7, 1);

-- ---- aggregation over a time range ----------------------------------------------------------------
-- The stats views and the API read aggregates only through these functions, so that migration 002
-- can switch them from raw rows to rollups without changing any caller. Buckets are aligned to the
-- Unix epoch (UTC days/hours whatever the session TimeZone); p_width NULL means one bucket for the
-- whole range, labelled p_from.

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

/** Exact per-bucket aggregates of integration_logs over [p_from, p_to). */
CREATE FUNCTION integration_range_agg(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, service_name text, action text, status text, calls bigint, duration_n bigint,
               duration_sum bigint, duration_min integer, duration_max integer, retry_sum bigint, retried bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT CASE WHEN p_width IS NULL THEN p_from ELSE date_bin(p_width, l.created_at, '1970-01-01 00:00:00+00'::timestamptz) END,
         l.service_name, l.action, l.status,
         count(*), count(l.duration_ms), coalesce(sum(l.duration_ms), 0)::bigint, min(l.duration_ms), max(l.duration_ms),
         coalesce(sum(l.retry_count), 0)::bigint, count(*) FILTER (WHERE l.retry_count > 0)
  FROM integration_logs l
  WHERE l.created_at >= p_from AND l.created_at < p_to
  GROUP BY 1, 2, 3, 4;
END;

/** Exact per-bucket latency histograms (bins as integration_latency_bin) over [p_from, p_to). */
CREATE FUNCTION integration_hist_range(p_from timestamptz, p_to timestamptz, p_width interval DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, service_name text, action text, status text, bin integer, n bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT CASE WHEN p_width IS NULL THEN p_from ELSE date_bin(p_width, l.created_at, '1970-01-01 00:00:00+00'::timestamptz) END,
         l.service_name, l.action, l.status, integration_latency_bin(l.duration_ms), count(*)
  FROM integration_logs l
  WHERE l.created_at >= p_from AND l.created_at < p_to AND l.duration_ms IS NOT NULL
  GROUP BY 1, 2, 3, 4, 5;
END;

/** Every (service, action) pair known to the monitor. */
CREATE FUNCTION integration_known_services()
RETURNS TABLE (service_name text, action text)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT DISTINCT l.service_name, l.action FROM integration_logs l;
END;

-- ---- the seed's views ------------------------------------------------------------------------------
-- security_invoker: the caller's own privileges and RLS apply to what the view reads.
-- failed_count/success_count are the calls of this row that failed/succeeded (so they can be
-- summed across rows); failure_rate_percent is the failure rate of the row's service and action on
-- that day over all statuses (failed / all calls * 100), repeated on each status row of the group:
-- one failed call of three reads 33.33 on every row of that service/action/day.
CREATE VIEW integration_stats_hourly WITH (security_invoker = true) AS
SELECT r.service_name, r.action, r.status, r.bucket AS hour, r.calls AS count,
       r.duration_sum::numeric / NULLIF(r.duration_n, 0) AS avg_duration_ms,
       r.duration_min AS min_duration_ms, r.duration_max AS max_duration_ms
FROM integration_range_agg(now() - interval '24 hours', 'infinity'::timestamptz, interval '1 hour') r;

CREATE VIEW integration_stats_daily WITH (security_invoker = true) AS
SELECT r.service_name, r.action, r.status, r.bucket AS day, r.calls AS count,
       r.duration_sum::numeric / NULLIF(r.duration_n, 0) AS avg_duration_ms,
       r.duration_min AS min_duration_ms, r.duration_max AS max_duration_ms,
       CASE WHEN r.status = 'failed' THEN r.calls ELSE 0 END::bigint AS failed_count,
       CASE WHEN r.status = 'success' THEN r.calls ELSE 0 END::bigint AS success_count,
       round(100 * sum(CASE WHEN r.status = 'failed' THEN r.calls ELSE 0 END) OVER w::numeric
             / NULLIF(sum(r.calls) OVER w, 0), 2) AS failure_rate_percent
FROM integration_range_agg(now() - interval '30 days', 'infinity'::timestamptz, interval '1 day') r
WINDOW w AS (PARTITION BY r.service_name, r.action, r.bucket);

REVOKE ALL ON integration_stats_hourly, integration_stats_daily FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON integration_stats_hourly, integration_stats_daily TO authenticated, service_role;

REVOKE ALL ON FUNCTION integration_range_agg(timestamptz, timestamptz, interval), integration_hist_range(timestamptz, timestamptz, interval),
  integration_known_services() FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_range_agg(timestamptz, timestamptz, interval), integration_hist_range(timestamptz, timestamptz, interval),
  integration_known_services() TO authenticated, service_role;
