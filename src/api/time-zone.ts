/** The `tz` parameter of /stats and /timeseries: which names are accepted is src/store/time-zone.ts's call. */
import { isTimeZoneName } from '../store/time-zone';
import { badRequest } from './errors';

/** The zone a request asked for, else `fallback`; a 400 on `tz` for an unknown name. */
export function requestTimeZone(value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (!isTimeZoneName(value)) {
    throw badRequest('tz', 'must be UTC or an IANA Area/Location time zone name such as Europe/Moscow or Asia/Kolkata (abbreviations like IST mean different zones to different readers)');
  }
  return value;
}
