/**
 * The one table of what a credential looks like: by its name — of a JSON or form field, a query or
 * fragment parameter, a header, a `name=value` or `name: value` in free text — and by its shape, in
 * any text. redact.ts applies it on every path (payloads, URLs, headers, error messages and codes,
 * names), taint.ts collects by it what a call carried, and rows, spool segments and dead letters
 * hold only text that went through it. Add a rule here and every path follows.
 *
 * Names are compared by words, so that case and separators do not matter (`access_key`,
 * `accessKey`, `ACCESS-KEY`, `X-Access-Key` are one name): `contains` rules match anywhere, even
 * run together (`csrftoken`, `dbPassword`); `word` rules only a whole word (`card_pin`, not
 * `pinned`; `otp`, not `options`); `last` rules only the last word (`X-Auth`, not `auth_url`).
 */

/** Where a name is met. */
export type Placement = 'field' | 'query' | 'header' | 'text';

export interface NameRule {
  /** Lowercase, no separators. */
  word: string;
  match: 'contains' | 'word' | 'last';
  /** For `last`: a word right before it that makes the name harmless (`idempotency_key`). */
  unless?: readonly string[];
  /** Where the rule applies; everywhere when absent. */
  only?: readonly Placement[];
}

export interface ShapeRule {
  /** What it is, for the docs and test names. */
  name: string;
  /** Global. */
  re: RegExp;
  /** Replacement text; `$1` keeps a prefix that is not secret (`Bearer [REDACTED]`). */
  replace: string;
  /** A cheap pre-check: the rule runs only on text containing one of these. */
  hints?: readonly string[];
}

export interface SecretRules {
  names: readonly NameRule[];
  shapes: readonly ShapeRule[];
}

/** Keys that identify data rather than unlock anything. */
const HARMLESS_KEY = ['idempotency', 'public', 'primary', 'foreign', 'sort', 'partition', 'cache', 'routing', 'dedup', 'dedupe', 'deduplication', 'lookup', 'translation', 'i18n', 'object', 'group'];

const contains = (...words: string[]): NameRule[] => words.map((word) => ({ word, match: 'contains' }));
const word = (...words: string[]): NameRule[] => words.map((w) => ({ word: w, match: 'word' }));

const R = '[REDACTED]';

export const SECRET_RULES: SecretRules = {
  names: [
    ...contains('token', 'secret', 'password', 'passwd', 'passphrase', 'passcode', 'credential', 'cookie', 'session', 'signature', 'authorization'),
    // Key names often written run together, where word rules cannot see the `key`.
    ...contains('apikey', 'accesskey', 'clientkey', 'signingkey', 'encryptionkey', 'privatekey', 'authkey', 'masterkey', 'hmackey'),
    ...word('pin', 'otp', 'totp', 'mfa', 'cvv', 'cvv2', 'cvc', 'jwt', 'hmac', 'pwd', 'sig'),
    // `X-Auth` once a header's case is gone (`xAuth` arrives as `xauth`).
    ...word('xauth'),
    { word: 'auth', match: 'last' },
    { word: 'pass', match: 'last' },
    { word: 'key', match: 'last', unless: HARMLESS_KEY },
    { word: 'keys', match: 'last', unless: HARMLESS_KEY },
    // OAuth's authorization code in a redirect URL (in a body, redact.ts takes `code` beside OAuth fields).
    { word: 'code', match: 'word', only: ['query'] },
  ],
  shapes: [
    { name: 'Telegram bot token in a path', re: /\/bot[^/?#\s]+/g, replace: `/bot${R}`, hints: ['/bot'] },
    // Not `\b`: a token right after a letter (`bot7012345678:AAE…`) has no word boundary before it.
    { name: 'Telegram bot token', re: /(?<!\d)\d{5,12}:[A-Za-z0-9_-]{20,}/g, replace: R, hints: [':'] },
    { name: 'Resend key', re: /\bre_[A-Za-z0-9_]{6,}/g, replace: `re_${R}`, hints: ['re_'] },
    { name: 'Stripe key', re: /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}/g, replace: R, hints: ['_live_', '_test_'] },
    { name: 'Stripe webhook secret', re: /\bwhsec_[A-Za-z0-9+/=]{16,}/g, replace: R, hints: ['whsec_'] },
    { name: 'AWS access key id', re: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, replace: R, hints: ['AKIA', 'ASIA'] },
    { name: 'GitHub token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/g, replace: R, hints: ['gh', 'github_pat_'] },
    { name: 'Slack token', re: /\bxox[abposre]-[A-Za-z0-9-]{10,}/g, replace: R, hints: ['xox'] },
    { name: 'Google API key', re: /\bAIza[0-9A-Za-z_-]{30,}/g, replace: R, hints: ['AIza'] },
    { name: 'SendGrid key', re: /\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/g, replace: R, hints: ['SG.'] },
    { name: 'JWT', re: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, replace: R, hints: ['eyJ'] },
    { name: 'PEM private key', re: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g, replace: R, hints: ['PRIVATE KEY'] },
    // Any whitespace separates a scheme from its credential (`Authorization:\tBearer\tX`).
    { name: 'Bearer/Basic/Token credential', re: /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{6,}/gi, replace: `$1 ${R}` },
    // scheme://user:pass@ (e.g. Node's "Request cannot be constructed from a URL that includes credentials").
    { name: 'URL userinfo', re: /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"']+@/gi, replace: `$1${R}@`, hints: ['@'] },
  ],
};
