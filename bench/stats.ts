/** Small numeric helpers shared by the bench's sections. */

/** Nearest-rank percentile (p in 0..1) of xs. */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}

/** Two decimals under 100, whole numbers above: what the result tables print. */
export const round = (x: number) => (x >= 100 ? Math.round(x) : Math.round(x * 100) / 100);

/** 1000000 → 1M, 100000 → 100k. */
export const human = (n: number) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n));

/** Milliseconds since a process.hrtime.bigint() reading. */
export const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
