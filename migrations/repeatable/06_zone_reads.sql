-- Buckets in a time zone (first created by 009): their labels, the pieces a range splits into, the
-- day zones' own levels; hours and days are the reader's, as in the seed's views. The range readers
-- that use them are in 05_range_reads.sql (the zone their fourth argument); their old *_zone names
-- are kept below. See docs/schema.md "Time zones".

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- ---- bucket labels in a zone --------------------------------------------------------------------
/**
 * The bucket of x for buckets p_width wide in zone p_zone (an IANA name, or anything TimeZone takes):
 * 1 hour / 1 day: date_trunc in that zone, exactly the seed's views under that session TimeZone
 * (a DST day is one bucket of 23 or 25 hours, its repeated hour two buckets);
 * whole days: N-day runs of the zone's days, counted from its 1970-01-01;
 * shorter: the zone's wall clock binned from its midnight, keeping x's own UTC offset (so the
 * repeated hour of a DST change is two buckets, like date_trunc's).
 * Plain SQL, not STRICT, so callers inline it.
 */
CREATE OR REPLACE FUNCTION integration_zone_bucket(x timestamptz, p_width interval, p_zone text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE
  WHEN p_width = interval '1 hour' THEN date_trunc('hour', x, p_zone)
  WHEN p_width = interval '1 day' THEN date_trunc('day', x, p_zone)
  WHEN extract(epoch FROM p_width) % 86400 = 0
    THEN date_bin(p_width, date_trunc('day', x, p_zone) AT TIME ZONE p_zone, '1970-01-01 00:00:00'::timestamp) AT TIME ZONE p_zone
  ELSE x - ((x AT TIME ZONE p_zone) - date_bin(p_width, x AT TIME ZONE p_zone, '1970-01-01 00:00:00'::timestamp))
END;

/**
 * Whether p_width-wide buckets of p_zone are the UTC-aligned ones (date_bin from the epoch): in UTC
 * itself, and for widths that divide 15 minutes in every zone (every UTC offset since 1972 is a
 * whole number of quarter hours). The range readers (05_range_reads.sql) then run their UTC
 * statement, which reads whole UTC days in one range scan and needs no labels (a 5-minute series of
 * a dashboard).
 */
CREATE OR REPLACE FUNCTION integration_zone_same_as_utc(p_zone text, p_width interval) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN p_width IS NOT NULL AND (
  upper(p_zone) = ANY (ARRAY['UTC', 'UCT', 'ZULU', 'UNIVERSAL', 'GMT', 'GMT0', 'GMT+0', 'GMT-0', 'GREENWICH',
                             'ETC/UTC', 'ETC/UCT', 'ETC/ZULU', 'ETC/UNIVERSAL', 'ETC/GMT', 'ETC/GMT0', 'ETC/GMT+0',
                             'ETC/GMT-0', 'ETC/GREENWICH'])
  OR (extract(epoch FROM p_width) > 0 AND 900 % extract(epoch FROM p_width) = 0));

/**
 * Whether a range reader takes its UTC statement: one bucket (p_width NULL, whatever the zone) or
 * buckets integration_zone_same_as_utc says are UTC's. A zone PostgreSQL does not know is 22023
 * ("time zone ... not recognized") also where one bucket needs none, as on the zone path
 * (integration_zone_pieces); where the width divides 15 minutes it is never looked at.
 */
CREATE OR REPLACE FUNCTION integration_reads_utc(p_zone text, p_width interval) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN p_width IS NOT NULL THEN integration_zone_same_as_utc(p_zone, p_width)
            ELSE coalesce(upper(p_zone), 'UTC') = 'UTC' OR date_trunc('day', now(), p_zone) IS NOT NULL END;

/**
 * How [p_from, p_to) splits into pieces for p_width-wide buckets of zone p_zone: each piece is a
 * range of one level ('d' UTC days, 'h' hours, 'm' minutes of rollups; 'r' raw rows) lying inside
 * one bucket `label` ('r' pieces with label NULL: each raw row is labelled by itself; 'D', 'H', 'M':
 * rollups of that level each labelled by its own bucket).
 * A rollup unit (a UTC day, hour, minute) whose first and last microsecond have the same label is
 * used whole (consecutive ones of a level and label merge into one range). A unit with exactly one
 * boundary b inside (label(b) = b, label(b - 1 us) = its first label) is two segments, each read at
 * the levels that fit it (integration_range_bounds): a Moscow day is hours [00:00, 21:00) and
 * [21:00, 24:00) UTC; a Kolkata day adds the two half hours around 18:30 from minutes. Any other
 * unit is tried unit by unit one level finer (an hour per day for hourly buckets), and a minute
 * still cut is read raw. Labels are computed per unit, not per row: two to four per day of the
 * range, per hour for hourly buckets. Labels must not decrease with time: true of date_trunc, and
 * of the wall-clock buckets wherever an offset changes on a bucket boundary of the wall clock
 * (DST changes happen on the hour).
 * An infinite end is clamped to the hour rollups' extent; beyond it is an 'r' piece.
 */
CREATE OR REPLACE FUNCTION integration_zone_pieces(p_from timestamptz, p_to timestamptz, p_width interval, p_zone text)
RETURNS TABLE (lvl "char", lo timestamptz, hi timestamptz, label timestamptz)
LANGUAGE plpgsql STABLE
SET jit = off
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  f timestamptz := p_from;
  t timestamptz := p_to;
  w float8 := extract(epoch FROM p_width);
  mr timestamptz := integration_minute_read_from();
  k record;
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_width IS NULL OR p_zone IS NULL OR NOT w > 0 THEN
    RAISE EXCEPTION 'integration_zone_pieces: range, a positive width and a zone are required' USING ERRCODE = '22023';
  END IF;
  -- Validates the zone (22023 "time zone ... not recognized") before any rows are read.
  PERFORM date_trunc('day', now(), p_zone);
  IF p_from >= p_to THEN
    RETURN;
  END IF;
  IF NOT isfinite(p_from) THEN
    SELECT least(greatest(min(r.bucket), p_from), p_to) INTO f FROM integration_rollup_hour r WHERE r.bucket < p_to;
    f := coalesce(f, p_to);
  END IF;
  IF NOT isfinite(p_to) THEN
    SELECT greatest(max(r.bucket) + interval '1 hour', f) INTO t FROM integration_rollup_hour r WHERE r.bucket >= date_bin('1 hour'::interval, f, '1970-01-01 00:00:00+00'::timestamptz);
    t := coalesce(t, f);
  END IF;
  -- a caller who may read nothing gets no pieces; too long a range for the width is 22023
  IF NOT integration_zone_work_ok(f, t, p_width) THEN
    RETURN;
  END IF;
  SELECT * INTO k FROM integration_range_bounds(f, t, NULL);

  RETURN QUERY
  -- d0, h0 MATERIALIZED: their labels are then plain columns, and integration_zone_bucket applied to
  -- them is inlined (a function is not inlined over an argument as costly as its own body, and
  -- called as a function it cost ~100 us a call).
  WITH d0 AS MATERIALIZED (
    SELECT s AS lo, s + interval '24 hours' AS hi,
           integration_zone_bucket(s, p_width, p_zone) AS a,
           integration_zone_bucket(s + interval '24 hours' - interval '1 microsecond', p_width, p_zone) AS b
    FROM generate_series(k.d_lo, k.d_hi - interval '24 hours', interval '24 hours') s
    WHERE w >= 86400
  ), d AS (
    -- ok: the whole unit is in one bucket; split: one boundary b inside it (a whole-hour zone's
    -- day, a half-hour zone's hour), so it is two segments, each read at the levels that fit
    SELECT d0.*, d0.a = d0.b AS ok,
           d0.a < d0.b AND d0.lo < d0.b AND d0.b < d0.hi AND integration_zone_bucket(d0.b, p_width, p_zone) = d0.b
             AND integration_zone_bucket(d0.b - interval '1 microsecond', p_width, p_zone) = d0.a AS split
    FROM d0
  ), hc AS (
    SELECT s FROM generate_series(k.h_lo, k.d_lo - interval '1 hour', interval '1 hour') s
    UNION ALL
    SELECT s FROM generate_series(k.d_hi, k.h_hi - interval '1 hour', interval '1 hour') s
    UNION ALL
    SELECT s FROM generate_series(k.d_lo, k.d_hi - interval '1 hour', interval '1 hour') s WHERE w < 86400
    UNION ALL
    SELECT s FROM d CROSS JOIN LATERAL generate_series(d.lo, d.hi - interval '1 hour', interval '1 hour') s WHERE NOT d.ok AND NOT d.split
  ), h0 AS MATERIALIZED (
    SELECT hc.s AS lo, hc.s + interval '1 hour' AS hi,
           integration_zone_bucket(hc.s, p_width, p_zone) AS a,
           integration_zone_bucket(hc.s + interval '1 hour' - interval '1 microsecond', p_width, p_zone) AS b
    FROM hc WHERE w >= 3600
  ), h AS (
    SELECT h0.*, h0.a = h0.b AS ok,
           h0.a < h0.b AND h0.lo < h0.b AND h0.b < h0.hi AND integration_zone_bucket(h0.b, p_width, p_zone) = h0.b
             AND integration_zone_bucket(h0.b - interval '1 microsecond', p_width, p_zone) = h0.a AS split
    FROM h0
  ), mc AS (
    SELECT s FROM generate_series(k.m_lo, k.h_lo - interval '1 minute', interval '1 minute') s
    UNION ALL
    SELECT s FROM generate_series(k.h_hi, k.m_hi - interval '1 minute', interval '1 minute') s
    UNION ALL
    SELECT x.s FROM hc CROSS JOIN LATERAL generate_series(hc.s, hc.s + interval '59 minutes', interval '1 minute') x(s) WHERE w < 3600
    UNION ALL
    SELECT s FROM h CROSS JOIN LATERAL generate_series(h.lo, h.hi - interval '1 minute', interval '1 minute') s WHERE NOT h.ok AND NOT h.split
  ), m AS (
    SELECT mc.s AS lo, mc.s + interval '1 minute' AS hi, a.l,
           a.l = integration_zone_bucket(mc.s + interval '1 minute' - interval '1 microsecond', p_width, p_zone) AS ok
    FROM mc CROSS JOIN LATERAL (SELECT integration_zone_bucket(mc.s, p_width, p_zone) AS l) a
  ), units0 AS (
    SELECT 'd'::"char" AS lvl, d.lo, d.hi, d.a AS l FROM d WHERE d.ok
    UNION ALL SELECT 'h'::"char", h.lo, h.hi, h.a FROM h WHERE h.ok
    UNION ALL SELECT 'm'::"char", m.lo, m.hi, m.l FROM m WHERE m.ok
  ), units AS (
    -- A unit that starts its own bucket (every hour of a whole-hour zone, hour by hour) is labelled
    -- by the rollup rows' own bucket: 'D', 'H', 'M' with no label, so a run of them is one piece
    -- (24 hours of Almaty are one range scan, as in UTC).
    SELECT CASE WHEN u.l = u.lo THEN upper(u.lvl::text)::"char" ELSE u.lvl END AS lvl, u.lo, u.hi,
           CASE WHEN u.l = u.lo THEN NULL ELSE u.l END AS l
    FROM units0 u
  ), islands AS (
    -- consecutive units of one level and label: lo minus their running length is the same
    SELECT u.lvl, u.lo, u.hi, u.l,
           u.lo - sum(u.hi - u.lo) OVER (PARTITION BY u.lvl, u.l ORDER BY u.lo ROWS UNBOUNDED PRECEDING) AS island
    FROM units u
  ), segs AS (
    SELECT d.lo, d.b AS hi, d.a AS l FROM d WHERE d.split
    UNION ALL SELECT d.b, d.hi, d.b FROM d WHERE d.split
    UNION ALL SELECT h.lo, h.b, h.a FROM h WHERE h.split
    UNION ALL SELECT h.b, h.hi, h.b FROM h WHERE h.split
  )
  -- a run of minutes starting before the minute window (015) is read from raw rows: labelled as it
  -- was ('m'), or each row by its own bucket ('M', whose minutes each start their bucket)
  SELECT CASE WHEN i.lvl IN ('m', 'M') AND min(i.lo) < mr THEN 'r'::"char" ELSE i.lvl END, min(i.lo), max(i.hi), i.l
  FROM islands i GROUP BY i.lvl, i.l, i.island
  UNION ALL
  SELECT x.lvl, x.lo, x.hi, g.l
  FROM segs g CROSS JOIN LATERAL integration_range_bounds(g.lo, g.hi, NULL) b
  CROSS JOIN LATERAL (VALUES ('d'::"char", b.d_lo, b.d_hi), ('h', b.h_lo, b.d_lo), ('h', b.d_hi, b.h_hi),
                             ('m', b.m_lo, b.h_lo), ('m', b.h_hi, b.m_hi), ('r', g.lo, b.m_lo), ('r', b.m_hi, g.hi)) x(lvl, lo, hi)
  WHERE x.lo < x.hi
  UNION ALL
  -- raw rows: minutes a boundary cuts (each row labelled by itself), and the range's sub-minute ends
  SELECT 'r'::"char", m.lo, m.hi, NULL FROM m WHERE NOT m.ok
  UNION ALL SELECT 'r'::"char", p_from, k.m_lo, NULL WHERE p_from < k.m_lo
  UNION ALL SELECT 'r'::"char", k.m_hi, p_to, NULL WHERE k.m_hi < p_to;
END
$$;

-- ---- configured day zones (migration 011) ---------------------------------------------------------
/**
 * The configured day zone p_zone names (case-insensitively, as TimeZone reads names): its stored
 * name, complete_from and hours_from (NULL until its hours are in); no row when it is not configured
 * or its backfill has not finished.
 * Runs as the caller: integration_monitor_day_zones has the read policies of the rollups
 * (10_policies.sql), so an `authenticated` caller without the read claim learns nothing of which
 * zones are kept (its reads compose, and read nothing either).
 */
-- (hours_from added with 013: a new result column needs the old function dropped first; plpgsql
-- callers are not dependants, and this file re-grants it below)
SET LOCAL client_min_messages = warning; -- the DROP's "does not exist, skipping" on a first run is nothing for the operator
DROP FUNCTION IF EXISTS integration_day_zone(text);
CREATE FUNCTION integration_day_zone(p_zone text)
RETURNS TABLE (zone text, complete_from timestamptz, hours_from timestamptz)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $$
  SELECT z.zone, z.complete_from, z.hours_from FROM integration_monitor_day_zones z
  WHERE lower(z.zone) = lower(p_zone) AND z.complete_from IS NOT NULL
$$;

/**
 * integration_zone_pieces, plus a level of whole local days for configured day zones: when p_width
 * is 1 day and p_zone is a day zone (integration_day_zone), every local day lying wholly inside
 * [p_from, p_to) and starting at or after its complete_from is one 'Z' piece (consecutive days
 * merge; rows are labelled by their own bucket) read from integration_rollup_zone_day; the ends
 * before the first and after the last such day are read at the UTC levels that fit them, labelled
 * by their local day (by integration_zone_pieces when the start is before complete_from). An
 * infinite end stops at the zone's newest stored day; after it, a raw piece.
 * A width of exactly 1 hour is integration_zone_hour_pieces (zone hours, 'Y' pieces).
 * Percentile readers keep reading integration_zone_pieces: zone days and hours hold no histograms.
 */
CREATE OR REPLACE FUNCTION integration_zone_day_pieces(p_from timestamptz, p_to timestamptz, p_width interval, p_zone text)
RETURNS TABLE (lvl "char", lo timestamptz, hi timestamptz, label timestamptz)
LANGUAGE plpgsql STABLE
SET jit = off
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  dzone text;
  dfrom timestamptz;
  s timestamptz;
  zlo timestamptz;
  zhi timestamptz;
BEGIN
  IF p_width = interval '1 hour' THEN
    RETURN QUERY SELECT * FROM integration_zone_hour_pieces(p_from, p_to, p_zone);
    RETURN;
  END IF;
  IF p_width = interval '1 day' AND p_from < p_to THEN
    SELECT d.zone, d.complete_from INTO dzone, dfrom FROM integration_day_zone(p_zone) d;
  END IF;
  IF dzone IS NOT NULL THEN
    -- first local midnight at or after the start (a local day is 23 to 25 hours, so 30 hours after
    -- a midnight, always 30 elapsed hours in any session zone, is inside the next day)
    s := greatest(p_from, dfrom);
    zlo := date_trunc('day', s, dzone);
    IF zlo < s THEN
      zlo := date_trunc('day', zlo + interval '30 hours', dzone);
    END IF;
    IF isfinite(p_to) THEN
      zhi := date_trunc('day', p_to, dzone);
    ELSE
      SELECT date_trunc('day', max(r.bucket) + interval '30 hours', dzone) INTO zhi
      FROM integration_rollup_zone_day r WHERE r.zone = dzone AND r.bucket >= zlo;
    END IF;
  END IF;
  IF zhi IS NULL OR NOT zlo < zhi THEN
    RETURN QUERY SELECT * FROM integration_zone_pieces(p_from, p_to, p_width, p_zone);
    RETURN;
  END IF;
  RETURN QUERY
  SELECT 'Z'::"char", zlo, zhi, NULL::timestamptz
  -- Before complete_from the start may be many days earlier: composed.
  UNION ALL SELECT * FROM integration_zone_pieces(p_from, zlo, p_width, p_zone) WHERE p_from < dfrom
  -- Otherwise each end lies inside one local day (zlo is the first midnight after the start, zhi
  -- the last before a finite end): its pieces are the UTC levels that fit, all labelled by that day,
  -- with none of integration_zone_pieces' work (it was most of a zone read's extra cost over UTC).
  UNION ALL
  SELECT x.lvl, x.lo, x.hi, g.l
  FROM (SELECT p_from, zlo, date_trunc('day', p_from, dzone) WHERE p_from >= dfrom
        UNION ALL SELECT zhi, p_to, zhi WHERE isfinite(p_to)) g(lo, hi, l)
  CROSS JOIN LATERAL integration_range_bounds(g.lo, g.hi, NULL) b
  CROSS JOIN LATERAL (VALUES ('d'::"char", b.d_lo, b.d_hi), ('h', b.h_lo, b.d_lo), ('h', b.d_hi, b.h_hi),
                             ('m', b.m_lo, b.h_lo), ('m', b.h_hi, b.m_hi), ('r', g.lo, b.m_lo), ('r', b.m_hi, g.hi)) x(lvl, lo, hi)
  WHERE x.lo < x.hi
  -- After the newest zone day there are no rows (the triggers would have made it a zone day): an
  -- infinite end is a raw piece that finds nothing.
  UNION ALL SELECT 'r'::"char", zhi, p_to, NULL::timestamptz WHERE NOT isfinite(p_to);
END
$$;

/**
 * integration_zone_pieces, plus a level of whole local hours for configured day zones (013) where
 * those are not UTC hours: every local hour of day zone p_zone lying wholly inside [p_from, p_to),
 * starting at or after its complete_from, that is exactly one hour [s, s + 1 h) labelled s (no
 * instant outside it has that label) and s is not a UTC hour start, is read from
 * integration_rollup_zone_hour; consecutive ones are one 'Y' piece (rows labelled by their own
 * bucket). A :30/:45 zone's hours are all that, except around a DST change; a whole-hour zone's are
 * never (they are UTC hours: 'H' pieces of integration_zone_pieces, as before). The rest of the
 * range — the part hours at its ends, hours before complete_from, a DST change's odd hours — is
 * composed: a part of one local hour as the UTC levels that fit with that hour's label (no
 * integration_zone_pieces work, which cost more than the read), anything else by
 * integration_zone_pieces. An infinite end stops at the zone's newest stored hour; after it, a raw
 * piece while the zone's current hours are not UTC hours (else composed: Lord Howe's DST half).
 * The check is two date_trunc per hour of the range (24 for the hourly view).
 */
CREATE OR REPLACE FUNCTION integration_zone_hour_pieces(p_from timestamptz, p_to timestamptz, p_zone text)
RETURNS TABLE (lvl "char", lo timestamptz, hi timestamptz, label timestamptz)
LANGUAGE plpgsql STABLE
SET jit = off
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  dzone text;
  dfrom timestamptz;
  s timestamptz;
  zlo timestamptz;
  zhi timestamptz;
  ylo timestamptz[];
  yhi timestamptz[];
  gap record;
  l timestamptz;
BEGIN
  IF p_from < p_to THEN
    SELECT d.zone, d.hours_from INTO dzone, dfrom FROM integration_day_zone(p_zone) d WHERE d.hours_from IS NOT NULL;
  END IF;
  IF dzone IS NOT NULL THEN
    -- candidate hour starts: zlo + n hours, from the first local hour start at or after the start
    s := greatest(p_from, dfrom);
    zlo := date_trunc('hour', s, dzone);
    IF zlo < s THEN
      zlo := zlo + interval '1 hour';
    END IF;
    IF isfinite(p_to) THEN
      zhi := p_to;
    ELSE
      SELECT max(r.bucket) + interval '1 hour' INTO zhi
      FROM integration_rollup_zone_hour r WHERE r.zone = dzone AND r.bucket >= zlo;
    END IF;
    zhi := zlo + floor(extract(epoch FROM zhi - zlo) / 3600) * interval '1 hour';
    IF zlo < zhi AND NOT integration_zone_work_ok(zlo, zhi, interval '1 hour') THEN
      RETURN;
    END IF;
  END IF;
  -- Every candidate is zlo + n hours: if zlo is a UTC hour start (a whole-hour zone), none is a
  -- zone hour, and the hours are the UTC ones ('H' pieces of integration_zone_pieces).
  IF zhi IS NOT NULL AND zlo < zhi AND zlo <> date_bin('1 hour'::interval, zlo, '1970-01-01 00:00:00+00'::timestamptz) THEN
    WITH b AS MATERIALIZED (
      SELECT gs.s, date_trunc('hour', gs.s, dzone) AS l, date_trunc('hour', gs.s - interval '1 microsecond', dzone) AS lp
      FROM generate_series(zlo, zhi, interval '1 hour') gs(s)
    ), u AS (
      -- [s, s + 1 h) is one whole local hour: s starts its label (and nothing before s has it), the
      -- instant before s + 1 h still has it, s + 1 h starts the next; and s is not a UTC hour
      SELECT b.s, b.l = b.s AND b.lp <> b.s AND lead(b.lp) OVER w = b.s AND lead(b.l) OVER w = b.s + interval '1 hour'
                  AND b.s <> date_bin('1 hour'::interval, b.s, '1970-01-01 00:00:00+00'::timestamptz) AS ok
      FROM b WINDOW w AS (ORDER BY b.s)
    ), i AS (
      SELECT u.s, u.s - (row_number() OVER (ORDER BY u.s)) * interval '1 hour' AS island FROM u WHERE u.ok
    )
    SELECT array_agg(x.lo ORDER BY x.lo), array_agg(x.hi ORDER BY x.lo) INTO ylo, yhi
    FROM (SELECT min(i.s) AS lo, max(i.s) + interval '1 hour' AS hi FROM i GROUP BY i.island) x;
  END IF;
  IF ylo IS NULL THEN
    RETURN QUERY SELECT * FROM integration_zone_pieces(p_from, p_to, interval '1 hour', p_zone);
    RETURN;
  END IF;
  RETURN QUERY SELECT 'Y'::"char", y.lo, y.hi, NULL::timestamptz FROM unnest(ylo, yhi) y(lo, hi);
  -- the gaps around the 'Y' pieces
  FOR gap IN SELECT * FROM unnest(array_prepend(p_from, yhi), array_append(ylo, p_to)) x(lo, hi) WHERE x.lo < x.hi LOOP
    l := date_trunc('hour', gap.lo, dzone);
    IF NOT isfinite(gap.hi) AND gap.lo = zhi AND date_trunc('hour', now(), dzone) <> date_bin('1 hour'::interval, now(), '1970-01-01 00:00:00+00'::timestamptz) THEN
      -- after the newest zone hour, while the zone's hours are not UTC hours (the triggers would
      -- have stored any row there): a raw piece that finds nothing
      RETURN QUERY SELECT 'r'::"char", gap.lo, gap.hi, NULL::timestamptz;
    ELSIF isfinite(gap.lo) AND isfinite(gap.hi) AND l = date_trunc('hour', gap.hi - interval '1 microsecond', dzone) THEN
      RETURN QUERY
      SELECT x.lvl, x.lo, x.hi, l
      FROM integration_range_bounds(gap.lo, gap.hi, NULL) b
      CROSS JOIN LATERAL (VALUES ('d'::"char", b.d_lo, b.d_hi), ('h', b.h_lo, b.d_lo), ('h', b.d_hi, b.h_hi),
                                 ('m', b.m_lo, b.h_lo), ('m', b.h_hi, b.m_hi), ('r', gap.lo, b.m_lo), ('r', b.m_hi, gap.hi)) x(lvl, lo, hi)
      WHERE x.lo < x.hi;
    ELSE
      RETURN QUERY SELECT * FROM integration_zone_pieces(gap.lo, gap.hi, interval '1 hour', p_zone);
    END IF;
  END LOOP;
