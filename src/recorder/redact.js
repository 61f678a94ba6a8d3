"use strict";
/**
 * Redaction, applied before anything is queued — a secret never reaches memory queues, the spool
 * file or the database. What is removed:
 *  - headers: Authorization, Proxy-Authorization, Cookie, Set-Cookie, and any name containing
 *    api-key / apikey / token / secret / password / session;
 *  - the Telegram bot token in URL paths (`/bot<token>/`), and bot-token-shaped strings anywhere;
 *  - query parameters apiKey / api_key / key / token / access_token / secret / password / signature;
 *  - Resend keys (`re_…`) and `Bearer …` credentials anywhere in any string;
 *  - values of JSON keys named like password, token, secret, api_key/apiKey, authorization, cookie;
 *  - with `maskPii`: e-mail addresses and phone numbers.
 */
Object.defineProperty(exports, "__esModule", { value: true });
exports.REDACTED = void 0;
exports.redactString = redactString;
exports.maskPiiString = maskPiiString;
exports.redactUrl = redactUrl;
exports.redactHeaders = redactHeaders;
exports.redactValue = redactValue;
exports.payloadJson = payloadJson;
exports.redactMessage = redactMessage;
exports.REDACTED = '[REDACTED]';
const SECRET_KEY_RE = /pass(word|wd)?$|^pwd$|token|secret|api[-_]?key|authorization|^auth$|cookie|credential|private[-_]?key|session|signature/i;
const SECRET_HEADER_RE = /^(authorization|proxy-authorization|cookie|set-cookie)$|api[-_]?key|token|secret|password|session/i;
const SECRET_QUERY_RE = /^(api[-_]?key|key|token|access[-_]?token|secret|client[-_]?secret|password|signature|sig)$/i;
const TELEGRAM_PATH_RE = /\/bot[^/?#\s]+/g;
const TELEGRAM_TOKEN_RE = /\b\d{5,12}:[A-Za-z0-9_-]{20,}/g;
const RESEND_KEY_RE = /\bre_[A-Za-z0-9_]{6,}/g;
const BEARER_RE = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{6,}/gi;
// Query-string style `apiKey=…` inside free text (e.g. an error message quoting a URL).
const QUERY_IN_TEXT_RE = /([?&;](?:api[-_]?key|key|token|access[-_]?token|secret|password|signature|sig)=)[^&#\s"']*/gi;
const EMAIL_RE = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
// 10–15 digits, optionally with a leading + and common separators; not part of a longer token.
const PHONE_RE = /(?<![\w.-])\+?\d(?:[\s().-]{0,2}\d){9,14}(?![\w-])/g;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Removes credentials (and PII when asked) from free text. */
function redactString(s, maskPii = false) {
    // Cheap pre-check: most strings contain none of the trigger characters.
    let out = s;
    if (out.includes('/bot'))
        out = out.replace(TELEGRAM_PATH_RE, `/bot${exports.REDACTED}`);
    if (out.includes(':'))
        out = out.replace(TELEGRAM_TOKEN_RE, exports.REDACTED);
    if (out.includes('re_'))
        out = out.replace(RESEND_KEY_RE, `re_${exports.REDACTED}`);
    if (out.includes(' '))
        out = out.replace(BEARER_RE, (_m, scheme) => `${scheme} ${exports.REDACTED}`);
    if (out.includes('='))
        out = out.replace(QUERY_IN_TEXT_RE, `$1${exports.REDACTED}`);
    if (maskPii)
        out = maskPiiString(out);
    // Postgres text/jsonb reject NUL and unpaired surrogates; one bad byte must not sink a batch.
    if (out.includes('\u0000'))
        out = out.replace(/\u0000/g, '');
    return out.replace(LONE_SURROGATE_RE, '\uFFFD');
}
function maskPiiString(s) {
    let out = s;
    if (out.includes('@'))
        out = out.replace(EMAIL_RE, (_m, first, domain) => `${first}***@${domain}`);
    out = out.replace(PHONE_RE, (m) => {
        const digits = m.replace(/\D/g, '');
        return `${m.startsWith('+') ? '+' : ''}${'*'.repeat(digits.length - 2)}${digits.slice(-2)}`;
    });
    return out;
}
/** Redacts a URL: bot token in the path, secret query parameters, user:password. */
function redactUrl(raw, maskPii = false) {
    let u;
    try {
        u = new URL(raw);
    }
    catch {
        return redactString(raw, maskPii);
    }
    if (u.username || u.password) {
        u.username = exports.REDACTED;
        u.password = '';
    }
    u.pathname = u.pathname.replace(TELEGRAM_PATH_RE, `/bot${exports.REDACTED}`);
    for (const key of [...u.searchParams.keys()]) {
        if (SECRET_QUERY_RE.test(key))
            u.searchParams.set(key, exports.REDACTED);
    }
    return redactString(u.toString(), maskPii);
}
function redactHeaders(headers, maskPii = false) {
    const out = {};
    const entries = Symbol.iterator in headers ? headers : Object.entries(headers);
    for (const [k, v] of entries) {
        out[k.toLowerCase()] = SECRET_HEADER_RE.test(k) ? exports.REDACTED : redactString(String(v), maskPii);
    }
    return out;
}
/** Deep copy of a JSON-like value with secrets removed. Cycles and exotic objects are flattened. */
function redactValue(value, maskPii = false, depth = 0, seen = new WeakSet()) {
    if (value === null || value === undefined)
        return value ?? null;
    switch (typeof value) {
        case 'string':
            return redactString(value, maskPii);
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
    const obj = value;
    if (depth > 32)
        return '[TOO DEEP]';
    if (seen.has(obj))
        return '[CIRCULAR]';
    seen.add(obj);
    try {
        if (obj instanceof Date)
            return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
        if (obj instanceof URL)
            return redactUrl(obj.toString(), maskPii);
        if (obj instanceof URLSearchParams) {
            const o = {};
            for (const [k, v] of obj)
                o[k] = SECRET_KEY_RE.test(k) || SECRET_QUERY_RE.test(k) ? exports.REDACTED : redactString(v, maskPii);
            return o;
        }
        if (Buffer.isBuffer(obj) || obj instanceof ArrayBuffer || ArrayBuffer.isView(obj))
            return `[binary ${obj.byteLength} bytes]`;
        if (obj instanceof Map)
            return redactValue(Object.fromEntries(obj), maskPii, depth + 1, seen);
        if (obj instanceof Set)
            return redactValue([...obj], maskPii, depth + 1, seen);
        if (obj instanceof Error)
            return { name: obj.name, message: redactString(obj.message, maskPii) };
        if (Array.isArray(obj))
            return obj.map((v) => redactValue(v, maskPii, depth + 1, seen));
        const out = {};
        for (const [k, v] of Object.entries(obj)) {
            const key = redactString(k, maskPii);
            out[key] = SECRET_KEY_RE.test(k) && v !== null && v !== undefined && v !== '' ? exports.REDACTED : redactValue(v, maskPii, depth + 1, seen);
        }
        return out;
    }
    finally {
        seen.delete(obj);
    }
}
/**
 * Redacted JSON text for a payload column, or null. Over `maxPayloadBytes` the JSON is replaced
 * by a valid JSON marker object carrying a prefix of the text, so the column stays queryable jsonb.
 */
function payloadJson(value, opts) {
    if (value === undefined)
        return null;
    const json = JSON.stringify(redactValue(value, opts.maskPii));
    if (json === undefined)
        return null;
    const bytes = Buffer.byteLength(json);
    if (bytes <= opts.maxPayloadBytes)
        return json;
    // Keep the marker itself inside the limit; ~100 bytes of envelope.
    const room = Math.max(0, opts.maxPayloadBytes - 120);
    let preview = Buffer.from(json).subarray(0, room).toString('utf8');
    // A cut through a multi-byte character leaves U+FFFD at the end; drop it.
    preview = preview.replace(/\uFFFD$/, '');
    return JSON.stringify({ _truncated: true, _original_bytes: bytes, _preview: preview });
}
/** Error messages are free text: redacted, and capped so one huge message cannot bloat a row. */
function redactMessage(message, maskPii, maxChars = 2000) {
    if (message === null || message === undefined || message === '')
        return null;
    const s = redactString(String(message), maskPii);
    return s.length > maxChars ? `${s.slice(0, maxChars)}… [truncated ${s.length - maxChars} chars]` : s;
}
//# sourceMappingURL=redact.js.map