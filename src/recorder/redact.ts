/**
 * Redaction by rules, applied when a call is recorded, before its row is queued: a credential never
 * reaches the queue, the spool file or the database. The regular expressions below are the list;
 * in words, what goes:
 *  - credential headers (Authorization, Cookie, Set-Cookie, names saying key, token, secret,
 *    password or session) and credential query/fragment parameters (keys, tokens, secrets,
 *    passwords, signatures, OAuth `code`);
 *  - values of JSON keys and form fields named like a credential, and `code` in an OAuth body;
 *  - in free text: Telegram bot tokens (in `/bot<token>/` paths and anywhere), Resend keys,
 *    `Bearer`/`Basic`/`Token` credentials, `user:password@` in URLs, `name: value` and
 *    `name=value` when the name says key, token, secret, password or credential;
 *  - error codes that look like a credential rather than a code (looksLikeSecret);
 *  - with `maskPii`: e-mail addresses and phone numbers.
 * Text is also made storable (no NUL, no lone surrogates) and capped (limits.ts). What the call
 * itself carried is scrubbed wherever it is echoed: see taint.ts.
 */
import { LIMITS } from './limits';

export interface RedactOptions {
  maskPii: boolean;
  maxPayloadBytes: number;
}

export const REDACTED = '[REDACTED]';

const SECRET_KEY_RE = /pass(word|wd)?$|^pwd$|token|secret|api[-_]?key|authorization|^auth$|cookie|credential|private[-_]?key|session|signature/i;
const SECRET_HEADER_RE = /^(authorization|proxy-authorization|cookie|set-cookie)$|api[-_]?key|token|secret|password|session/i;
const SECRET_QUERY_RE = /^(api[-_]?key|key|token|access[-_]?token|refresh[-_]?token|id[-_]?token|secret|client[-_]?secret|password|signature|sig|code)$/i;
const OAUTH_SIBLINGS = ['grant_type', 'client_id', 'client_secret', 'redirect_uri'];

/** Whether a JSON key or form field of this name holds a credential. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY_RE.test(key);
}

/** Whether a query or fragment parameter of this name holds a credential. */
export function isSecretParam(key: string): boolean {
  return SECRET_QUERY_RE.test(key) || SECRET_KEY_RE.test(key);
}

