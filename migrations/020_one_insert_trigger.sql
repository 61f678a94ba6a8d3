-- with: the repeatable files
-- 020 one INSERT trigger for every rollup level.
--
-- An INSERT into integration_logs fired three statement triggers for the rollups: the stats,
-- histogram and pairs levels (integration_rollup_on_insert), the per-service histograms and the
-- per-service counts (integration_service_hist_on_write, integration_service_rollup_on_write, 004).
-- The last two built their statements as text and ran them through EXECUTE, planned again on every
-- insert. integration_rollup_on_insert is now generated from the level table
-- (repeatable/04_rollup_triggers.sql, integration_rollup_levels) and writes every level itself,
-- in the same lock order, as static statements with cached plans; so the two per-service INSERT
-- triggers go. Their UPDATE and DELETE triggers stay.
--
-- The first line has migrate apply the repeatable files in this transaction: no INSERT may see the
-- triggers dropped but the new trigger function not yet in place (it would miss the per-service
-- levels), nor the reverse (it would count them twice).

DROP TRIGGER IF EXISTS integration_logs_service_hist_insert ON integration_logs;
DROP TRIGGER IF EXISTS integration_logs_service_rollup_insert ON integration_logs;
