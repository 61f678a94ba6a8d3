-- Latency histogram bins and the percentile of a histogram (first created by 004; bins as 007 left them).
-- Latency histogram bins: log scale with growth 1.05, so a bin's geometric middle is within 2.47 %
-- (sqrt(1.05)) of every value in it. 0 ms has bin 0; negative durations mirror positive ones.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- Not STRICT, so the planner inlines them (a STRICT SQL function is inlined only when its body is
-- provably strict, and a CASE is not): called per row by the rollup triggers and the raw edges,
-- the function call cost ~3 us a row against ~0.35 us inlined (sum over 580k rows: 951 ms against
-- 113 ms). A NULL argument still yields NULL (every branch of the CASE is NULL for it).
CREATE OR REPLACE FUNCTION integration_latency_bin(ms integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN ms = 0 THEN 0
  WHEN ms > 0 THEN 1 + floor(ln(ms::float8) / ln(1.05::float8))::integer
  ELSE -(1 + floor(ln(-ms::float8) / ln(1.05::float8))::integer)
END;

CREATE OR REPLACE FUNCTION integration_latency_bin_value(bin integer) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
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
CREATE OR REPLACE FUNCTION integration_hist_percentile(bins integer[], ns bigint[], p float8) RETURNS float8
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

/**
 * The (bin, n) rows of one stored histogram row (017: the occupied bins ascending in `bins`, their
 * counts in `ns`), in the arrays' order. Every reader of the histogram tables expands them through this one
 * definition; a set-returning SQL function of one SELECT, so the planner inlines it into the
 * caller's query. The two unnests stand in the SELECT list (they step together, pair by pair):
 * planned as a ProjectSet per row, where `FROM unnest(bins, ns)` is a function scan that fills a
 * tuplestore per row, 1.5-2x the time (656k bins at 1M calls: 77-112 against 131-148 ms).
 */
CREATE OR REPLACE FUNCTION integration_hist_bins(bins smallint[], ns integer[])
RETURNS TABLE (bin integer, n bigint)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT unnest(bins)::integer, unnest(ns)::bigint $$;
