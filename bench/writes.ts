/**
 * What an UPDATE or DELETE of N rows costs with the rollup triggers, beside the same statement with
 * the triggers off (session_replication_role = replica) on the same table and rows: issue 23's
 * target is at most 20× at 50k and at 1M rows. Each statement runs in a transaction that is rolled
 * back, so the loaded database is left as it was; the rows touched are the N newest (a dense
 * recent range, as a user's delete of a test service's last days would be) or N spread over all
 * the rows (the recorder's late updates of calls that outlived pendingAfterMs).
 * BENCH_WRITE_SIZES (default "50000") lists the Ns.
 */
import type { Client } from 'pg';
import { STAGING_TABLE } from './data';
import { human, ms, round } from './stats';
import type { BenchRow } from './types';

async function timed(c: Client, sql: string, params: unknown[], triggers: boolean): Promise<number> {
  await c.query('BEGIN');
  try {
    if (!triggers) await c.query('SET LOCAL session_replication_role = replica');
    const t = process.hrtime.bigint();
    await c.query(sql, params);
    return ms(t);
  } finally {
    await c.query('ROLLBACK');
  }
}

export async function writeCosts(c: Client, size: number, log: (line: string) => void): Promise<BenchRow[]> {
  const out: BenchRow[] = [];
  const sizes = (process.env.BENCH_WRITE_SIZES ?? '50000').split(',').map(Number);
  for (const n of sizes) {
    if (!(n > 0) || n > size) continue;
    const tag = `${human(n)} of @${human(size)}`;
    // the n-th newest call: the newest n are those at or after it
    const { rows: edge } = await c.query(`SELECT created_at FROM ${STAGING_TABLE} ORDER BY created_at DESC OFFSET $1 LIMIT 1`, [n - 1]);
    const since = edge[0].created_at as Date;
    const every = Math.max(1, Math.floor(size / n));
    const statements: Array<[string, string, unknown[]]> = [
      [`DELETE the ${tag} newest rows`, `DELETE FROM integration_logs WHERE created_at >= $1`, [since]],
      [`UPDATE status and duration of the ${tag} newest rows`, `UPDATE integration_logs SET status = 'success', duration_ms = duration_ms + 1 WHERE created_at >= $1`, [since]],
      [
        `UPDATE duration of ${tag} rows spread over the whole range`,
        `UPDATE integration_logs SET duration_ms = duration_ms + 1 WHERE id IN (SELECT id FROM integration_logs WHERE hashtext(id::text) % $1 = 0)`,
        [every],
      ],
    ];
    for (const [name, sql, params] of statements) {
      const plain = await timed(c, sql, params, false);
      const ours = await timed(c, sql, params, true);
      log(`[writes] ${name}: with triggers ${round(ours)} ms, without ${round(plain)} ms (×${round(ours / plain)})`);
      out.push({ section: 'writes', name, ours: round(ours), unit: 'ms', note: `the same statement with the triggers off: ${round(plain)} ms; with them ${round(ours / plain)}× that` });
    }
  }
  return out;
}
