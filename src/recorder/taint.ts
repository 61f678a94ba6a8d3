/**
 * Credential taint: whatever credential a call carried is scrubbed from everything recorded for
 * that call — action, error message and code, request and response payloads — wherever the
 * provider echoes it back, under any field name or inside any message. The rule lists in
 * redact.ts catch credentials by their shape or their name; this catches them by their value.
 *
 * What counts as carried — names judged by the one table, secret-rules.ts: Authorization /
 * Proxy-Authorization values (and the credential after the scheme; Basic's user and password),
 * secret-named headers and cookies, URL userinfo, the
 * Telegram bot token in the path, secret-named query/fragment parameters, secret-named body fields
 * (JSON or form; OAuth `code`, `client_secret`, `refresh_token`), at any depth.
 *
 * Values shorter than MIN_SECRET characters are not scrubbed as text: replacing every "abc" in a
 * message would destroy it; such values are still removed by name from headers and payloads.
 */
import { isSecretKey, isSecretName, isSecretParam, REDACTED } from './redact';

const MIN_SECRET = 6;

const TELEGRAM_PATH_RE = /\/bot([^/?#\s]+)/g;
const SCHEME_RE = /^\s*(?:bearer|basic|token|digest|apikey|key)\s+(.+)$/i;
const OAUTH_KEYS = ['grant_type', 'client_id', 'client_secret', 'redirect_uri'];

/** Collects credentials into `out`. Never throws (a strange value is skipped). */
export class CredentialSet {
  readonly values = new Set<string>();

  add(v: unknown): void {
    if (typeof v !== 'string' && typeof v !== 'number') return;
    const s = String(v).trim();
    if (s.length >= MIN_SECRET && s !== REDACTED) this.values.add(s);
  }

  url(raw: string | URL): void {
    let u: URL;
    try {
      u = typeof raw === 'string' ? new URL(raw) : raw;
    } catch {
      return;
    }
    this.add(safeDecode(u.username));
    this.add(safeDecode(u.password));
    if (u.username && u.password) this.add(`${safeDecode(u.username)}:${safeDecode(u.password)}`);
    for (const m of safeDecode(u.pathname).matchAll(TELEGRAM_PATH_RE)) this.add(m[1]);
    for (const [k, v] of u.searchParams) if (isSecretParam(k)) this.add(v);
    if (u.hash.includes('=')) for (const [k, v] of new URLSearchParams(u.hash.slice(1))) if (isSecretParam(k)) this.add(v);
  }

  header(name: string, value: string): void {
    if (!isSecretName(name, 'header')) return;
    this.add(value);
    const m = SCHEME_RE.exec(value);
    if (m) {
      this.add(m[1]);
      if (/^\s*basic/i.test(value)) {
        const plain = Buffer.from(m[1].trim(), 'base64').toString('utf8');
        const i = plain.indexOf(':');
        if (i > 0) {
          this.add(plain.slice(0, i));
          this.add(plain.slice(i + 1));
          this.add(plain);
        }
      }
    }
    if (/cookie/i.test(name)) for (const part of value.split(';')) this.add(part.split('=').slice(1).join('='));
  }

  headers(h: Headers | Iterable<[string, string]> | Record<string, unknown> | undefined | null): void {
    if (!h) return;
    try {
      if (typeof (h as Headers).forEach === 'function' && typeof (h as Headers).get === 'function') {
        (h as Headers).forEach((v, k) => this.header(k, v));
      } else if (Symbol.iterator in (h as object)) {
        for (const [k, v] of h as Iterable<[string, string]>) this.header(String(k), String(v));
      } else {
        for (const [k, v] of Object.entries(h)) if (typeof v === 'string') this.header(k, v);
      }
    } catch {
      /* not a header collection */
    }
  }

  /** Secret-named fields of a JSON-like value, URLs inside it, an embedded form body. */
  value(v: unknown, depth = 0): void {
    if (depth > 8 || v === null || v === undefined) return;
    if (typeof v === 'string') {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) this.url(v);
      else if (depth === 0 && /^[^=&\s]+=[^&]*(&[^=&\s]+=[^&]*)*$/.test(v)) this.value(Object.fromEntries(new URLSearchParams(v)), depth + 1);
      return;
    }
    if (typeof v !== 'object') return;
    if (v instanceof URL) return this.url(v);
    if (v instanceof URLSearchParams) return this.value(Object.fromEntries(v), depth + 1);
    if (Array.isArray(v)) {
      for (const x of v.slice(0, 100)) this.value(x, depth + 1);
      return;
    }
    const obj = v as Record<string, unknown>;
    const oauth = OAUTH_KEYS.some((k) => k in obj);
    let n = 0;
    for (const [k, x] of Object.entries(obj)) {
      if (++n > 200) break;
      if (isSecretKey(k) || isSecretParam(k) || (oauth && /^code$/i.test(k))) {
        if (typeof x === 'string' || typeof x === 'number') this.add(x);
        else this.value(x, depth + 1);
        if (/^(authorization|proxy-authorization)$/i.test(k) && typeof x === 'string') this.header(k, x);
      } else if (/^headers$/i.test(k)) this.headers(x as Record<string, unknown>);
      else this.value(x, depth + 1);
    }
  }

  /** A scrubber for these credentials, or undefined when there are none. */
  scrubber(): Scrubber | undefined {
    return this.values.size > 0 ? makeScrubber([...this.values]) : undefined;
  }
}

export type Scrubber = (s: string) => string;

/**
 * Replaces every occurrence of each credential — as is, percent-encoded, form-encoded and
 * JSON-escaped — with [REDACTED]. Longest first, so a credential containing another goes whole.
 */
export function makeScrubber(secrets: string[]): Scrubber {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (s.length < MIN_SECRET) continue;
    forms.add(s);
    forms.add(encodeURIComponent(s));
    forms.add(new URLSearchParams({ x: s }).toString().slice(2));
    forms.add(JSON.stringify(s).slice(1, -1));
  }
  const list = [...forms].sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = text;
    for (const f of list) if (out.includes(f)) out = out.split(f).join(REDACTED);
    return out;
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
