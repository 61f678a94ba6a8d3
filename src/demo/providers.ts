/**
 * Local HTTP stand-ins for the five providers (Telegram, Resend, AmoCRM, Mobizon, Whapi) on
 * 127.0.0.1, answering with each provider's own success and error body shapes. Used by the
 * recorder tests and by `npm run demo`.
 *
 *   const s = await startProviderStandIns({ latency: 'realistic', bursts: true });
 *   s.urls.telegram            // 'http://127.0.0.1:PORT' — base URL, call `${url}/bot${token}/sendMessage`
 *   s.hosts                    // { '127.0.0.1:PORT': 'telegram', … } → instrumentFetch(rec, { hosts: s.hosts })
 *   s.credentials              // the secrets the stand-ins accept (telegramBotToken, resendApiKey, …)
 *   s.script('resend', 'rate_limit', 'ok')   // the next requests to one provider answer so, in order
 *   s.requests.resend          // requests received so far
 *   await s.close()
 *
 * Endpoints and behaviour (wrong credentials → the provider's auth error everywhere):
 *  - Telegram  POST /bot<token>/sendMessage {chat_id, text} → {ok:true, result}; errors
 *    {ok:false, error_code, description} (empty text 400, chat_id "blocked" 403, "unknown" 400);
 *    429 carries parameters.retry_after (seconds) in the body.
 *  - Resend    POST /emails (Bearer re_…) {from, to, subject} → {id}; errors {statusCode, name, message}
 *    (401 missing_api_key, 403 invalid_api_key, 422 validation_error); 429 with a Retry-After header.
 *  - AmoCRM    POST /api/v4/leads (Bearer) [{name, price}] → {_embedded:{leads:[…]}}; errors as
 *    application/problem+json {title, type, status, detail}, price not an int → 400 with
 *    validation-errors [{request_id, errors:[{code, path, detail}]}].
 *  - Mobizon   GET|POST /service/Message/SendSmsMessage?output=json&apiKey=… (recipient, text) →
 *    {code:0, data:{campaignId, messageId, status}, message:""}; every error is HTTP 200 with a
 *    non-zero code: 1 validation (data names the field), 8 bad apiKey, 12 balance, 999 overload.
 *  - Whapi     POST /messages/text (Bearer or ?token=) {to, body} → {sent:true, message}; errors
 *    {error:{code, message, details?}} (401, 400 missing `to`, 429).
 * Scripted behaviours: 'ok', 'rate_limit' (429, retry after 1 s unless `{ kind:'rate_limit',
 * retryAfterSec }`), 'server_error' (the provider's 5xx), 'hang' (no answer for 30 s), 'reset'
 * (socket destroyed), or `{ status, body, headers?, delayMs? }` verbatim.
 * `latency`: 'none' (default), 'realistic' (per-provider ranges with a slow tail) or {min, max} ms.
 * `bursts`: when on, each provider now and then fails everything for a few seconds (5xx or 429).
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type StandInService = 'telegram' | 'resend' | 'amocrm' | 'mobizon' | 'whapi';
const SERVICES: StandInService[] = ['telegram', 'resend', 'amocrm', 'mobizon', 'whapi'];

export interface StandInCredentials {
  telegramBotToken: string;
  resendApiKey: string;
  amocrmAccessToken: string;
  mobizonApiKey: string;
  whapiToken: string;
}

export type Behaviour =
  'ok' | 'rate_limit' | 'server_error' | 'hang' | 'reset' | { kind: 'rate_limit'; retryAfterSec: number } | { status: number; body: unknown; headers?: Record<string, string>; delayMs?: number };

export interface StandInOptions {
  latency?: 'none' | 'realistic' | { min: number; max: number };
  bursts?: boolean | { meanGapMs?: number; durationMs?: number };
  credentials?: Partial<StandInCredentials>;
}

export interface ProviderStandIns {
  urls: Record<StandInService, string>;
  hosts: Record<string, StandInService>;
  credentials: StandInCredentials;
  requests: Record<StandInService, number>;
  script(service: StandInService, ...behaviours: Behaviour[]): void;
  close(): Promise<void>;
}

const REALISTIC: Record<StandInService, [number, number]> = {
  telegram: [40, 120],
  resend: [80, 250],
  amocrm: [150, 400],
  mobizon: [100, 300],
  whapi: [60, 200],
};

interface Req {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export async function startProviderStandIns(opts: StandInOptions = {}): Promise<ProviderStandIns> {
  const credentials: StandInCredentials = {
    telegramBotToken: `${1000000 + crypto.randomInt(8999999)}:AA${crypto.randomBytes(24).toString('base64url').slice(0, 33)}`,
    resendApiKey: `re_${crypto.randomBytes(18).toString('base64url').replace(/-/g, 'x')}`,
    amocrmAccessToken: crypto.randomBytes(32).toString('hex'),
    mobizonApiKey: `kz${crypto.randomBytes(20).toString('hex')}`,
    whapiToken: crypto.randomBytes(16).toString('hex'),
    ...opts.credentials,
  };
  const scripts = Object.fromEntries(SERVICES.map((s) => [s, [] as Behaviour[]])) as Record<StandInService, Behaviour[]>;
  const requests = Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<StandInService, number>;
  const burstUntil = Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<StandInService, number>;
  const timers: NodeJS.Timeout[] = [];
  const servers: http.Server[] = [];
  const urls = {} as Record<StandInService, string>;
  const hosts: Record<string, StandInService> = {};

  if (opts.bursts) {
    const cfg = typeof opts.bursts === 'object' ? opts.bursts : {};
    const gap = cfg.meanGapMs ?? 20_000;
    const len = cfg.durationMs ?? 3_000;
    for (const s of SERVICES) {
      const plan = () => {
        const t = setTimeout(
          () => {
            burstUntil[s] = Date.now() + len;
            plan();
          },
          Math.round(-Math.log(1 - Math.random()) * gap),
        );
        t.unref();
        timers[SERVICES.indexOf(s)] = t;
      };
      plan();
    }
  }

  const latencyFor = (s: StandInService): number => {
    const l = opts.latency ?? 'none';
    if (l === 'none') return 0;
    const [min, max] = l === 'realistic' ? REALISTIC[s] : [l.min, l.max];
    const base = min + Math.random() * (max - min);
    return l === 'realistic' && Math.random() < 0.02 ? base * 5 : base; // slow tail
  };

  for (const service of SERVICES) {
    const server = http.createServer((req, res) => {
      requests[service]++;
      handle(service, req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    urls[service] = `http://127.0.0.1:${port}`;
    hosts[`127.0.0.1:${port}`] = service;
    servers.push(server);
  }

  async function handle(service: StandInService, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ctype = String(req.headers['content-type'] ?? '');
    let body: unknown = raw;
    if (raw && ctype.includes('json')) body = safeJson(raw);
    else if (raw && ctype.includes('x-www-form-urlencoded')) body = Object.fromEntries(new URLSearchParams(raw));
    const r: Req = { method: req.method ?? 'GET', url, headers: req.headers, body };

    const scripted = scripts[service].shift();
    const delay = latencyFor(service) + (typeof scripted === 'object' && 'delayMs' in scripted ? (scripted.delayMs ?? 0) : 0);
    if (scripted === 'hang') {
      await sleep(30_000);
      if (!res.destroyed) res.destroy();
      return;
    }
    if (scripted === 'reset') {
      req.socket.destroy();
      return;
    }
    if (delay > 0) await sleep(delay);
    let reply: Reply;
    if (scripted === 'rate_limit' || (typeof scripted === 'object' && 'kind' in scripted)) {
      reply = rateLimited(service, typeof scripted === 'object' ? scripted.retryAfterSec : 1);
    } else if (scripted === 'server_error') {
      reply = serverError(service);
    } else if (typeof scripted === 'object' && 'status' in scripted) {
      reply = { status: scripted.status, body: scripted.body, headers: scripted.headers };
    } else if (scripted === undefined && Date.now() < burstUntil[service]) {
      reply = Math.random() < 0.5 ? serverError(service) : rateLimited(service, 2);
    } else {
      reply = route(service, r);
    }
    if (res.destroyed) return;
    const headers: Record<string, string> = { ...reply.headers };
    if (reply.body === undefined || reply.body === null) {
      res.writeHead(reply.status, headers).end();
      return;
    }
    headers['content-type'] ??= typeof reply.body === 'string' ? 'text/plain' : 'application/json';
    res.writeHead(reply.status, headers).end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
  }

  function route(service: StandInService, r: Req): Reply {
    switch (service) {
      case 'telegram':
        return telegram(r, credentials);
      case 'resend':
        return resend(r, credentials);
      case 'amocrm':
        return amocrm(r, credentials);
      case 'mobizon':
        return mobizon(r, credentials);
      case 'whapi':
        return whapi(r, credentials);
    }
  }

  return {
    urls,
    hosts,
    credentials,
    requests,
    script(service, ...behaviours) {
      scripts[service].push(...behaviours);
    },
    async close() {
      for (const t of timers) if (t) clearTimeout(t);
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
}

// ------------------------------------------------------------------ provider behaviour

function bearer(r: Req): string | undefined {
  const h = r.headers.authorization;
  return typeof h === 'string' && /^Bearer\s+/i.test(h) ? h.replace(/^Bearer\s+/i, '') : undefined;
}

function field(r: Req, name: string): string | undefined {
  if (r.body && typeof r.body === 'object' && name in (r.body as object)) {
    const v = (r.body as Record<string, unknown>)[name];
    return v === undefined || v === null ? undefined : String(v);
  }
  return r.url.searchParams.get(name) ?? undefined;
}

function telegram(r: Req, c: StandInCredentials): Reply {
  const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(r.url.pathname);
  if (!m) return { status: 404, body: { ok: false, error_code: 404, description: 'Not Found' } };
  if (m[1] !== c.telegramBotToken) return { status: 401, body: { ok: false, error_code: 401, description: 'Unauthorized' } };
  if (m[2] === 'getMe') return { status: 200, body: { ok: true, result: { id: Number(c.telegramBotToken.split(':')[0]), is_bot: true, first_name: 'Stand-in', username: 'standin_bot' } } };
  if (m[2] !== 'sendMessage') return { status: 404, body: { ok: false, error_code: 404, description: 'Not Found' } };
  const chat = field(r, 'chat_id');
  const text = field(r, 'text');
  if (!chat) return { status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: chat_id is empty' } };
  if (chat === 'unknown') return { status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: chat not found' } };
  if (chat === 'blocked') return { status: 403, body: { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' } };
  if (!text) return { status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: message text is empty' } };
  return {
    status: 200,
    body: {
      ok: true,
      result: {
        message_id: crypto.randomInt(1, 1e6),
        from: { id: Number(c.telegramBotToken.split(':')[0]), is_bot: true },
        chat: { id: Number(chat) || chat, type: 'private' },
        date: Math.floor(Date.now() / 1000),
        text,
      },
    },
  };
}

function resend(r: Req, c: StandInCredentials): Reply {
  const key = bearer(r);
  if (!key) {
    return {
      status: 401,
      body: { statusCode: 401, name: 'missing_api_key', message: 'Missing API key in the authorization header. Include the following header in the request: Authorization: Bearer YOUR_API_KEY' },
    };
  }
  if (key !== c.resendApiKey) return { status: 403, body: { statusCode: 403, name: 'invalid_api_key', message: 'API key is invalid' } };
  if (r.method !== 'POST' || r.url.pathname !== '/emails') return { status: 404, body: { statusCode: 404, name: 'not_found', message: 'The requested endpoint does not exist.' } };
  const b = (r.body ?? {}) as Record<string, unknown>;
  if (!b.to) return { status: 422, body: { statusCode: 422, name: 'validation_error', message: 'Missing `to` field.' } };
  if (!b.from) return { status: 422, body: { statusCode: 422, name: 'validation_error', message: 'Missing `from` field.' } };
  if (typeof b.from === 'string' && b.from.endsWith('@unverified.test')) {
    return { status: 403, body: { statusCode: 403, name: 'validation_error', message: 'The unverified.test domain is not verified. Please, add and verify your domain.' } };
  }
  return { status: 200, body: { id: crypto.randomUUID() } };
}

function amocrm(r: Req, c: StandInCredentials): Reply {
  const problem = { 'content-type': 'application/problem+json' };
  if (bearer(r) !== c.amocrmAccessToken) return { status: 401, headers: problem, body: { title: 'Unauthorized', type: 'https://httpstatus.es/401', status: 401, detail: 'Unauthorized' } };
  if (r.url.pathname !== '/api/v4/leads') return { status: 404, headers: problem, body: { title: 'Not Found', type: 'https://httpstatus.es/404', status: 404, detail: 'Not Found' } };
  if (r.method === 'GET') return { status: 200, body: { _page: 1, _embedded: { leads: [] } } };
  const leads = Array.isArray(r.body) ? (r.body as Record<string, unknown>[]) : [];
  if (leads.length === 0) return { status: 400, headers: problem, body: { title: 'Bad Request', type: 'https://httpstatus.es/400', status: 400, detail: 'Request body is empty' } };
  const errors = leads.flatMap((l, i) =>
    l.price !== undefined && !Number.isInteger(l.price) ? [{ request_id: String(i), errors: [{ code: 'InvalidType', path: 'price', detail: 'This value should be of type int.' }] }] : [],
  );
  if (errors.length > 0) {
    return { status: 400, headers: problem, body: { 'validation-errors': errors, title: 'Bad Request', type: 'https://httpstatus.es/400', status: 400, detail: 'Request validation failed' } };
  }
  return {
    status: 200,
    body: {
      _links: { self: { href: `${r.url.origin}/api/v4/leads` } },
      _embedded: { leads: leads.map((_l, i) => ({ id: crypto.randomInt(1, 1e8), request_id: String(i), _links: { self: { href: `${r.url.origin}/api/v4/leads/${i}` } } })) },
    },
  };
}

function mobizon(r: Req, c: StandInCredentials): Reply {
  // Mobizon answers HTTP 200 for its own errors; only `code` says what happened.
  if (field(r, 'apiKey') !== c.mobizonApiKey) return { status: 200, body: { code: 8, data: null, message: 'Invalid API key' } };
  if (!/\/service\/message\/sendsmsmessage$/i.test(r.url.pathname)) return { status: 200, body: { code: 2, data: null, message: 'Method not found' } };
  const recipient = field(r, 'recipient');
  const text = field(r, 'text');
  if (!recipient || !/^\+?\d{10,15}$/.test(recipient)) return { status: 200, body: { code: 1, data: { recipient: 'Recipient is not a valid phone number' }, message: '' } };
  if (!text) return { status: 200, body: { code: 1, data: { text: 'Text must not be empty' }, message: '' } };
  if (recipient.endsWith('0000000000')) return { status: 200, body: { code: 12, data: null, message: 'Insufficient funds on the balance' } };
  return { status: 200, body: { code: 0, data: { campaignId: String(crypto.randomInt(1, 1e8)), messageId: String(crypto.randomInt(1, 1e9)), status: 1 }, message: '' } };
}

function whapi(r: Req, c: StandInCredentials): Reply {
  const token = bearer(r) ?? r.url.searchParams.get('token') ?? undefined;
  if (token !== c.whapiToken) return { status: 401, body: { error: { code: 401, message: 'Unauthorized', details: 'Invalid or missing token' } } };
  const m = /^\/messages\/([a-z]+)$/.exec(r.url.pathname);
  if (r.method !== 'POST' || !m) return { status: 404, body: { error: { code: 404, message: 'Not Found' } } };
  const b = (r.body ?? {}) as Record<string, unknown>;
  if (!b.to) return { status: 400, body: { error: { code: 400, message: "Parameter 'to' is required" } } };
  if (m[1] === 'text' && !b.body) return { status: 400, body: { error: { code: 400, message: "Parameter 'body' is required" } } };
  return {
    status: 200,
    body: { sent: true, message: { id: crypto.randomBytes(8).toString('hex'), from_me: true, type: m[1], chat_id: String(b.to), timestamp: Math.floor(Date.now() / 1000), status: 'pending' } },
  };
}

function rateLimited(service: StandInService, sec: number): Reply {
  switch (service) {
    case 'telegram':
      return { status: 429, body: { ok: false, error_code: 429, description: `Too Many Requests: retry after ${sec}`, parameters: { retry_after: sec } } };
    case 'resend':
      return { status: 429, headers: { 'retry-after': String(sec) }, body: { statusCode: 429, name: 'rate_limit_exceeded', message: 'Too many requests. You can only make 2 requests per second.' } };
    case 'amocrm':
      return {
        status: 429,
        headers: { 'retry-after': String(sec), 'content-type': 'application/problem+json' },
        body: { title: 'Too Many Requests', type: 'https://httpstatus.es/429', status: 429, detail: 'Too Many Requests' },
      };
    case 'mobizon':
      return { status: 429, headers: { 'retry-after': String(sec) }, body: { code: 999, data: null, message: 'Too many requests' } };
    case 'whapi':
      return { status: 429, headers: { 'retry-after': String(sec) }, body: { error: { code: 429, message: 'Too Many Requests' } } };
  }
}

function serverError(service: StandInService): Reply {
  switch (service) {
    case 'telegram':
      return { status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>', headers: { 'content-type': 'text/html' } };
    case 'resend':
      return { status: 500, body: { statusCode: 500, name: 'application_error', message: 'An unexpected error occurred.' } };
    case 'amocrm':
      return {
        status: 503,
        headers: { 'content-type': 'application/problem+json' },
        body: { title: 'Service Unavailable', type: 'https://httpstatus.es/503', status: 503, detail: 'Service Unavailable' },
      };
    case 'mobizon':
      return { status: 503, body: { code: 999, data: null, message: 'Service temporarily unavailable' } };
    case 'whapi':
      return { status: 502, body: { error: { code: 502, message: 'Channel is not responding' } } };
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref?.());
}
