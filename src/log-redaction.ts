/**
 * What may be written to a log of a URL: tokens and credentials masked however they are spelled.
 * A request URL is matched after percent-decoding (repeatedly: `%2E` and `%252E` are dots too), so a
 * JWT whose dots or characters are encoded is still recognised; parameters named like credentials
 * are masked whatever their value looks like. A configured URL (MONITOR_JWKS_URL) loses its
 * user:password and its query values.
 */

const MASK = '[redacted]';
/** Three base64url runs joined by dots: a JWT (or JWS) — plus the same with any short separator when it starts like a JWT header. */
const JWT_LIKE = /[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|eyJ[A-Za-z0-9_-]{5,}[^A-Za-z0-9_-]{1,3}[A-Za-z0-9_-]{8,}[^A-Za-z0-9_-]{1,3}[A-Za-z0-9_-]{8,}/g;
/** Query parameter names that carry credentials. */
const CREDENTIAL_NAME =
  /^(access[_-]?token|id[_-]?token|refresh[_-]?token|token|jwt|bearer|api[_-]?key|apikey|key|secret|client[_-]?secret|password|passwd|pwd|auth|authorization|signature|sig|code)$/i;
const MAX_URL = 300;

/** %XX decoded until nothing changes (at most a few rounds), malformed sequences left as they are. */
export function decodeRepeatedly(text: string): string {
  let cur = text;
  for (let i = 0; i < 4; i++) {
    const next = cur.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (next === cur) break;
    cur = next;
  }
  return cur;
}

function maskQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq > 0 && CREDENTIAL_NAME.test(pair.slice(0, eq).trim()) ? `${pair.slice(0, eq)}=${MASK}` : pair;
    })
    .join('&');
}

/** A request URL (path and query) as logged: decoded, JWT-looking runs and credential parameters masked, at most MAX_URL characters. */
export function loggableUrl(url: string): string {
  const decoded = decodeRepeatedly(url);
  const q = decoded.indexOf('?');
  const masked = (q < 0 ? decoded : `${decoded.slice(0, q)}?${maskQuery(decoded.slice(q + 1))}`).replace(JWT_LIKE, MASK);
  return masked.length > MAX_URL ? `${masked.slice(0, MAX_URL)}…` : masked;
}

/** The bits of a configured URL that are secret: user, password, query values (raw and decoded). */
function secretsOf(url: URL): string[] {
  const bits = [url.username, url.password, ...[...url.searchParams.values()]].filter((b) => b.length >= 3);
  return [...new Set(bits.flatMap((b) => [b, decodeRepeatedly(b), encodeURIComponent(decodeRepeatedly(b))]))].sort((a, b) => b.length - a.length);
}

/** A configured URL as logged: scheme, host and path; credentials and query values masked. */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return MASK;
  }
  const query = [...url.searchParams.keys()].map((k) => `${k}=${MASK}`).join('&');
  return `${url.protocol}//${url.username || url.password ? `${MASK}@` : ''}${url.host}${url.pathname}${query ? `?${query}` : ''}`;
}

/** `message` with every secret bit of `url` masked (an error may quote the URL it failed on). */
export function redactUrlSecrets(message: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return message;
  }
  let out = message;
  for (const bit of secretsOf(parsed)) out = out.split(bit).join(MASK);
  return out;
}
