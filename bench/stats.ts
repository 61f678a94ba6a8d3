/** Small numeric helpers shared by the bench's sections. */
import { prng } from '../test/helpers/prng';

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

/** Median of xs (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A median with its bootstrap 95% confidence interval. */
export interface MedianCI {
  median: number;
  lo: number;
  hi: number;
}

/**
 * The median of xs and a percentile-bootstrap 95% confidence interval for it: xs resampled with
 * replacement `resamples` times (seeded, so the same data always give the same interval).
 */
export function medianCI(xs: number[], resamples = 2_000, seed = 22): MedianCI {
  const rnd = prng(seed);
  const meds: number[] = [];
  const sample = new Array<number>(xs.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < xs.length; i++) sample[i] = xs[Math.floor(rnd() * xs.length)];
    meds.push(median(sample));
  }
  return { median: median(xs), lo: pct(meds, 0.025), hi: pct(meds, 0.975) };
}
