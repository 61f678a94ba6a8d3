/**
 * The seed's MIGRATION 004, reconstructed literally from its report (../shared/seed): plain table,
 * its seven indexes (the primary key and six more), its two views grouping raw rows, the
 * DELETE-based `cleanup_old_integration_logs()` returning void and, when `rls`, row-level security
 * with its two policies (service_role: everything; authenticated: read). One text for every user:
 * the bench's baseline (schema `seed`, below) and the adoption tests (test/db/adopt-seed*.test.ts),
 * which build it in `public` the way the user's database has it.
 * The policies need the roles service_role and authenticated (Supabase has them).
 */
export function seedMigration004Sql(schema: string, opts: { rls: boolean }): string {
  const s = `"${schema.replace(/"/g, '""')}"`;
  const rls = `
ALTER TABLE ${s}.integration_logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY integration_logs_service_role_all ON ${s}.integration_logs FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY integration_logs_read_authenticated ON ${s}.integration_logs FOR SELECT TO authenticated USING (true);
`;
  return `
CREATE TABLE ${s}.integration_logs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
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
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);
CREATE INDEX idx_integration_logs_service_name ON ${s}.integration_logs (service_name);
CREATE INDEX idx_integration_logs_status ON ${s}.integration_logs (status);
CREATE INDEX idx_integration_logs_created_at ON ${s}.integration_logs (created_at DESC);
CREATE INDEX idx_integration_logs_service_status ON ${s}.integration_logs (service_name, status);
CREATE INDEX idx_integration_logs_entity ON ${s}.integration_logs (related_entity_type, related_entity_id) WHERE related_entity_id IS NOT NULL;
CREATE INDEX idx_integration_logs_failed ON ${s}.integration_logs (created_at DESC) WHERE status = 'failed';

CREATE VIEW ${s}.integration_stats_hourly AS
SELECT service_name, action, status, date_trunc('hour', created_at) AS hour, count(*) AS count,
       avg(duration_ms) AS avg_duration_ms, min(duration_ms) AS min_duration_ms, max(duration_ms) AS max_duration_ms
FROM ${s}.integration_logs
WHERE created_at >= now() - interval '24 hours'
GROUP BY service_name, action, status, date_trunc('hour', created_at);

CREATE VIEW ${s}.integration_stats_daily AS
SELECT service_name, action, status, date_trunc('day', created_at) AS day, count(*) AS count,
       avg(duration_ms) AS avg_duration_ms, min(duration_ms) AS min_duration_ms, max(duration_ms) AS max_duration_ms,
       sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed_count,
       sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS success_count,
       round(sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END)::numeric / NULLIF(count(*), 0) * 100, 2) AS failure_rate_percent
FROM ${s}.integration_logs
WHERE created_at >= now() - interval '30 days'
GROUP BY service_name, action, status, date_trunc('day', created_at);

CREATE FUNCTION ${s}.cleanup_old_integration_logs() RETURNS void AS $$
BEGIN
  DELETE FROM ${s}.integration_logs WHERE created_at < now() - interval '90 days';
END;
$$ LANGUAGE plpgsql;
${opts.rls ? rls : ''}`;
}

/** The bench's baseline: the seed's design in schema `seed`, beside ours in public (no RLS: the bench reads as the owner). */
export const SEED_SCHEMA_SQL = `
DROP SCHEMA IF EXISTS seed CASCADE;
CREATE SCHEMA seed;
${seedMigration004Sql('seed', { rls: false })}`;
