/**
 * ok / degraded / down for one service over the health window. Rates are only judged on enough
 * calls: the seed's "1 failed of 1 = 100 %" would page someone at 3 a.m., so below `minRequests` a
 * service can at worst be `degraded`, and only when nearly everything it did failed.
 */
import type { HealthState } from './contract';
import type { HealthNumbers } from './queries';

export interface HealthThresholds {
  /** Calls in the window needed before a failure rate can make a service `down`. */
  minRequests: number;
  /** Failure rate (percent) at or above which a service is `degraded`. */
  degradedFailureRatePercent: number;
  /** Failure rate (percent) at or above which a service is `down`. */
  downFailureRatePercent: number;
  /** p95 latency (ms) at or above which a service with enough calls is `degraded`; 0 disables. */
  degradedP95Ms: number;
}

export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = {
  minRequests: 20,
  degradedFailureRatePercent: 5,
  downFailureRatePercent: 50,
  degradedP95Ms: 0,
};

export function healthState(row: Pick<HealthNumbers, 'total_requests' | 'failure_rate_percent' | 'p95_duration_ms'>, t: HealthThresholds): HealthState {
  const rate = Number(row.failure_rate_percent);
  if (row.total_requests < t.minRequests) {
    return row.total_requests > 0 && rate >= t.downFailureRatePercent ? 'degraded' : 'ok';
  }
  if (rate >= t.downFailureRatePercent) return 'down';
  if (rate >= t.degradedFailureRatePercent) return 'degraded';
  if (t.degradedP95Ms > 0 && row.p95_duration_ms !== null && Number(row.p95_duration_ms) >= t.degradedP95Ms) return 'degraded';
  return 'ok';
}

/** Merges overrides over the defaults and rejects nonsense (negative, NaN, degraded above down). */
export function resolveHealthThresholds(overrides: Partial<HealthThresholds> = {}): HealthThresholds {
  const t = { ...DEFAULT_HEALTH_THRESHOLDS, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
  for (const [k, v] of Object.entries(t)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`health threshold ${k} must be a non-negative number, got ${String(v)}`);
  }
  if (t.degradedFailureRatePercent > t.downFailureRatePercent) {
    throw new Error('health threshold degradedFailureRatePercent must not exceed downFailureRatePercent');
  }
  if (t.downFailureRatePercent > 100) throw new Error('health threshold downFailureRatePercent must be at most 100');
  return t;
}
