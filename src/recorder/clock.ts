import { performance } from 'node:perf_hooks';

/** Monotonic milliseconds for durations: immune to wall-clock steps (NTP, DST, manual changes). */
export const monotonicMs = (): number => performance.now();

/** Wall clock for created_at/updated_at. */
export const wallMs = (): number => Date.now();

// wallAt's anchor: a wall-clock reading and the monotonic time it was taken at.
let anchorWall = Date.now();
let anchorMono = performance.now();

/**
 * The wall-clock time of a monotonic reading: the wall clock read at most 100 ms earlier plus the
 * monotonic time since, so that an event needs one clock read instead of two (a wall-clock step
 * shows within 100 ms, as the next anchor).
 */
export function wallAt(mono: number): number {
  if (mono - anchorMono > 100 || mono < anchorMono) {
    anchorWall = Date.now();
    anchorMono = performance.now();
  }
  return Math.floor(anchorWall + (mono - anchorMono));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
