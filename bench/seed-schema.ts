/**
 * The seed's design, reconstructed literally from its report (../shared/seed) in schema `seed`:
 * plain table, its seven indexes, its two views grouping raw rows, and DELETE-based cleanup.
 * Used only by the bench, as the baseline the same rows are measured against.
 */
export const SEED_SCHEMA_SQL = `
DROP SCHEMA IF EXISTS seed CASCADE;
CREATE SCHEMA seed;
CREATE TABLE seed.integration_logs (
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
CREATE INDEX idx_integration_logs_service_name ON seed.integration_logs (service_name);
CREATE INDEX idx_integration_logs_status ON seed.integration_logs (status);
CREATE INDEX idx_integration_logs_created_at ON seed.integration_logs (created_at DESC);
CREATE INDEX idx_integration_logs_service_status ON seed.integration_logs (service_name, status);
CREATE INDEX idx_integration_logs_entity ON seed.integration_logs (related_entity_type, related_entity_id) WHERE related_entity_id IS NOT NULL;
CREATE INDEX idx_integration_logs_failed ON seed.integration_logs (created_at DESC) WHERE status = 'failed';

CREATE VIEW seed.integration_stats_hourly AS
SELECT service_name, action, status, date_trunc('hour', created_at) AS hour, count(*) AS count,
       avg(duration_ms) AS avg_duration_ms, min(duration_ms) AS min_duration_ms, max(duration_ms) AS max_duration_ms
FROM seed.integration_logs
WHERE created_at >= now() - interval '24 hours'
GROUP BY service_name, action, status, date_trunc('hour', created_at);

CREATE VIEW seed.integration_stats_daily AS
SELECT service_name, action, status, date_trunc('day', created_at) AS day, count(*) AS count,
       avg(duration_ms) AS avg_duration_ms, min(duration_ms) AS min_duration_ms, max(duration_ms) AS max_duration_ms,
       sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed_count,
       sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS success_count,
       round(sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END)::numeric / NULLIF(count(*), 0) * 100, 2) AS failure_rate_percent
FROM seed.integration_logs
WHERE created_at >= now() - interval '30 days'
GROUP BY service_name, action, status, date_trunc('day', created_at);

CREATE FUNCTION seed.cleanup_old_integration_logs() RETURNS void AS $$
BEGIN
  DELETE FROM seed.integration_logs WHERE created_at < now() - interval '90 days';
END;
$$ LANGUAGE plpgsql;
`;
