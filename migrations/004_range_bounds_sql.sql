-- 004 integration_range_bounds as a plain SQL expression.
--
-- The plpgsql version (002) cost a function call per query (20 ms on a cold session for compiling
-- it, measurable on warm ones) and, being opaque to the planner, kept it from seeing the bounds.
-- As a SQL function (STABLE: timestamptz ± interval is stable, and an IMMUTABLE function with a
-- stable body is not inlined) it is inlined into integration_range_agg / integration_hist_range;
-- the bounds become expressions the executor evaluates once at startup, which also lets it prune
-- raw-row partitions before running (initial pruning) instead of per rescan.
-- Same contract as 002: day rollups cover [d_lo, d_hi), hour [h_lo, d_lo) ∪ [d_hi, h_hi), minute
-- [m_lo, h_lo) ∪ [h_hi, m_hi), raw rows [p_from, m_lo) ∪ [m_hi, p_to); a level is used only when
-- p_width is a multiple of it; empty pieces collapse onto the neighbouring bound.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

CREATE OR REPLACE FUNCTION integration_range_bounds(p_from timestamptz, p_to timestamptz, p_width interval)
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
