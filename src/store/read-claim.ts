/**
 * MONITOR_READ_CLAIM: `path.to.claim=value` (e.g. `app_metadata.role=admin`), the claim an
 * `authenticated` token must carry to read. Matched exactly as the database's
 * integration_read_allowed() (migrations/repeatable/03_read_claim.sql) matches request.jwt.claims, so the
 * API's early 403 and the database policy agree.
 */

export interface ReadClaim {
  path: string[];
  value: string;
}

export class ReadClaimConfigError extends Error {}

/** undefined for unset/blank; throws on a requirement the database would treat as "nobody". */
export function parseReadClaim(text: string | undefined): ReadClaim | undefined {
  const requirement = (text ?? '').trim();
  if (requirement === '') return undefined;
  const eq = requirement.indexOf('=');
  const path = eq < 0 ? '' : requirement.slice(0, eq).trim();
  if (path === '') {
    throw new ReadClaimConfigError(`MONITOR_READ_CLAIM must look like path.to.claim=value (e.g. app_metadata.role=admin), got ${JSON.stringify(requirement).slice(0, 80)}`);
  }
  return { path: path.split('.'), value: requirement.slice(eq + 1).trim() };
}

/** A JSON scalar's text as Postgres' `#>> '{}'` prints it; undefined for objects, arrays, null. */
function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  return undefined;
}

/** jsonb `#>`: object keys by name, array elements by index. */
function at(claims: unknown, path: string[]): unknown {
  let cur: unknown = claims;
  for (const key of path) {
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(key)) return undefined;
      cur = cur[Number(key)];
    } else if (cur !== null && typeof cur === 'object' && Object.prototype.hasOwnProperty.call(cur, key)) {
      cur = (cur as Record<string, unknown>)[key];
    } else {
      return undefined;
    }
  }
  return cur;
}

/** Whether the claims hold the value at the path: equal as a scalar, or as one element of an array. */
export function carriesClaim(claims: unknown, claim: ReadClaim): boolean {
  const v = at(claims, claim.path);
  if (Array.isArray(v)) return v.some((e) => scalarText(e) === claim.value);
  return scalarText(v) === claim.value;
}

/** Claims that carry `claim` (for tokens this installation mints itself, e.g. Grafana's). */
export function claimsCarrying(claim: ReadClaim): Record<string, unknown> {
  return claim.path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), claim.value) as Record<string, unknown>;
}
