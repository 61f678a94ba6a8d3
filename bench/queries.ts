/**
 * The dashboard's queries, each in two forms over the same rows: the seed's (its views and its
 * report's SQL, on schema `seed`) and ours (the views and src/store/queries.ts, on public, run as
 * `authenticated` so RLS is part of the cost, exactly as the API runs them).
 */
import type { ClientBase } from 'pg';
import { queryFailures, queryHealth, queryLogs, queryStats, queryTimeseries } from '../src/store/queries';
import { benchNow } from './clock';

export interface DashboardQuery {
  name: string;
  seed: (c: ClientBase) => Promise<unknown>;
  ours: (c: ClientBase) => Promise<unknown>;
}

const DAY = 86400e3;

export function dashboardQueries(entity: { type: string; id: string }): DashboardQuery[] {
  const now = () => new Date(benchNow());
  return [
    {
      name: 'hourly view (24 h)',
      seed: (c) => c.query('SELECT * FROM seed.integration_stats_hourly'),
      ours: (c) => c.query('SELECT * FROM integration_stats_hourly'),
    },
    {
      name: 'daily view (30 d)',
      seed: (c) => c.query('SELECT * FROM seed.integration_stats_daily ORDER BY day DESC'),
      ours: (c) => c.query('SELECT * FROM integration_stats_daily ORDER BY day DESC'),
    },
    {
      name: 'health (24 h)',
      // The seed report's /health query.
      seed: (c) =>
        c.query(`SELECT service_name, count(*) AS total_requests,
                        sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS success_count,
                        sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed_count,
                        round((sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END)::numeric / NULLIF(count(*), 0)) * 100, 2) AS failure_rate_percent,
                        avg(duration_ms) AS avg_duration_ms
                 FROM seed.integration_logs WHERE created_at >= now() - interval '24 hours' GROUP BY service_name`),
      ours: (c) => queryHealth(c, { from: new Date(benchNow() - DAY), to: now() }),
    },
    {
      name: 'failure-rate series (7 d, 1 h)',
      seed: (c) =>
        c.query(`SELECT date_trunc('hour', created_at) AS t,
                        round(100 * count(*) FILTER (WHERE status = 'failed')::numeric / count(*), 2) AS v
                 FROM seed.integration_logs WHERE created_at >= now() - interval '7 days' GROUP BY 1 ORDER BY 1`),
      ours: (c) => queryTimeseries(c, { metric: 'failure_rate', from: new Date(benchNow() - 7 * DAY), to: now(), intervalMs: 3600e3, filters: {} }),
    },
    {
      name: 'p50/p95/p99 per service (30 d)',
      seed: (c) =>
        c.query(`SELECT service_name, percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms)
                 FROM seed.integration_logs WHERE created_at >= now() - interval '30 days' GROUP BY service_name`),
      ours: (c) =>
        c.query(
          `SELECT service_name,
                  integration_hist_percentile(array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin), 0.5) AS p50,
                  integration_hist_percentile(array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin), 0.95) AS p95,
                  integration_hist_percentile(array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin), 0.99) AS p99
           FROM integration_hist_range_service(now() - interval '30 days', now()) h
           GROUP BY service_name`,
        ),
    },
    {
      name: 'p95 series per service (30 d, 1 d)',
      seed: (c) =>
        c.query(`SELECT service_name, date_trunc('day', created_at), percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)
                 FROM seed.integration_logs WHERE created_at >= now() - interval '30 days' GROUP BY 1, 2`),
      ours: (c) => queryTimeseries(c, { metric: 'latency_p95', from: new Date(benchNow() - 30 * DAY), to: now(), intervalMs: DAY, groupBy: 'service', filters: {} }),
    },
    {
      name: 'failures list (latest 100)',
      seed: (c) => c.query(`SELECT * FROM seed.integration_logs WHERE status = 'failed' ORDER BY created_at DESC LIMIT 100`),
      ours: (c) => queryFailures(c, { limit: 100, filters: {} }),
    },
    {
      name: 'entity drill-down (100)',
      seed: (c) => c.query(`SELECT * FROM seed.integration_logs WHERE related_entity_type = $1 AND related_entity_id = $2 ORDER BY created_at DESC LIMIT 100`, [entity.type, entity.id]),
      ours: (c) => queryLogs(c, { limit: 100, filters: {}, entityType: entity.type, entityId: entity.id }),
    },
  ];
}

/** Queries whose buckets follow a time zone: ours given the zone (the views read the session's). */
export interface ZoneQuery {
  name: string;
  seed?: (c: ClientBase) => Promise<unknown>;
  ours: (c: ClientBase, zone: string) => Promise<unknown>;
}

export function zoneQueries(): ZoneQuery[] {
  return [
    {
      name: 'hourly view (24 h)',
      seed: (c) => c.query('SELECT * FROM seed.integration_stats_hourly'),
      ours: (c) => c.query('SELECT * FROM integration_stats_hourly'),
    },
    {
      name: 'daily view (30 d)',
      seed: (c) => c.query('SELECT * FROM seed.integration_stats_daily ORDER BY day DESC'),
      ours: (c) => c.query('SELECT * FROM integration_stats_daily ORDER BY day DESC'),
    },
    {
      name: '/stats query (30 d, day)',
      ours: (c, zone) => queryStats(c, { from: new Date(benchNow() - 30 * DAY), to: new Date(benchNow()), interval: 'day', timeZone: zone, filters: {} }),
    },
  ];
}