END
$$;

-- ---- the *_zone names, kept for saved dashboards -----------------------------------------------
-- Until each range read became one function with the zone its fourth argument (05_range_reads.sql:
-- integration_range_agg(p_from, p_to, p_width, p_zone) and the other three), a read in a zone was
-- its own function of these names, and dashboards users saved before then call them. Nothing of
-- ours calls them: test/store/sql-consumers.test.ts fails a dashboard panel, alert query, bench or
-- API query that does. One SQL statement each (inlined into the caller's query), same grants.

/** integration_range_agg(p_from, p_to, p_width, p_zone) under its old name. */
CREATE OR REPLACE FUNCTION integration_range_agg_zone(p_from timestamptz, p_to timestamptz, p_width interval, p_zone text)
RETURNS TABLE (bucket timestamptz, service_name text, action text, status text, calls bigint, duration_n bigint,
               duration_sum bigint, duration_min integer, duration_max integer, retry_sum bigint, retried bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT * FROM integration_range_agg(p_from, p_to, p_width, p_zone);
END;

/** integration_range_agg_service(p_from, p_to, p_width, p_zone) under its old name. */
CREATE OR REPLACE FUNCTION integration_range_agg_service_zone(p_from timestamptz, p_to timestamptz, p_width interval, p_zone text)
RETURNS TABLE (bucket timestamptz, service_name text, calls bigint, failed bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT * FROM integration_range_agg_service(p_from, p_to, p_width, p_zone);
END;

/** integration_hist_range(p_from, p_to, p_width, p_zone) under its old name. */
CREATE OR REPLACE FUNCTION integration_hist_range_zone(p_from timestamptz, p_to timestamptz, p_width interval, p_zone text)
RETURNS TABLE (bucket timestamptz, service_name text, action text, status text, bin integer, n bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT * FROM integration_hist_range(p_from, p_to, p_width, p_zone);
END;

/** integration_hist_range_service(p_from, p_to, p_width, p_zone) under its old name. */
CREATE OR REPLACE FUNCTION integration_hist_range_service_zone(p_from timestamptz, p_to timestamptz, p_width interval, p_zone text)
RETURNS TABLE (bucket timestamptz, service_name text, bin integer, n bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT * FROM integration_hist_range_service(p_from, p_to, p_width, p_zone);
END;

/**
 * Every bucket start of [p_from, p_to) for p_width-wide buckets of zone p_zone, in order (series
 * fill their empty buckets from it): the pieces' labels, the unit starts of self-labelled pieces,
 * and the labels of raw pieces' minutes and ends.
 */
CREATE OR REPLACE FUNCTION integration_zone_buckets(p_from timestamptz, p_to timestamptz, p_width interval, p_zone text)
RETURNS TABLE (bucket timestamptz)
LANGUAGE sql STABLE
BEGIN ATOMIC
  WITH z AS (SELECT * FROM integration_zone_pieces(p_from, p_to, p_width, p_zone))
  SELECT DISTINCT b FROM (
    SELECT z.label AS b FROM z WHERE z.label IS NOT NULL
    UNION ALL
    SELECT g.b FROM z CROSS JOIN LATERAL generate_series(z.lo, z.hi - interval '1 microsecond',
      CASE z.lvl WHEN 'D' THEN interval '24 hours' WHEN 'H' THEN interval '1 hour' ELSE interval '1 minute' END) g(b)
    WHERE z.lvl IN ('D', 'H', 'M')
    UNION ALL
    -- a raw piece's rows are labelled one by one: a minute apart from its start (buckets start on
    -- whole minutes and are at least a minute wide, so each one inside it holds such a point; since
    -- the minute window, 015, a raw piece may be an hour or a run of minutes long) and its end
    SELECT integration_zone_bucket(v.e, p_width, p_zone) FROM z CROSS JOIN LATERAL (
      SELECT g.e FROM generate_series(CASE WHEN isfinite(z.lo) AND isfinite(z.hi) THEN z.lo ELSE '2000-01-02 00:00:00+00'::timestamptz END,
                                      CASE WHEN isfinite(z.lo) AND isfinite(z.hi) THEN z.hi - interval '1 microsecond' ELSE '2000-01-01 00:00:00+00'::timestamptz END,
                                      interval '1 minute') g(e)
      UNION ALL VALUES (z.lo), (z.hi - interval '1 microsecond')) v(e)
    WHERE z.lvl = 'r' AND z.label IS NULL AND isfinite(v.e)
  ) s ORDER BY 1;
END;

REVOKE ALL ON FUNCTION integration_zone_bucket(timestamptz, interval, text), integration_zone_same_as_utc(text, interval), integration_reads_utc(text, interval),
  integration_zone_pieces(timestamptz, timestamptz, interval, text), integration_zone_day_pieces(timestamptz, timestamptz, interval, text),
  integration_zone_hour_pieces(timestamptz, timestamptz, text), integration_day_zone(text),
  integration_range_agg_zone(timestamptz, timestamptz, interval, text),
  integration_range_agg_service_zone(timestamptz, timestamptz, interval, text),
  integration_hist_range_zone(timestamptz, timestamptz, interval, text),
  integration_hist_range_service_zone(timestamptz, timestamptz, interval, text),
  integration_zone_buckets(timestamptz, timestamptz, interval, text) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_zone_bucket(timestamptz, interval, text), integration_zone_same_as_utc(text, interval), integration_reads_utc(text, interval),
  integration_zone_pieces(timestamptz, timestamptz, interval, text), integration_zone_day_pieces(timestamptz, timestamptz, interval, text),
  integration_zone_hour_pieces(timestamptz, timestamptz, text), integration_day_zone(text),
  integration_range_agg_zone(timestamptz, timestamptz, interval, text),
  integration_range_agg_service_zone(timestamptz, timestamptz, interval, text),
  integration_hist_range_zone(timestamptz, timestamptz, interval, text),
  integration_hist_range_service_zone(timestamptz, timestamptz, interval, text),
  integration_zone_buckets(timestamptz, timestamptz, interval, text) TO authenticated, service_role, integration_monitor_reader;
