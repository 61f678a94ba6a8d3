/**
 * What track() makes of the values and errors of the providers' own npm SDKs, so that a call
 * wrapped in track() is judged in the provider's words without a custom inspect/inspectError:
 *  - Resend returns `{ data, error, headers }` instead of throwing (error: {name, message, statusCode});
 *  - axios resolves with `{ status, data, headers, config }` and rejects with an AxiosError whose
 *    `response` holds the same;
 *  - grammY throws GrammyError {error_code, description, parameters}, Telegraf TelegramError
 *    {code, response: {error_code, description, parameters}}, node-telegram-bot-api 0.x an
 *    ETELEGRAM error with `response.body` = Telegram's JSON, 2.x TelegramApiError {errorCode,
 *    description, parameters};
 *  - amocrm-js throws APIResponseError {data: the problem+json body, apiResponse: {response}}.
 * Each is turned into the HTTP response it stands for and judged by providers.ts (judgeHttp), so
 * 429/5xx are retryable and Retry-After / Telegram's retry_after are honoured by the retry policy.
 * `last` is how the attempt's latest HTTP request ended when instrumentHttp saw it: it has the
 * provider's body even when the SDK's own error does not.
 */
import { judgeHttp } from './providers';
import type { Outcome } from './types';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;

function header(headers: unknown, name: string): string | undefined {
  if (!isObj(headers)) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const v = (headers as { get(n: string): unknown }).get(name);
    if (typeof v === 'string') return v;
  }
  const v = headers[name] ?? headers[name.toLowerCase()];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

function isAxiosResponse(v: Obj): boolean {
  return typeof v.status === 'number' && 'data' in v && isObj(v.config) && 'headers' in v;
}

/** Telegram's error as an HTTP response: its error_code mirrors the HTTP status. */
function telegram(code: unknown, description: unknown, parameters: unknown): Outcome | undefined {
  if (typeof code !== 'number') return undefined;
  return judgeHttp('telegram', code, { ok: false, error_code: code, description, parameters });
}

function parsed(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

/** A returned value that says the call failed; undefined when it is a success (or unknown shape). */
export function judgeReturned(service: string, value: unknown, last: Outcome | undefined): Outcome | undefined {
  if (!isObj(value)) return undefined;
  if (typeof Response !== 'undefined' && value instanceof Response) {
    if (last) return last.ok ? undefined : last;
    return value.ok ? undefined : judgeHttp(service, value.status, undefined, value.headers.get('retry-after'));
  }
  if (isAxiosResponse(value)) {
    if (last && !last.ok) return last;
    const o = judgeHttp(service, value.status as number, value.data, header(value.headers, 'retry-after'));
    return o.ok ? undefined : o;
  }
  // Resend: { data, error } with error = { name, message, statusCode }.
  if ('error' in value && 'data' in value && isObj(value.error)) {
    const e = value.error;
    const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
    if (status === undefined && last && !last.ok) return last; // network failure: the observed error is more precise
    const retryAfter = header(value.headers, 'retry-after');
    const body = { name: e.name, message: e.message, statusCode: e.statusCode };
    if (status !== undefined) return judgeHttp(service, status, body, retryAfter);
    return { ok: false, retryable: e.name === 'application_error', errorCode: typeof e.name === 'string' ? e.name : null, errorMessage: typeof e.message === 'string' ? e.message : null };
  }
  return undefined;
}

/** A thrown error of a known SDK in the provider's words; undefined when not recognised. */
export function judgeThrown(service: string, error: unknown, last: Outcome | undefined): Outcome | undefined {
  if (!isObj(error)) return undefined;
  const e = error;
  // axios: AxiosError with the provider's response.
  if (e.isAxiosError === true) {
    if (isObj(e.response) && typeof e.response.status === 'number') {
      if (last && !last.ok) return last;
      return judgeHttp(service, e.response.status, e.response.data, header(e.response.headers, 'retry-after'));
    }
    return last && !last.ok ? last : undefined;
  }
  // grammY GrammyError
  if (typeof e.error_code === 'number' && 'description' in e) return telegram(e.error_code, e.description, e.parameters);
  // Telegraf TelegramError
  if (isObj(e.response) && typeof e.response.error_code === 'number' && 'description' in e.response) {
    return telegram(e.response.error_code, e.response.description, e.response.parameters);
  }
  // node-telegram-bot-api 2.x TelegramApiError
  if (typeof e.errorCode === 'number' && 'description' in e) return telegram(e.errorCode, e.description, e.parameters);
  // node-telegram-bot-api 0.x: ETELEGRAM with the HTTP response, body = Telegram's JSON.
  if (e.code === 'ETELEGRAM' && isObj(e.response)) {
    const body = parsed(e.response.body);
    if (isObj(body)) return telegram(body.error_code ?? e.response.statusCode, body.description, body.parameters);
  }
  // amocrm-js APIResponseError: data = the parsed body, apiResponse.response = the IncomingMessage.
  if (isObj(e.apiResponse) && isObj(e.apiResponse.response) && typeof e.apiResponse.response.statusCode === 'number') {
    const res = e.apiResponse.response;
    const body = e.data ?? parsed(e.apiResponse.data);
    // The SDK also throws for a 2xx whose body carries a `status`: judge by that status then.
    const inBody = isObj(body) && typeof body.status === 'number' ? body.status : 0;
    const status = (res.statusCode as number) >= 400 || inBody < 400 ? (res.statusCode as number) : inBody;
    return judgeHttp('amocrm', status, body, header(res.headers, 'retry-after'));
  }
  if (last && !last.ok) return last;
  return undefined;
}
