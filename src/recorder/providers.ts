/**
 * What the recorder knows about the five providers: which host is which service, how an endpoint
 * becomes an action name, and how each provider says "this failed" in its response body.
 */
import { isSecretKey, REDACTED } from './redact';
import type { Outcome } from './types';

export type ProviderName = 'telegram' | 'resend' | 'amocrm' | 'mobizon' | 'whapi';
export const PROVIDERS: readonly ProviderName[] = ['telegram', 'resend', 'amocrm', 'mobizon', 'whapi'];

/** Service for a host (no port), or undefined for hosts we don't know. */
export function serviceForHost(hostname: string): ProviderName | undefined {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (h === 'api.telegram.org') return 'telegram';
  if (h === 'api.resend.com') return 'resend';
  if (/(^|\.)(amocrm\.ru|amocrm\.com|kommo\.com)$/.test(h)) return 'amocrm';
  if (/^api\.mobizon\.(kz|ua|com\.br|com)$/.test(h)) return 'mobizon';
  if (h === 'gate.whapi.cloud') return 'whapi';
  return undefined;
}

/** camelCase / PascalCase → snake_case. */
function snake(s: string): string {
  return s
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

const ID_SEGMENT = /^(\d+|[0-9a-f-]{16,}|[0-9A-Za-z_-]{24,})$/;
/**
 * A path segment an action may be named after: a plain word (letters, `_`, `-`), short. Ids,
 * tokens and keys carry digits or are long, so they can never become an action (or reach the
 * service/action catalog).
 */
const WORD_SEGMENT = /^[A-Za-z][A-Za-z_-]{0,39}$/;
const isWord = (s: string | undefined): s is string => s !== undefined && WORD_SEGMENT.test(s) && !ID_SEGMENT.test(s);

function genericAction(method: string, segments: string[]): string {
  const named = segments.filter(isWord);
  const last = named[named.length - 1];
  return last ? `${method.toLowerCase()}_${snake(last)}` : method.toLowerCase();
}

const SINGULAR: Record<string, string> = { leads: 'lead', contacts: 'contact', companies: 'company', tasks: 'task', notes: 'note', catalogs: 'catalog', customers: 'customer' };

/** Action name from the endpoint, per provider conventions (see README of the recorder). */
export function actionFor(service: string, method: string, pathname: string): string {
  const m = method.toUpperCase();
  const segs = pathname
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponentSafe(s));
  switch (service) {
    case 'telegram': {
      // /bot<token>/<method> (or /file/bot<token>/… for downloads). The method is the segment
      // after the bot token; without one (`/bot<token>`, `/bot<token>/`) there is no action name.
      if (segs[0] === 'file') return 'download_file';
      const i = segs.findIndex((s) => s.startsWith('bot'));
      const apiMethod = i >= 0 ? segs[i + 1] : segs[segs.length - 1];
      return isWord(apiMethod) ? snake(apiMethod) : m.toLowerCase();
    }
    case 'resend': {
      if (segs[0] === 'emails') {
        if (segs.length === 1 && m === 'POST') return 'send_email';
        if (segs[1] === 'batch' && m === 'POST') return 'send_email_batch';
        if (segs.length === 2 && m === 'GET') return 'get_email';
        if (segs.length === 2 && m === 'PATCH') return 'update_email';
        if (segs[2] === 'cancel') return 'cancel_email';
      }
      return genericAction(m, segs);
    }
    case 'mobizon': {
      // /service/<Module>/<Method>
      const apiMethod = segs[segs.length - 1];
      if (apiMethod && /^SendSmsMessage$/i.test(apiMethod)) return 'send_sms';
      return isWord(apiMethod) ? snake(apiMethod) : genericAction(m, segs);
    }
    case 'amocrm': {
      // /api/v4/<entity>[/<id>][/complex]
      const i = segs.indexOf('v4');
      const entity = i >= 0 ? segs[i + 1] : undefined;
      if (entity && Object.prototype.hasOwnProperty.call(SINGULAR, entity)) {
        const one = SINGULAR[entity];
        const rest = segs.slice(i + 2);
        if (m === 'POST' || m === 'PATCH' || m === 'PUT') return `sync_${one}`;
        if (m === 'GET') return rest.length > 0 && ID_SEGMENT.test(rest[0]) ? `get_${one}` : `list_${entity}`;
        if (m === 'DELETE') return `delete_${one}`;
      }
      if (segs[0] === 'oauth2') return 'oauth_token';
      return genericAction(m, segs);
    }
    case 'whapi': {
      if (segs[0] === 'messages' && segs.length === 2 && m === 'POST' && isWord(segs[1])) return segs[1] === 'text' ? 'send_message' : `send_${snake(segs[1])}`;
      return genericAction(m, segs);
    }
    default:
      return genericAction(m, segs);
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Seconds or HTTP-date → milliseconds; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | null | undefined, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

/**
 * Whether this provider can report a failure inside an HTTP 2xx body, so that 2xx bodies must be
 * read to judge the call. Only Mobizon does; Telegram's `ok:false` always comes with a 4xx/5xx.
 */
export function failsInsideOk(service: string): boolean {
  return service === 'mobizon';
}

/**
 * Judges one HTTP response from `service`. `body` is the parsed JSON (or raw text, or undefined if
 * not read). Each provider's error shape:
 *  - Telegram  {ok:false, error_code, description, parameters:{retry_after}}
 *  - Resend    {statusCode, name, message}
 *  - AmoCRM    application/problem+json {type, title, status, detail, validation-errors:[{errors:[{code,path,detail}]}]}
 *  - Mobizon   {code, data, message}; code ≠ 0 is a failure even on HTTP 200
 *  - Whapi     {error:{code, message, details}}
 */
export function judgeHttp(service: string, status: number, body: unknown, retryAfterHeader?: string | null): Outcome {
  const retryAfterMs = parseRetryAfter(retryAfterHeader);
  let code: string | undefined;
  let message: string | undefined;
  let providerRetryAfter: number | undefined;
  let bodyFailed = false;
  if (isObj(body)) {
    switch (service) {
      case 'telegram':
        if (body.ok === false) {
          bodyFailed = true;
          code = str(body.error_code);
          message = str(body.description);
          const p = body.parameters;
          if (isObj(p) && typeof p.retry_after === 'number') providerRetryAfter = p.retry_after * 1000;
        }
        break;
      case 'resend':
        if (status >= 400) {
          code = str(body.name) ?? str(body.statusCode);
          message = str(body.message);
        }
        break;
      case 'amocrm':
        if (status >= 400) {
          const parts: string[] = [];
          const title = str(body.title);
          const detail = str(body.detail);
          if (title) parts.push(title);
          if (detail && detail !== title) parts.push(detail);
          const ve = body['validation-errors'];
          if (Array.isArray(ve)) {
            for (const group of ve) {
              const errs = isObj(group) && Array.isArray(group.errors) ? group.errors : [];
              for (const e of errs) {
                if (!isObj(e)) continue;
                code ??= str(e.code);
                parts.push(`${str(e.path) ?? '?'}: ${str(e.detail) ?? str(e.code) ?? 'invalid'}${e.code ? ` (${String(e.code)})` : ''}`);
              }
            }
          }
          code ??= str(body.status);
          message = parts.join('; ') || undefined;
        }
        break;
      case 'mobizon':
        if (body.code !== undefined && Number(body.code) !== 0) {
          bodyFailed = true;
          code = str(body.code);
          const parts = [str(body.message)];
          // `data` names the offending fields; a field named like a credential keeps its name only.
          if (isObj(body.data)) for (const [k, v] of Object.entries(body.data)) parts.push(`${k}: ${isSecretKey(k) ? REDACTED : typeof v === 'string' ? v : JSON.stringify(v)}`);
          message = parts.filter(Boolean).join('; ') || undefined;
        }
        break;
      case 'whapi':
        if (isObj(body.error)) {
          bodyFailed = true;
          code = str(body.error.code);
          message = str(body.error.message) ?? str(body.error.details);
        }
        break;
    }
    if (status >= 400 && message === undefined) message = str(body.message) ?? str(body.error) ?? str(body.description);
  } else if (typeof body === 'string' && status >= 400) {
    message = body.slice(0, 500) || undefined;
  }
  const httpFailed = status >= 400;
  if (!httpFailed && !bodyFailed) return { ok: true };
  const retryable = status === 429 || status >= 500 || code === '429';
  return {
    ok: false,
    retryable,
    notExecuted: status === 429 || code === '429',
    retryAfterMs: providerRetryAfter ?? retryAfterMs,
    errorCode: code ?? String(status),
    errorMessage: message ?? `HTTP ${status}`,
  };
}
