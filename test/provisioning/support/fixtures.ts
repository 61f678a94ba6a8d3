/**
 * Fixture calls for the provisioning tests: inserted as the superuser (as an application's
 * service_role writer would), read back only as the Grafana reader role, and aggregated here in
 * plain TypeScript so the expected numbers never come from the SQL under test.
 */
import crypto from 'node:crypto';
import type { Pool, PoolClient } from 'pg';

export interface Call {
  id: string;
  service_name: string;
  action: string;
  status: 'success' | 'failed' | 'pending' | 'retrying';
  duration_ms: number | null;
  retry_count: number;
  created_at: Date;
  related_entity_type: string | null;
  related_entity_id: string | null;
  error_code: string | null;
  error_message: string | null;
}

export function call(p: Partial<Call> & Pick<Call, 'service_name' | 'created_at'>): Call {
  const status = p.status ?? 'success';
  return {
    id: p.id ?? crypto.randomUUID(),
    action: p.action ?? 'send',
    status,
    duration_ms: p.duration_ms === undefined ? 100 : p.duration_ms,
    retry_count: p.retry_count ?? 0,
    related_entity_type: p.related_entity_type ?? null,
    related_entity_id: p.related_entity_id ?? null,
    error_code: p.error_code ?? (status === 'failed' ? '500' : null),
    error_message: p.error_message ?? (status === 'failed' ? 'upstream error' : null),
    ...p,
  } as Call;
}

export async function insertCalls(pool: Pool, calls: Call[]): Promise<void> {
  for (let i = 0; i < calls.length; i += 5000) {
    const chunk = calls.slice(i, i + 5000);
    const col = <K extends keyof Call>(k: K) => chunk.map((c) => c[k]);
    await pool.query(
      `INSERT INTO integration_logs (id, service_name, action, status, duration_ms, retry_count, created_at,
                                     related_entity_type, related_entity_id, error_code, error_message)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::timestamptz[],
                            $8::text[], $9::uuid[], $10::text[], $11::text[])`,
      [
        col('id'),
        col('service_name'),
        col('action'),
        col('status'),
        col('duration_ms'),
        col('retry_count'),
        col('created_at'),
        col('related_entity_type'),
        col('related_entity_id'),
        col('error_code'),
        col('error_message'),
      ],
    );
  }
}

/** Runs `fn` as Grafana's data source role in a transaction that is rolled back. */
export async function asReader<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SET LOCAL ROLE integration_monitor_reader');
    return await fn(c);
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
    c.release();
  }
}

/** percentile_cont(p) over raw values: linear interpolation between order statistics. */
export function percentileCont(values: number[], p: number): number | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (pos - lo) * (s[hi] - s[lo]);
}

export const round2 = (x: number) => Math.round(x * 100) / 100;

/** Group calls by a key; returns a Map in first-seen order. */
export function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(x);
  }
  return m;
}

export const inRange = (c: Call, from: Date, to: Date) => c.created_at >= from && c.created_at < to;
export const minutes = (n: number) => n * 60_000;
