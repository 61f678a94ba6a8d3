"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.sleep = exports.wallMs = exports.monotonicMs = void 0;
const node_perf_hooks_1 = require("node:perf_hooks");
/** Monotonic milliseconds for durations: immune to wall-clock steps (NTP, DST, manual changes). */
const monotonicMs = () => node_perf_hooks_1.performance.now();
exports.monotonicMs = monotonicMs;
/** Wall clock for created_at/updated_at. */
const wallMs = () => Date.now();
exports.wallMs = wallMs;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
exports.sleep = sleep;
//# sourceMappingURL=clock.js.map