/**
 * The `tz` parameter: an IANA time zone name in which /stats and /timeseries cut hours and days.
 * Checked here (shape, then Node's ICU zone list) so that an unknown name is a 400 naming `tz`
 * before any SQL runs; PostgreSQL reads the same tz database names (it would reject an unknown
 * one too, as a data exception). Offsets like "+03:00" are refused on purpose: PostgreSQL reads a
 * bare offset as POSIX, where "+03" means three hours *west* of UTC.
 */
import { badRequest } from './errors';

export const DEFAULT_TIME_ZONE = 'UTC';
/** Area/Location[/Sublocation], or a single name such as UTC; never starts with a sign or digit. */
const NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;

/** True when `name` is an IANA zone Node knows (case-insensitive, like PostgreSQL's lookup). */
export function isTimeZoneName(name: string): boolean {
  if (name.length > 64 || !NAME.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The zone a request asked for, else `fallback`; a 400 on `tz` for an unknown name. */
export function requestTimeZone(value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (!isTimeZoneName(value)) throw badRequest('tz', 'must be an IANA time zone name such as UTC, Europe/Moscow or Asia/Almaty');
  return value;
}

/** Zones whose hours and days are UTC's: the UTC-aligned range functions answer for them as they are. */
export function isUtc(name: string): boolean {
  return /^(Etc\/)?(UTC|UCT|Universal|Zulu|GMT)$/i.test(name);
}
