/**
 * instrumentFetch: a fetch-compatible function that logs every call to a known provider with no
 * per-call code. Service from the host (plus `options.hosts` for stand-ins and gateways), action
 * from the endpoint, failure from the provider's own error body (see providers.ts).
 */
import { actionFor, failsInsideOk, judgeHttp, serviceForHost } from './providers';
import { redactHeaders, redactUrl } from './redact';
import { CredentialSet } from './taint';
import type { Outcome, Recorder, RetryPolicy } from './types';

export interface InstrumentFetchOptions {
  /** The fetch to wrap (default: globalThis.fetch). */
  fetch?: typeof fetch;
  /** Extra `host[:port]` (or bare hostname) → service name, e.g. { '127.0.0.1:4010': 'telegram' }. */
  hosts?: Record<string, string>;
  /** Also log calls to unknown hosts, with the hostname as service (default false: pass through). */
  logUnknown?: boolean;
  /** Store method, redacted URL, redacted headers and redacted body as request_payload (default false). */
  captureRequest?: boolean;
  /** Store the (redacted, truncated) response body as response_payload (default false). */
  captureResponse?: boolean;
  /** Retry policy for every call; idempotency defaults from the method and Idempotency-Key header. */
  retry?: RetryPolicy;
  /** Abort an attempt after this long (the attempt then counts as a retryable timeout). */
  timeoutMs?: number;
  /** Longest wait for a response body that must be read to judge the call (default 10 s). */
  bodyTimeoutMs?: number;
}

/** Per-call extras, passed as `init.integration` (stripped before the real fetch sees init). */
export interface IntegrationInit {
  action?: string;
  entity?: { type: string; id: string };
  retry?: RetryPolicy;
  captureRequest?: boolean;
  captureResponse?: boolean;
}

export type MonitoredFetch = (input: string | URL | Request, init?: RequestInit & { integration?: IntegrationInit }) => Promise<Response>;

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export function instrumentFetch(recorder: Recorder, options: InstrumentFetchOptions = {}): MonitoredFetch {
  const base = options.fetch ?? globalThis.fetch;
  const hosts = new Map(Object.entries(options.hosts ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 10_000;

  return function monitoredFetch(input, init) {
    let url: URL;
    try {
      url = new URL(input instanceof Request ? input.url : String(input));
    } catch {
      return base(input, init); // let fetch produce its own error for a bad URL
    }
    const known = hosts.get(url.host.toLowerCase()) ?? hosts.get(url.hostname.toLowerCase()) ?? serviceForHost(url.hostname);
    if (!known && !options.logUnknown) return base(input, init);
    const service = known ?? url.hostname;
    const { integration, ...fetchInit } = init ?? {};
    const method = (fetchInit.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const action = integration?.action ?? actionFor(service, method, url.pathname);
    const headers = new Headers(fetchInit.headers ?? (input instanceof Request ? input.headers : undefined));
    const policyIn = integration?.retry ?? options.retry;
    const retry: RetryPolicy | undefined = policyIn && {
      ...policyIn,
      idempotent: policyIn.idempotent ?? IDEMPOTENT_METHODS.has(method),
      idempotencyKey: policyIn.idempotencyKey ?? headers.get('idempotency-key') ?? undefined,
    };
    const captureResponse = integration?.captureResponse ?? options.captureResponse ?? false;
    const body = bodyForLog(fetchInit.body);
    const request = (integration?.captureRequest ?? options.captureRequest) ? { method, url: redactUrl(url.toString()), headers: redactHeaders(headers), body } : undefined;
    // Everything this call carries that could be echoed back (see taint.ts).
    const carried = new CredentialSet();
    carried.url(url);
    carried.headers(headers);
    carried.value(body);
    const timeoutMs = options.timeoutMs;

    return recorder.track(
      service,
      action,
      () => {
        let signal = fetchInit.signal ?? (input instanceof Request ? input.signal : undefined);
        if (timeoutMs !== undefined) {
          const t = AbortSignal.timeout(timeoutMs);
          signal = signal ? AbortSignal.any([signal, t]) : t;
        }
        // A Request's body can be read once: each attempt sends a fresh clone.
        const req = input instanceof Request ? input.clone() : input;
        return base(req, { ...fetchInit, signal });
      },
      {
        entity: integration?.entity,
        request,
        secrets: [...carried.values],
        retry,
        captureResponse,
        inspect: (res: Response) => inspectResponse(service, res, captureResponse, bodyTimeoutMs),
      },
    );
  };
}

/** Judges a response; reads (a clone of) the body only when the verdict or capture needs it. */
async function inspectResponse(service: string, res: Response, capture: boolean, bodyTimeoutMs: number): Promise<Outcome> {
  const needBody = capture || res.status >= 400 || failsInsideOk(service);
  if (!needBody) return { ok: true };
  let body: unknown;
  try {
    const text = await withTimeout(res.clone().text(), bodyTimeoutMs);
    if (text !== undefined) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
  } catch {
    body = undefined; // body unreadable (aborted, reset): judge by status alone
  }
  const outcome = judgeHttp(service, res.status, body, res.headers.get('retry-after'));
  if (capture) outcome.response = { status: res.status, body: body ?? null };
  return outcome;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve(undefined), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

function bodyForLog(body: RequestInit['body'] | undefined): unknown {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') {
    try {
      return JSON.parse(body);
    } catch {
      // Form-encoded bodies (Mobizon) carry apiKey-style fields: parse so key rules apply.
      if (/^[^=&\s]+=[^&]*(&[^=&\s]+=[^&]*)*$/.test(body)) return Object.fromEntries(new URLSearchParams(body));
      return body;
    }
  }
  if (body instanceof URLSearchParams) return body;
  if (typeof FormData !== 'undefined' && body instanceof FormData) {
    const o: Record<string, unknown> = {};
    body.forEach((v, k) => (o[k] = typeof v === 'string' ? v : '[file]'));
    return o;
  }
  return `[${Object.prototype.toString.call(body).slice(8, -1)} body]`;
}
