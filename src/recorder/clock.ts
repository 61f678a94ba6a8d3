import { performance } from 'node:perf_hooks';

/** Monotonic milliseconds for durations: immune to wall-clock steps (NTP, DST, manual changes). */
export const monotonicMs = (): number => performance.now();

/** Wall clock for created_at/updated_at. */
export const wallMs = (): number => Date.now();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
