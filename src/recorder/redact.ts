/**
 * Redaction by rules, applied when a call is recorded, before its row is queued: a credential never
 * reaches the queue, the spool file, a dead letter or the database. The rules are one table,
 * secret-rules.ts: credential names (JSON and form fields, query and fragment parameters, headers,
 * `name=value` / `name: value` in free text) and credential shapes (provider key formats, JWTs,
 * `Bearer …`, `user:password@`) found in any text. Besides the table: `code` in an OAuth body,
 * error codes that look like a credential (looksLikeSecret), and with `maskPii` e-mail addresses
 * and phone numbers. Text is also made storable (no NUL, no lone surrogates) and capped
 * (limits.ts). What the call itself carried is scrubbed wherever it is echoed: see taint.ts.
 */
import { LIMITS } from './limits';
import { Placement, SECRET_RULES } from './secret-rules';

export interface RedactOptions {
  maskPii: boolean;
  maxPayloadBytes: number;
}

export const REDACTED = '[REDACTED]';

const OAUTH_SIBLINGS = ['grant_type', 'client_id', 'client_secret', 'redirect_uri'];

/** The words of a name, lowercase: `XAuthKey`, `x-auth-key`, `X_AUTH_KEY` → x, auth, key. */
function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

function judgeName(name: string, where: Placement): boolean {
  const words = nameWords(name);
  if (words.length === 0) return false;
  const joined = words.join('');
  const last = words[words.length - 1];
  for (const r of SECRET_RULES.names) {
    if (r.only && !r.only.includes(where)) continue;
    const before = words.length > 1 ? words[words.length - 2] : undefined;
    const hit = r.match === 'contains' ? joined.includes(r.word) : r.match === 'word' ? words.includes(r.word) : last === r.word && !(before && r.unless?.includes(before));
    if (hit) return true;
  }
  return false;
}

// Names repeat endlessly (the same JSON keys, headers); judge each once. Bounded. One map per
// placement, so that a lookup builds no key string (instrumentHttp asks for every header of
// every request to a provider).
const judged = new Map<Placement, Map<string, boolean>>();

/** Whether a name met at `where` holds a credential (secret-rules.ts). */
export function isSecretName(name: string, where: Placement): boolean {
  if (name.length > 100) return judgeName(name, where);
  let known = judged.get(where);
  if (known === undefined) judged.set(where, (known = new Map()));
  let v = known.get(name);
  if (v === undefined) {
    v = judgeName(name, where);
    if (known.size >= 10_000) known.clear();
    known.set(name, v);
  }
  return v;
}

/** Whether a JSON key or form field of this name holds a credential. */
export function isSecretKey(key: string): boolean {
  return isSecretName(key, 'field');
}

/** Whether a query or fragment parameter of this name holds a credential. */
export function isSecretParam(key: string): boolean {
  return isSecretName(key, 'query');
}

// `?name=value` inside free text (an error message quoting a URL): the value up to the next parameter.
const QUERY_IN_TEXT_RE = /(?<=[?&;#])([A-Za-z][A-Za-z0-9_.-]{0,63})(=)(?!\[REDACTED\])[^&#\s"']*/g;
// `name: value`, `name=value`, `"name":"value"` in free text; the name is judged by the table.
const LABELLED_RE = /(?<![A-Za-z0-9])([A-Za-z][A-Za-z0-9_.-]{0,63})(["']?[ \t]{0,3}[:=][ \t]{0,3}["']?)(?!\[REDACTED\]|(?:Bearer|Basic|Token)\s)[^\s"'&,;<>()[\]{}]+/g;
const EMAIL_RE = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
// 10–15 digits, optionally with a leading + and common separators; not part of a longer token.
const PHONE_RE = /(?<![\w.-])\+?\d(?:[\s().-]{0,2}\d){9,14}(?![\w-])/g;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Replaces the value of each `name<sep>value` match of `re` (groups: name, separator) whose name
 * the table calls secret. A value that is not replaced is searched too, since it can hold a pair
 * of its own (`"detail":"client_secret=X"`, `?next=/cb?token=X`).
 */
function redactNamed(s: string, re: RegExp, where: Placement): string {
  let out = '';
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const [all, name, sep] = m;
    if (isSecretName(name, where)) {
      out += `${s.slice(last, m.index)}${name}${sep}${REDACTED}`;
      last = re.lastIndex = m.index + all.length;
    } else re.lastIndex = m.index + name.length + sep.length;
  }
  return last === 0 ? s : out + s.slice(last);
}

/** Removes credentials (and PII when asked) from free text. */
export function redactString(s: string, maskPii = false): string {
  // The hints and the checks for `=`/`:` are cheap pre-checks: most strings trigger no rule.
  let out = s;
  for (const r of SECRET_RULES.shapes) if (!r.hints || r.hints.some((h) => out.includes(h))) out = out.replace(r.re, r.replace);
  if (out.includes('=')) out = redactNamed(out, QUERY_IN_TEXT_RE, 'query');
  if (out.includes('=') || out.includes(':')) out = redactNamed(out, LABELLED_RE, 'text');
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

/** Redacts a URL: secret query and fragment parameters, user:password, credential shapes (a bot token in the path). */
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
    out[k.toLowerCase()] = isSecretName(k, 'header') ? REDACTED : redactString(String(v), maskPii);
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
      const secret = isSecretName(k, 'field') || (oauth && /^code$/i.test(k));
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
