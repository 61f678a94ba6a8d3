-- 016 seed adoption: the bookkeeping of `migrate` adopting a database that already ran the seed's
-- MIGRATION 004 (src/db/adopt-seed.ts; README.md "Already ran MIGRATION 004?").
--
-- In one short transaction `migrate` renames the seed's table aside (integration_logs_seed004),
-- creates ours under the name, and copies into it the rows that writers may still touch (pending and
-- retrying ones of the last day, those of the last minutes, those with a NULL created_at updated in
-- the last day); the rest of the history is then copied in batches while writers carry on, newest
-- first, each batch committed with the position it reached, so an interrupted run continues where
-- it stopped. The functions: repeatable/12_seed_adoption.sql.

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

-- One row per adopted table (there is one: integration_logs_seed004); owner-only like the settings.
CREATE TABLE integration_monitor_adoption (
  source text PRIMARY KEY,
  -- the swap's time: a row whose created_at and updated_at are both NULL gets it as its created_at
  swapped_at timestamptz NOT NULL,
  -- rows created at or after recent_from, pending/retrying ones created at or after pending_from, and
  -- those with a NULL created_at updated since pending_from were copied in the swap; older
  -- pending/retrying ones count as abandoned calls and come with the history
  recent_from timestamptz NOT NULL,
  pending_from timestamptz NOT NULL,
  copied_in_swap bigint NOT NULL,
  -- rows whose created_at was NULL: given their updated_at, or swapped_at when that is NULL too
  null_created_at bigint NOT NULL,
  null_created_and_updated_at bigint NOT NULL,
  -- rows copied so far (swap and batches) and the (created_at, id) the batches have gone below
  copied bigint NOT NULL,
  below_created_at timestamptz,
  below_id uuid,
  source_rows bigint,
  finished_at timestamptz
);
REVOKE ALL ON integration_monitor_adoption FROM PUBLIC, anon, authenticated, service_role;
ALTER TABLE integration_monitor_adoption ENABLE ROW LEVEL SECURITY;
