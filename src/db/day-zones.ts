/**
 * MONITOR_TIMEZONE as a day zone: `start`, `migrate` and `serve` make sure the configured zone's
 * days are kept whole (migration 011), so the views and `/stats?interval=day` in it read one row per
 * day instead of composing 24 hours, and, for a :30/:45 zone, its hours too (013: one row per hour
 * instead of 60 minutes) (docs/schema.md "Day zones"). Idempotent: a zone already kept
 * costs one lookup.
 */
import type { ClientBase } from 'pg';
import { addDayZone, isDayZone } from '../store/queries';
import { isUtc } from '../store/time-zone';
import { isConnectionError } from './connection-error';

export interface DayZoneOutcome {
  /** What happened, in one line for the operator. */
  line: string;
  /** warn: the zone is not kept (day reads in it compose hours) and this role cannot change that. */
  level: 'info' | 'warn';
  zone: string;
  state: 'kept' | 'added' | 'not-permitted' | 'failed';
}

/** What an operator runs to keep `zone`'s days. */
export const dayZoneAdvice = (zone: string) => `run \`integration-monitor day-zones add ${zone}\` (or SELECT integration_add_day_zone('${zone.replace(/'/g, "''")}')) as the database owner`;

/**
 * Keeps `zone`'s days (backfilling them the first time) unless it is UTC; undefined for UTC.
 * A role that may not add zones (42501), or an add that fails (a lock held past the function's
 * lock_timeout), gets a warning saying what to run instead: the monitor works without it, only
 * slower. Lost connections throw (the caller's retry handles them).
 */
export async function ensureDayZone(db: ClientBase, zone: string): Promise<DayZoneOutcome | undefined> {
  if (isUtc(zone)) return undefined;
  if (await isDayZone(db, zone)) return { level: 'info', zone, state: 'kept', line: `day zone  ${zone}: days kept whole` };
  const started = Date.now();
  try {
    const name = (await addDayZone(db, zone)) ?? zone;
    return { level: 'info', zone: name, state: 'added', line: `day zone  ${name}: added, its days backfilled in ${Date.now() - started} ms` };
  } catch (err) {
    if (isConnectionError(err)) throw err;
    if ((err as { code?: string }).code !== '42501') {
      return { level: 'warn', zone, state: 'failed', line: `day zone  ${zone} (MONITOR_TIMEZONE) could not be added (${(err as Error).message}); ${dayZoneAdvice(zone)}` };
    }
    return {
      level: 'warn',
      zone,
      state: 'not-permitted',
      line: `day zone  ${zone} (MONITOR_TIMEZONE) is not kept and this role may not add it, so day reads in ${zone} compose hours (several times slower): ${dayZoneAdvice(zone)}`,
    };
  }
}
