/**
 * Time zone names: the zone in which the API's and the CLI's reads cut hours and days. Checked
 * here (shape, then Node's ICU zone list) so that an unknown name is refused (the API's 400 naming
 * `tz`, src/api/time-zone.ts; config's MONITOR_TIME_ZONE) before any SQL runs. Only names Node and
 * PostgreSQL read the same way are accepted: `UTC` and the tz database's Area/Location names. Anything else may mean two things: PostgreSQL looks a
 * name up in its abbreviation table (`IST` is Israel there, +02:00, while Node reads India,
 * +05:30), reads `EST5EDT`-like text as a POSIX rule, and offsets like "+03:00" as POSIX too,
 * where "+03" means three hours *west* of UTC. An Area/Location name is never an abbreviation
 * (those have no slash), so both read it from their tz database (test/api/time-zones.test.ts
 * compares every accepted name's offsets on both sides).
 */
export const DEFAULT_TIME_ZONE = 'UTC';
/** UTC, or Area/Location[/Sublocation] in one of the tz database's geographic areas (or Etc). */
const NAME = /^(UTC|(Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)(\/[A-Za-z0-9_+-]+){1,2})$/i;

/** True when `name` is an IANA zone of that form Node knows (case-insensitive, like PostgreSQL's lookup). */
export function isTimeZoneName(name: string): boolean {
  if (name.length > 64 || !NAME.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * The names PostgreSQL reads as UTC itself, upper-cased: the list of integration_zone_same_as_utc
 * (repeatable/06_zone_reads.sql), so that this side and the SQL readers take the same path for a
 * zone (test/store/utc-zones.test.ts holds them to one answer).
 */
const UTC_NAMES = new Set(['UTC', 'UCT', 'ZULU', 'UNIVERSAL', 'GMT', 'GMT0', 'GMT+0', 'GMT-0', 'GREENWICH'].flatMap((n) => [n, `ETC/${n}`]));

/** Zones whose hours and days are UTC's: the UTC-aligned range functions answer for them as they are. */
export function isUtc(name: string): boolean {
  return UTC_NAMES.has(name.toUpperCase());
}

/**
 * Every zone's UTC offset since 1972 is a whole number of quarter hours, so buckets that divide
 * 15 minutes are the same on every zone's wall clock as on UTC's and need no zone arithmetic.
 */
const QUARTER_HOUR_MS = 900_000;

/**
 * The zone `intervalMs`-wide buckets must be cut in, or null when they are the UTC-aligned ones:
 * integration_zone_same_as_utc's answer, decided here too because the API fills a series' empty
 * buckets itself for those.
 */
export function bucketZone(timeZone: string | undefined, intervalMs: number): string | null {
  return timeZone !== undefined && !isUtc(timeZone) && QUARTER_HOUR_MS % intervalMs !== 0 ? timeZone : null;
}
