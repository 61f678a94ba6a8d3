/**
 * The hand-made dashboard a user would build on the seed's schema (bench/seed-schema.ts) with Grafana's
 * stock PostgreSQL data source: every panel straight over the raw table or the seed's two views,
 * written with Grafana's macros as its query editor suggests. The dashboard bench (bench/dashboards.ts)
 * expands and times it beside the provisioned dashboards, on the same generated rows.
 * No maxDataPoints is set, so Grafana sizes $__interval from the panel's width (1,000 px in the bench).
 */
export interface HandMadePanel {
  title: string;
  rawSql: string;
}

export const SEED_DASHBOARD: { uid: string; title: string; panels: HandMadePanel[] } = {
  uid: 'seed-hand-made',
  title: 'Hand-made on the seed schema',
  panels: [
    {
      title: 'Failure rate by service',
      rawSql: `SELECT $__timeGroupAlias(created_at, $__interval), service_name AS metric,
       round(100.0 * count(*) FILTER (WHERE status = 'failed') / count(*), 2) AS value
FROM seed.integration_logs
WHERE $__timeFilter(created_at)
GROUP BY 1, 2
ORDER BY 1, 2`,
    },
    {
      title: 'Call volume by service',
      rawSql: `SELECT $__timeGroupAlias(created_at, $__interval), service_name AS metric, count(*) AS value
FROM seed.integration_logs
WHERE $__timeFilter(created_at)
GROUP BY 1, 2
ORDER BY 1, 2`,
    },
    {
      title: 'Latency p95 by service',
      rawSql: `SELECT $__timeGroupAlias(created_at, $__interval), service_name AS metric,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS value
FROM seed.integration_logs
WHERE $__timeFilter(created_at) AND duration_ms IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 2`,
    },
    {
      title: 'Percentiles over the range',
      rawSql: `SELECT service_name AS "Service",
       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS "p50",
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS "p95",
       percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS "p99"
FROM seed.integration_logs
WHERE $__timeFilter(created_at)
GROUP BY 1
ORDER BY 1`,
    },
    {
      title: 'Health',
      rawSql: `SELECT service_name AS "Service", count(*) AS "Calls",
       sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS "Succeeded",
       sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS "Failed",
       round(sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END)::numeric / NULLIF(count(*), 0) * 100, 2) AS "Failure rate",
       round(avg(duration_ms), 1) AS "Avg"
FROM seed.integration_logs
WHERE $__timeFilter(created_at)
GROUP BY 1
ORDER BY 1`,
    },
    { title: 'Hourly view (seed.integration_stats_hourly)', rawSql: 'SELECT * FROM seed.integration_stats_hourly ORDER BY hour, service_name, action, status' },
    { title: 'Daily view (seed.integration_stats_daily)', rawSql: 'SELECT * FROM seed.integration_stats_daily ORDER BY day, service_name, action, status' },
    {
      title: 'Recent failures',
      rawSql: `SELECT created_at AS "time", service_name AS "Service", action AS "Action", error_code AS "Code",
       error_message AS "Error", duration_ms AS "Duration", related_entity_type AS "Entity type", related_entity_id AS "Entity id"
FROM seed.integration_logs
WHERE status = 'failed' AND $__timeFilter(created_at)
ORDER BY created_at DESC
LIMIT 100`,
    },
  ],
};