const TELEGRAM_PATH_RE = /\/bot[^/?#\s]+/g;
// Not `\b`: a token right after a letter (`bot7012345678:AAE…`) has no word boundary before it.
const TELEGRAM_TOKEN_RE = /(?<!\d)\d{5,12}:[A-Za-z0-9_-]{20,}/g;
const RESEND_KEY_RE = /\bre_[A-Za-z0-9_]{6,}/g;
const BEARER_RE = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{6,}/gi;
// Query-string style `apiKey=…` inside free text (e.g. an error message quoting a URL).
const QUERY_IN_TEXT_RE = /([?&;#](?:api[-_]?key|key|token|access[-_]?token|refresh[-_]?token|id[-_]?token|secret|client[-_]?secret|password|signature|sig|code)=)(?!\[REDACTED\])[^&#\s"']*/gi;
// `token: X`, `and token=X`, `"apiKey":"X"`, `client_secret=X` in free text.
const LABELLED_RE =
  /(?<![A-Za-z0-9])((?:[A-Za-z0-9]+[-_])*(?:api[-_]?key|apikey|key|token|secret|password|passwd|pwd|credentials?)s?)(["']?[ \t]{0,3}[:=][ \t]{0,3}["']?)(?!\[REDACTED\])([^\s"'&,;<>()[\]{}]+)/gi;
// scheme://user:pass@ in free text (e.g. Node's "Request cannot be constructed from a URL that includes credentials").
const USERINFO_RE = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"']+@/gi;
const EMAIL_RE = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
// 10–15 digits, optionally with a leading + and common separators; not part of a longer token.
const PHONE_RE = /(?<![\w.-])\+?\d(?:[\s().-]{0,2}\d){9,14}(?![\w-])/g;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Removes credentials (and PII when asked) from free text. */
export function redactString(s: string, maskPii = false): string {
  // Cheap pre-check: most strings contain none of the trigger characters.
  let out = s;
  if (out.includes('/bot')) out = out.replace(TELEGRAM_PATH_RE, `/bot${REDACTED}`);
  if (out.includes(':')) out = out.replace(TELEGRAM_TOKEN_RE, REDACTED);
  if (out.includes('re_')) out = out.replace(RESEND_KEY_RE, `re_${REDACTED}`);
  // Any whitespace separates a scheme from its credential (`Authorization:\tBearer\tX`).
  out = out.replace(BEARER_RE, (_m, scheme: string) => `${scheme} ${REDACTED}`);
  if (out.includes('=')) out = out.replace(QUERY_IN_TEXT_RE, `$1${REDACTED}`);
  if (out.includes('=') || out.includes(':')) out = out.replace(LABELLED_RE, `$1$2${REDACTED}`);
  if (out.includes('@')) out = out.replace(USERINFO_RE, `$1${REDACTED}@`);
  if (maskPii) out = maskPiiString(out);
  // Postgres text/jsonb reject NUL and unpaired surrogates; one bad byte must not sink a batch.
  if (out.includes('\u0000')) out = out.replaceAll('\u0000', '');
  return out.replace(LONE_SURROGATE_RE, '\uFFFD');
}

export function maskPiiString(s: string): string {
  let out = s;
  if (out.includes('@')) out = out.replace(EMAIL_RE, (_m, first: string, domain: string) => `${first}***@${domain}`);
  out = out.replace(PHONE_RE, (m) => {
    const digits = m.replace(/\D/g, '');
    return `${m.startsWith('+') ? '+' : ''}${'*'.repeat(digits.length - 2)}${digits.slice(-2)}`;
  });
  return out;
}

/** Redacts a URL: bot token in the path, secret query parameters, user:password. */
export function redactUrl(raw: string, maskPii = false): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return redactString(raw, maskPii);
  }
  if (u.username || u.password) {
    u.username = REDACTED;
    u.password = '';
  }
  u.pathname = u.pathname.replace(TELEGRAM_PATH_RE, `/bot${REDACTED}`);
  for (const key of [...u.searchParams.keys()]) {
    if (isSecretParam(key)) u.searchParams.set(key, REDACTED);
  }
  // OAuth implicit flow puts `#access_token=…` in the fragment.
  if (u.hash.includes('=')) {
    const frag = new URLSearchParams(u.hash.slice(1));
    for (const key of [...frag.keys()]) if (isSecretParam(key)) frag.set(key, REDACTED);
    u.hash = frag.toString();
  }
  return redactString(u.toString(), maskPii);
}

export function redactHeaders(headers: Iterable<[string, string]> | Record<string, string>, maskPii = false): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = Symbol.iterator in headers ? headers : Object.entries(headers);
  for (const [k, v] of entries as Iterable<[string, string]>) {
    out[k.toLowerCase()] = SECRET_HEADER_RE.test(k) ? REDACTED : redactString(String(v), maskPii);
  }
  return out;
}

