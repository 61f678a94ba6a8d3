/** Monotonic milliseconds for durations: immune to wall-clock steps (NTP, DST, manual changes). */
export declare const monotonicMs: () => number;
/** Wall clock for created_at/updated_at. */
export declare const wallMs: () => number;
export declare const sleep: (ms: number) => Promise<void>;
