-- with: the repeatable files
-- 017 sparse histograms: one row per bucket and key, the occupied bins in arrays.
--
-- The latency histograms held one row per (bucket, key, bin): at 1M generated calls the per-action
-- hours took 89 MB for 656k rows and the per-service hours 49.5 MB for 514k (bench/results/
-- 2026-12-06-1M-dashboards.md), each row ~60 bytes of header, key and index entry around one count.
-- Now each (bucket, key) is one row with its occupied bins ascending in `bins smallint[]` and their
-- counts in `ns integer[]` (≈ 11 bins a key at that volume); readers expand a row through
-- integration_hist_bins (repeatable/02), the triggers add counts bin by bin on conflict
-- (repeatable/04). Bins run from about -445 to 445 (integration_latency_bin of ±2^31 ms), so a
-- smallint holds every one; a count is at most one bin of one key's day.
--
-- Each table is rebuilt from its rows grouped (every count kept; bins with n = 0 were never kept)
-- under a new name, the old one dropped and the new one renamed: the space is returned at once.
-- Grants as 004 and 008 gave (policies: repeatable/10_policies.sql). The first line makes the
-- migrator apply the repeatable files in this file's transaction (src/db/migrate.ts), so no writer
-- or reader ever runs the functions of the old shape against the new tables; integration_logs is
-- locked against writes first, so a writer waits for the new trigger functions rather than running
-- the old ones, and takes the locks in the triggers' order (raw table before rollups).

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

LOCK TABLE integration_logs IN SHARE ROW EXCLUSIVE MODE;

DO $$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT * FROM (VALUES
      ('integration_latency_hist_hour', 'bucket, service_name, action, status'),
      ('integration_latency_hist_day', 'bucket, service_name, action, status'),
      ('integration_latency_hist_service_hour', 'bucket, service_name'),
      ('integration_latency_hist_service_day', 'bucket, service_name')) v(tbl, keycols)
  LOOP
    EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', t.tbl);
    -- the key columns as they were (LIKE copies their types and NOT NULL), then the arrays
    EXECUTE format('CREATE TABLE %1$I (LIKE %2$I INCLUDING DEFAULTS)', t.tbl || '_sparse', t.tbl);
    EXECUTE format('ALTER TABLE %I DROP COLUMN bin, DROP COLUMN n,
                      ADD COLUMN bins smallint[] NOT NULL, ADD COLUMN ns integer[] NOT NULL', t.tbl || '_sparse');
    EXECUTE format('INSERT INTO %1$I (%3$s, bins, ns)
                    SELECT %3$s, array_agg(bin::smallint ORDER BY bin), array_agg(n::integer ORDER BY bin)
                    FROM %2$I WHERE n <> 0 GROUP BY %3$s ORDER BY %3$s', t.tbl || '_sparse', t.tbl, t.keycols);
    EXECUTE format('DROP TABLE %I', t.tbl);
    EXECUTE format('ALTER TABLE %I RENAME TO %I', t.tbl || '_sparse', t.tbl);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I PRIMARY KEY (%s)', t.tbl, t.tbl || '_pkey', t.keycols);
    -- read-only like every rollup: only the SECURITY DEFINER triggers (the owner) write
    EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, anon, authenticated, service_role', t.tbl);
    EXECUTE format('GRANT SELECT ON %I TO authenticated, service_role, integration_monitor_reader', t.tbl);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.tbl);
  END LOOP;
END
$$;
