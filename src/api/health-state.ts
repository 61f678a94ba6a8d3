/**
 * ok / degraded / down for one service over the health window. Rates are only judged on enough
 * calls: the seed's "1 failed of 1 = 100 %" would page someone at 3 a.m., so below `minRequests` a
 * service can at worst be `degraded`, and only when nearly everything it did failed.
 */
import type { HealthState } from '../contract';
import type { HealthThresholds } from '../config';
import type { HealthNumbers } from '../store/queries';

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
