-- 001 schema: roles, the seed's table partitioned by week, and the functions that manage partitions.
--
-- Columns, types, defaults and the status CHECK are exactly the seed's. One deliberate deviation:
-- the primary key is (id, created_at), not (id). A unique constraint on a partitioned table must
-- contain the partition key (each partition enforces uniqueness only within itself), and the
-- partition key must be created_at so that retention is a partition drop. Being part of a primary
-- key, created_at therefore becomes NOT NULL (the seed has it nullable with DEFAULT now(); an
-- insert that omits it still gets now(), only an explicit NULL is now rejected). ids stay unique in
-- practice (gen_random_uuid()), and lookups by id alone still use the primary-key index.
--
-- Partition width: one week (Monday 00:00 UTC; ~14 partitions for 90-day retention, ~19 for the
-- bench's 120 days). Measured (bench, 100k rows over 120 days, PG 17, this 2-core machine): with one
-- partition per day (~130 partitions) a query the planner cannot prune at plan time pays for every
-- partition and its indexes: the failures list planned in 6–11 ms warm (113 ms on a fresh
-- connection) for 2 ms of execution, integration_range_agg over 24 h planned in 17–33 ms. Planning
-- cost grows with the partition count.
-- The price: the partition straddling the retention cutoff is DELETEd from day by day until the
-- whole week is past the cutoff (at most 6 days of rows; a daily 00:05 run deletes one day's worth).
-- Those dead tuples live only in a partition that is dropped within the week, so they never bloat
-- the live data.
--
-- A DEFAULT partition accepts any timestamp that has no partition (years back, far ahead).
-- ensure_integration_log_partitions() creates partitions ahead of time; if the default already holds
-- rows for a week it is about to create, it moves them into the new partition in the same
-- transaction (and reports how many), instead of failing or leaving them behind.

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
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END;
    END IF;
  END LOOP;
  -- service_role as Supabase has it: BYPASSRLS, so that a writer may COPY straight into
  -- integration_logs (Postgres refuses COPY FROM into a table with RLS for a role that does not
  -- bypass it; see src/recorder/writer.ts). Only a superuser (or, on PG 16+, a CREATEROLE role that
  -- itself bypasses RLS) may grant BYPASSRLS; otherwise the role is created without it, the
  -- policies below still let it do everything, and the recorder falls back to INSERT … SELECT.
  -- An existing service_role is left as it is.
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    BEGIN
      CREATE ROLE service_role NOLOGIN BYPASSRLS;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL;
      WHEN insufficient_privilege THEN
        BEGIN
          CREATE ROLE service_role NOLOGIN;
          RAISE NOTICE 'created service_role without BYPASSRLS (% may not grant it): writers use INSERT instead of COPY', current_user;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END;
  END IF;
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

-- ---- partitions ----------------------------------------------------------------------------------
-- UTC day boundaries, whatever the session's TimeZone.
CREATE FUNCTION integration_day_start(ts timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_bin('1 day'::interval, ts, '1970-01-01 00:00:00+00'::timestamptz);

CREATE FUNCTION integration_log_partition_name(day timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'integration_logs_p' || to_char(day AT TIME ZONE 'UTC', 'YYYYMMDD');

CREATE FUNCTION integration_week_start(ts timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_bin('7 days'::interval, ts, '2000-01-03 00:00:00+00'::timestamptz); -- a Monday

/** The bounds of every non-default partition of integration_logs. */
CREATE FUNCTION integration_log_partitions()
RETURNS TABLE (partition_name text, lo timestamptz, hi timestamptz)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $$
  SELECT c.relname::text, (m)[1]::timestamptz, (m)[2]::timestamptz
  FROM pg_inherits i
  JOIN pg_class c ON c.oid = i.inhrelid
  CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') AS m
  WHERE i.inhparent = 'integration_logs'::regclass AND m IS NOT NULL
$$;

/** Creates partition [lo, hi), moving any rows the default partition holds for it. */
CREATE FUNCTION integration_create_log_partition(lo timestamptz, hi timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
DECLARE
  name text := integration_log_partition_name(lo);
  n bigint;
BEGIN
  EXECUTE format('CREATE TABLE %I (LIKE integration_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
  EXECUTE format(
    'WITH moved AS (DELETE FROM integration_logs_default WHERE created_at >= $1 AND created_at < $2 RETURNING *)
     INSERT INTO %I SELECT * FROM moved', name) USING lo, hi;
  GET DIAGNOSTICS n = ROW_COUNT;
  EXECUTE format('ALTER TABLE integration_logs ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
  EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, anon, authenticated, service_role', name);
  IF n > 0 THEN
    RAISE NOTICE 'integration_logs: moved % rows from the default partition into %', n, name;
  END IF;
  RETURN n;
END
$$;

/**
 * Creates the weekly partitions covering [today - days_back, today + days_ahead] (UTC days) that do
 * not exist yet; a week that some existing partition already overlaps is left alone. Rows already
 * in the default partition for a new week are moved into it (and reported), never left behind.
 * Returns one row per partition created.
 */
CREATE FUNCTION ensure_integration_log_partitions(days_ahead integer DEFAULT 7, days_back integer DEFAULT 0)
RETURNS TABLE (partition_name text, moved_rows bigint)
LANGUAGE plpgsql
SECURITY DEFINER -- DDL needs the table owner; only service_role may call it
SET search_path FROM CURRENT
AS $$
DECLARE
  first_day timestamptz := integration_day_start(now()) - make_interval(days => days_back);
  last_day timestamptz := integration_day_start(now()) + make_interval(days => days_ahead);
  w timestamptz;
BEGIN
  -- Serialise with concurrent callers and with inserts routed to the default partition.
  LOCK TABLE integration_logs_default IN SHARE ROW EXCLUSIVE MODE;
  w := integration_week_start(first_day);
  WHILE w <= last_day LOOP
    IF NOT EXISTS (SELECT 1 FROM integration_log_partitions() p WHERE p.lo < w + interval '7 days' AND p.hi > w) THEN
      partition_name := integration_log_partition_name(w);
      moved_rows := integration_create_log_partition(w, w + interval '7 days');
      RETURN NEXT;
    END IF;
    w := w + interval '7 days';
  END LOOP;
END
$$;

REVOKE ALL ON FUNCTION integration_create_log_partition(timestamptz, timestamptz) FROM PUBLIC, anon, authenticated, service_role;
REVOKE ALL ON FUNCTION integration_log_partitions() FROM PUBLIC, anon;
REVOKE ALL ON FUNCTION ensure_integration_log_partitions(integer, integer) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION ensure_integration_log_partitions(integer, integer) TO service_role;

SELECT count(*) FROM ensure_integration_log_partitions(7, 1);
