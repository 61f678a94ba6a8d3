/**
 * Where the bytes go: every table of ours (public) and the seed's (schema seed), partitions counted
 * under their parent, split into heap, indexes and TOAST, so the storage line of the bench can be
 * read relation by relation.
 */
import type { ClientBase } from 'pg';

export interface RelationSize {
  schema: string;
  relation: string;
  partitions: number;
  rows: number;
  heapMb: number;
  indexMb: number;
  toastMb: number;
  totalMb: number;
}

export async function storageBreakdown(c: ClientBase): Promise<RelationSize[]> {
  // The SQL lives with the bench (not src/store/queries.ts): it is a measurement, not an app read.
  const { rows } = await c.query(`
    WITH rel AS (
      SELECT c.oid, n.nspname, coalesce(p.relname, c.relname) AS name, (i.inhparent IS NOT NULL) AS is_part, greatest(c.reltuples, 0) AS tuples
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
      LEFT JOIN pg_class p ON p.oid = i.inhparent
      WHERE c.relkind = 'r' AND n.nspname IN ('public', 'seed')
        AND (c.relname LIKE 'integration\\_%' OR n.nspname = 'seed')
    )
    SELECT nspname AS schema, name AS relation, count(*) FILTER (WHERE is_part) AS partitions, sum(tuples)::bigint AS rows,
           sum(pg_relation_size(oid)) AS heap, sum(pg_indexes_size(oid)) AS idx,
           sum(pg_total_relation_size(oid) - pg_relation_size(oid) - pg_indexes_size(oid)) AS toast
    FROM rel
    GROUP BY 1, 2
    ORDER BY 1, sum(pg_total_relation_size(oid)) DESC`);
  const mb = (b: string) => Math.round((Number(b) / 1048576) * 10) / 10;
  return rows.map((r) => {
    const heapMb = mb(r.heap);
    const indexMb = mb(r.idx);
    const toastMb = mb(r.toast);
    return {
      schema: r.schema,
      relation: r.relation,
      partitions: Number(r.partitions),
      rows: Number(r.rows),
      heapMb,
      indexMb,
      toastMb,
      totalMb: Math.round((heapMb + indexMb + toastMb) * 10) / 10,
    };
  });
}

export function storageMarkdown(sizes: RelationSize[], tag: string): string {
  const head = ['schema', 'relation', 'partitions', 'rows (estimate)', 'heap MB', 'indexes MB', 'TOAST MB', 'total MB'];
  const body = sizes.map((s) => [s.schema, s.relation, s.partitions || '', s.rows, s.heapMb, s.indexMb, s.toastMb, s.totalMb]);
  const total = (schema: string) => Math.round(sizes.filter((s) => s.schema === schema).reduce((a, s) => a + s.totalMb, 0));
  return (
    `## Storage by relation ${tag}\n\nours (public) ${total('public')} MB, seed ${total('seed')} MB (${Math.round((total('public') / total('seed')) * 100) / 100}×)\n\n` +
    [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((b) => `| ${b.join(' | ')} |`)].join('\n') +
    '\n'
  );
}

/** The raw table's indexes, each summed over its partitions, in bytes (how compaction shrinks them). */
export async function rawIndexBytes(c: ClientBase): Promise<Map<string, number>> {
  const { rows } = await c.query(`
    SELECT pg_partition_root(x.indexrelid)::text AS index, sum(pg_relation_size(x.indexrelid))::bigint AS bytes
    FROM pg_inherits i JOIN pg_index x ON x.indrelid = i.inhrelid
    WHERE i.inhparent = 'integration_logs'::regclass
    GROUP BY 1 ORDER BY 2 DESC`);
  return new Map(rows.map((r) => [r.index as string, Number(r.bytes)]));
}

/** Each raw index before and after compaction (repeatable/15_compaction.sql), as a markdown table. */
export function compactionMarkdown(before: Map<string, number>, after: Map<string, number>, tag: string): string {
  const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;
  const rows = [...before].map(([index, b]) => [index, mb(b), mb(after.get(index) ?? 0)]);
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  rows.push(["all of integration_logs' indexes", mb(sum(before)), mb(sum(after))]);
  return `## Raw indexes before and after compaction ${tag}\n\n| index | before MB | after MB |\n|---|---|---|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`;
}