/** Deep copy of a JSON-like value with secrets removed. Cycles and exotic objects are flattened. */
export function redactValue(value: unknown, maskPii = false, depth = 0, seen = new WeakSet<object>(), scrub?: (s: string) => string): unknown {
  if (value === null || value === undefined) return value ?? null;
  switch (typeof value) {
    case 'string':
      return redactString(scrub ? scrub(value) : value, maskPii);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      return null; // functions, symbols: not data
  }
  const obj = value as object;
  if (depth > LIMITS.payloadDepth) return '[TOO DEEP]';
  if (seen.has(obj)) return '[CIRCULAR]';
  seen.add(obj);
  try {
    if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
    if (obj instanceof URL) return redactValue(redactUrl(obj.toString(), maskPii), maskPii, depth, seen, scrub);
    if (obj instanceof URLSearchParams) return redactValue(Object.fromEntries(obj), maskPii, depth + 1, seen, scrub);
    if (Buffer.isBuffer(obj) || obj instanceof ArrayBuffer || ArrayBuffer.isView(obj)) return `[binary ${(obj as ArrayBuffer).byteLength} bytes]`;
    if (obj instanceof Map) return redactValue(Object.fromEntries(obj), maskPii, depth + 1, seen, scrub);
    if (obj instanceof Set) return redactValue([...obj], maskPii, depth + 1, seen, scrub);
    if (obj instanceof Error) return { name: obj.name, message: redactValue(obj.message, maskPii, depth + 1, seen, scrub) };
    if (Array.isArray(obj)) return obj.map((v) => redactValue(v, maskPii, depth + 1, seen, scrub));
    const out: Record<string, unknown> = {};
    const oauth = OAUTH_SIBLINGS.some((k) => Object.prototype.hasOwnProperty.call(obj, k));
    for (const [k, v] of Object.entries(obj)) {
      const key = redactString(scrub ? scrub(k) : k, maskPii);
      const secret = SECRET_KEY_RE.test(k) || (oauth && /^code$/i.test(k));
      out[key] = secret && v !== null && v !== undefined && v !== '' ? REDACTED : redactValue(v, maskPii, depth + 1, seen, scrub);
    }
    return out;
  } finally {
    seen.delete(obj);
  }
}

/**
 * Redacted JSON text for a payload column, or null. Over `maxPayloadBytes` the JSON is replaced
 * by a valid JSON marker object carrying a prefix of the text, so the column stays queryable jsonb.
 */
export function payloadJson(value: unknown, opts: RedactOptions, scrub?: (s: string) => string): string | null {
  if (value === undefined) return null;
  const json = JSON.stringify(redactValue(value, opts.maskPii, 0, new WeakSet<object>(), scrub));
  if (json === undefined) return null;
  const bytes = Buffer.byteLength(json);
  if (bytes <= opts.maxPayloadBytes) return json;
  // Keep the marker itself inside the limit; ~100 bytes of envelope.
  const room = Math.max(0, opts.maxPayloadBytes - 120);
  let preview = Buffer.from(json).subarray(0, room).toString('utf8');
  // A cut through a multi-byte character leaves U+FFFD at the end; drop it.
  preview = preview.replace(/\uFFFD$/, '');
  return JSON.stringify({ _truncated: true, _original_bytes: bytes, _preview: preview });
}

/** Error messages are free text: redacted, and capped so one huge message cannot bloat a row. */
export function redactMessage(message: string | null | undefined, maskPii: boolean, scrub?: (s: string) => string, maxChars: number = LIMITS.errorMessage): string | null {
  if (message === null || message === undefined || message === '') return null;
  // The call's own credentials first, whole, before any rule rewrites part of one.
  const s = redactString(scrub ? scrub(String(message)) : String(message), maskPii);
  return s.length > maxChars ? `${s.slice(0, maxChars)}… [truncated ${s.length - maxChars} chars]` : s;
}

/**
 * An error code that looks like a credential rather than a code (`err.code = <token>`): long, one
 * opaque word mixing letters and digits. Real codes (ECONNREFUSED, validation_error, 429,
 * UND_ERR_SOCKET, InvalidType) are short or made of words.
 */
export function looksLikeSecret(code: string): boolean {
  if (code.length < 20 || !/^[A-Za-z0-9._~+/=:-]+$/.test(code)) return false;
  const digits = (code.match(/\d/g) ?? []).length;
  const letters = (code.match(/[A-Za-z]/g) ?? []).length;
  return digits >= 2 && letters >= 2 && !/^[A-Z0-9_]+$/.test(code);
}
