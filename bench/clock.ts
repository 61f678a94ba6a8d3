/**
 * The bench's "now": the end of the generated rows. A fresh run generates rows ending at the real
 * now, so the two agree; a BENCH_REUSE=1 run hours later measures the same ranges of the same rows
 * instead of ranges whose recent end has no data. (SQL that calls now() itself, such as the seed's
 * views, still reads up to the real now: for their 24-hour and 30-day windows a gap of a few
 * hours is a small part.)
 */
let offsetMs = 0;

/** Makes `benchNow()` the given data end from here on. */
export function setBenchNow(dataEnd: Date): void {
  offsetMs = Date.now() - dataEnd.getTime();
}

export function benchNow(): number {
  return Date.now() - offsetMs;
}
