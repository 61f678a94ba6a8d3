/**
 * The rows `rows` (columns `keys`…, bin, n: a histogram bin by bin, say raw rows grouped) as a
 * latency histogram table holds them since migration 017: one row per key, its nonzero bins
 * ascending in `bins`, their counts in `ns`. Comparing a table with this compares every count,
 * the arrays' order and that no bin of 0 and no key without bins is kept.
 */
export function sparseHist(rows: string, keys: string): string {
  return `SELECT ${keys}, array_agg(bin::smallint ORDER BY bin) AS bins, array_agg(n::integer ORDER BY bin) AS ns
          FROM (${rows}) g WHERE n <> 0 GROUP BY ${keys}`;
}
