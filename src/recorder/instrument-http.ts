/**
 * instrumentHttp: records every HTTP(S) request to a known provider host, whatever client makes it
 * — global fetch (undici) and node:http/https (axios, node-fetch, got, telegraf, amocrm-js,
 * node-telegram-bot-api…) — from the diagnostics_channel messages Node publishes for both:
 *  - undici (Node 20 bundles 6.x): undici:request:create / :headers / :trailers / :error;
 *  - node:http: http.client.request.start / .error, http.client.response.finish.
 * No client is wrapped and nothing a request sends is changed: a proxy agent, a Request's body
 * and headers reach the network exactly as built (a provider request only carries its record
 * under a symbol-keyed property, which nothing reads or sends). Neither channel family carries
 * response body chunks on Node 20, so when a body must be read to judge the call (status ≥ 400,
 * or Mobizon's errors on HTTP 200) this one response gets a tap on the method its parser hands
 * chunks to (undici's request.onData, IncomingMessage.push): the tap sees each chunk and passes
 * it on unchanged, without reading, pausing or resuming the stream, so the caller's flow mode and
 * data are untouched. Requests to other hosts pay one message and one map lookup each: the
 * response channels are subscribed only while a provider request is in flight (and a second
 * after). A request made inside track() is an attempt of that call (call-context.ts), not a row
 * of its own: instrumentFetch's requests, and an SDK's own retries, are never rows twice.
 */
import dc from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import zlib from 'node:zlib';
import { type AttemptFrame, currentFrame, useFrames } from './call-context';
import { actionFor, failsInsideOk, judgeHttp, serviceForHost } from './providers';
import { lingeringSubscriptions } from './lingering-subscriptions';
import { isSecretName } from './redact';
import { observeRequest, type RequestObserver } from './recorder';
import { judgeError } from './retry';
import { CredentialSet } from './taint';
import type { Outcome, Recorder } from './types';

export interface InstrumentHttpOptions {
  /** Extra `host[:port]` (or bare hostname) → service name, e.g. { '127.0.0.1:4010': 'telegram' }. */
  hosts?: Record<string, string>;
  /** Most bytes of an error body kept to judge it (default 64 KiB; the rest passes unseen). */
  maxBodyBytes?: number;
}

/** One observed request, from its creation to its end. */
interface Seen {
  service: string;
  frame: AttemptFrame | undefined;
  /** The row's call (RequestObserver.start), for a request outside track(). */
  call: unknown;
  status: number;
  retryAfter: string | undefined;
  encoding: string | undefined;
  chunks: Buffer[] | undefined;
  bytes: number;
  done: boolean;
}

const noop = (): void => undefined;
const same = (o: Outcome): Outcome => o;

export function instrumentHttp(recorder: Recorder, options: InstrumentHttpOptions = {}): () => void {
  const hosts = new Map(Object.entries(options.hosts ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const maxBody = options.maxBodyBytes ?? 64 * 1024;
  // Each observed request carries its Seen under a symbol of this instrumentHttp: a WeakMap entry
  // per request cost ~1 µs (ephemeron table churn), more than the rest of the handlers together.
  // Nothing reads or sends symbol-keyed properties; the request is otherwise untouched.
  const SEEN = Symbol('instrumentHttp.seen');
  const seenOf = (request: object): Seen | undefined => (request as Record<symbol, Seen | undefined>)[SEEN];
  const observer = (recorder as Partial<Record<typeof observeRequest, RequestObserver>>)[observeRequest] ?? viaTrack(recorder);
  // Requests repeat the same few endpoints (a bot's token and method, a CRM's entity path): the
  // action, the URL's credentials and the row's kind are settled once per service, path and
  // method (lookups of strings the client already made: no key built per request), and once per
  // distinct set of secret-named request headers (an API key) on it. The scheme and host add
  // nothing: no credential is in them, and the service already says which provider it is.
  const targets = new Map<string, Target>();
  const targetOf = (service: string): Target => {
    let t = targets.get(service);
    if (t === undefined) targets.set(service, (t = { service, byPath: new Map() }));
    return t;
  };
  /** `path` as the client sends it (absolute when `proxied`), `origin` the scheme://host it goes to. */
  const endpoint = (target: Target, method: string, origin: string, path: string, proxied: boolean): Endpoint => {
    let byMethod = target.byPath.get(path);
    if (byMethod === undefined) remember(target.byPath, path, (byMethod = new Map()));
    let ep = byMethod.get(method);
    if (ep === undefined) {
      const service = target.service;
      const url = proxied ? path : origin + path;
      const q = path.indexOf('?');
      const route = proxied ? new URL(url).pathname : q < 0 ? path : path.slice(0, q);
      const action = actionFor(service, method, route);
      const one = new CredentialSet();
      one.url(url);
      const secrets = [...one.values];
      ep = { service, action, secrets, kind: observer.kind(service, action, secrets), byHeaders: new Map() };
      remember(byMethod, method, ep);
    }
    return ep;
  };
  /** The row's kind for a request to `ep` whose secret-named headers are `headers` (headerKey's text). */
  const kindOf = (ep: Endpoint, headers: string | undefined): unknown => {
    if (headers === undefined) return ep.kind;
    let kind = ep.byHeaders.get(headers);
    if (kind === undefined) {
      const set = seeded(ep.secrets);
      const parts = headers.split('\0');
      for (let i = 0; i + 1 < parts.length; i += 2) set.header(parts[i], parts[i + 1]);
      kind = observer.kind(ep.service, ep.action, [...set.values]);
      remember(ep.byHeaders, headers, kind);
    }
    return kind;
  };

  // Every request asks, to any host, and the answers never change. First by the connection's
  // target hostname (a string the request holds, its hash cached): null when no provider and no
  // `hosts` key (with or without its port) has it, so that a request to another host is ruled out
  // by one lookup, with no string built and nothing else read (node:http's Host header is a string
  // Node concatenated, hashed anew on every lookup). Then by `host`, the Host header or the
  // origin's host[:port], which picks a `hosts` key with a port; the known-provider table goes by
  // the target (a proxy may pass the original Host on).
  const hostsByName = new Set([...hosts.keys()].map((k) => hostnameOf(k)));
  const services = new Map<string, Map<string, Target | null> | null>();
  const byHostname = (hostname: string): Map<string, Target | null> | null => {
    let byHost = services.get(hostname);
    if (byHost === undefined) {
      const h = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1'); // a URL's IPv6 hostname keeps its brackets
      byHost = hostsByName.has(h) || serviceForHost(h) !== undefined ? new Map() : null;
      remember(services, hostname, byHost);
    }
    return byHost;
  };
  const serviceOf = (host: string, hostname: string, byHost = byHostname(hostname)): Target | null => {
    if (byHost === null) return null;
    let target = byHost.get(host);
    if (target === undefined) {
      const service = (hosts.size > 0 ? (hosts.get(host.toLowerCase()) ?? hosts.get(hostname.toLowerCase())) : undefined) ?? serviceForHost(hostname);
      target = service ? targetOf(service) : null;
      remember(byHost, host, target);
    }
    return target;
  };
  // fetch: the origin string alone decides (an origin is scheme://host[:port], nothing more).
  const originTargets = new Map<string, Target | null>();
  const serviceOfOrigin = (origin: string): Target | null => {
    let target = originTargets.get(origin);
    if (target === undefined) {
      const host = origin.slice(origin.indexOf('//') + 2);
      target = serviceOf(host, hostnameOf(host));
      remember(originTargets, origin, target);
    }
    return target;
  };

  /** A request made inside a track() call: an attempt of that call, not a row of its own. */
  function attempt(frame: AttemptFrame, service: string): Seen {
    following.hold();
    frame.requests++;
    return { service, frame, call: undefined, status: 0, retryAfter: undefined, encoding: undefined, chunks: undefined, bytes: 0, done: false };
  }

  /** A request made outside track(): its row begins. */
  function row(service: string, kind: unknown): Seen {
    following.hold();
    return { service, frame: undefined, call: observer.start(kind), status: 0, retryAfter: undefined, encoding: undefined, chunks: undefined, bytes: 0, done: false };
  }

  function end(seen: Seen, outcome: Outcome): void {
    if (seen.done) return;
    seen.done = true;
    following.release();
    seen.chunks = undefined;
    if (seen.frame) seen.frame.last = outcome;
    else observer.end(seen.call, outcome);
  }

  /** The response's outcome from its status and, when it was read, its body. Never throws. */
  function judged(seen: Seen): Outcome {
    // Unread body and status < 400: judgeHttp's answer is always this.
    if (!seen.chunks && seen.status < 400) return { ok: true };
    try {
      return judgeHttp(seen.service, seen.status, seen.chunks ? decode(seen.chunks, seen.encoding) : undefined, seen.retryAfter);
    } catch {
      return UNJUDGEABLE;
    }
  }

  function collect(seen: Seen, chunk: unknown): void {
    if (!seen.chunks || seen.bytes >= maxBody) return;
    const b = Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk) : chunk instanceof Uint8Array ? Buffer.from(chunk) : undefined;
    if (!b) return;
    const part = b.length > maxBody - seen.bytes ? b.subarray(0, maxBody - seen.bytes) : b;
    seen.chunks.push(Buffer.from(part)); // a copy: the client may reuse its buffer
    seen.bytes += part.length;
  }

  // ---------------------------------------------------------------- undici (global fetch)

  const undiciCreate = (m: unknown): void => {
    try {
      const { request } = m as { request: UndiciRequest };
      const origin = typeof request.origin === 'string' ? request.origin : String(request.origin);
      const target = serviceOfOrigin(origin);
      if (!target) return;
      const frame = currentFrame();
      let seen: Seen;
      if (frame) seen = attempt(frame, target.service);
      else seen = row(target.service, kindOf(endpoint(target, String(request.method), origin, String(request.path), false), undiciSecretHeaders(request.headers)));
      request[SEEN] = seen;
    } catch {
      /* never break the caller's request */
    }
  };
  const undiciHeaders = (m: unknown): void => {
    try {
      const { request, response } = m as { request: UndiciRequest; response: { statusCode: number; headers: unknown[] } };
      const seen = request[SEEN];
      if (!seen) return;
      seen.status = response.statusCode;
      if (seen.status < 400 && !failsInsideOk(seen.service)) return;
      for (const [k, v] of headerPairs(response.headers)) {
        const name = k.toLowerCase();
        if (name === 'retry-after') seen.retryAfter = v;
        else if (name === 'content-encoding') seen.encoding = v.toLowerCase();
      }
      seen.chunks = [];
      const onData = request.onData;
      request.onData = function tap(this: UndiciRequest, chunk: unknown) {
        collect(seen, chunk);
        return onData.call(this, chunk);
      };
    } catch {
      /* judge by status alone */
    }
  };
  const undiciTrailers = (m: unknown): void => {
    const seen = seenOf((m as { request: object }).request);
    if (seen) end(seen, judged(seen));
  };
  // Both clients publish { request, error } on their error channel: one handler serves the two.
  const requestError = (m: unknown): void => {
    const { request, error } = m as { request: object; error: unknown };
    const seen = seenOf(request);
    if (seen) end(seen, errorOutcome(error));
  };

  // ---------------------------------------------------------------- node:http / node:https

  const httpStart = (m: unknown): void => {
    try {
      const req = (m as { request: ClientRequest }).request;
      // not '/': through a plain HTTP proxy the path is the target's absolute URL
      const u = req.path.charCodeAt(0) !== 47 ? new URL(req.path) : undefined;
      const hostname = u ? u.hostname : req.host;
      const byHost = byHostname(hostname);
      if (byHost === null) return;
      const host = u ? u.host : String(req.getHeader('host') ?? req.host);
      const target = serviceOf(host, hostname, byHost);
      if (!target) return;
      const frame = currentFrame();
      let seen: Seen;
      if (frame) seen = attempt(frame, target.service);
      else seen = row(target.service, kindOf(endpoint(target, req.method, `${req.protocol}//${host}`, req.path, u !== undefined), httpSecretHeaders(req)));
      (req as unknown as Record<symbol, Seen>)[SEEN] = seen;
      const s = seen;
      // Destroyed before any response, without an error event: the call was abandoned.
      req.once('close', () => {
        if (s.status === 0) end(s, { ok: false, retryable: false, errorCode: 'ABORTED', errorMessage: 'request closed before a response' });
      });
    } catch {
      /* never break the caller's request */
    }
  };
  const httpResponse = (m: unknown): void => {
    try {
      const { request, response: res } = m as { request: object; response: IncomingMessage & { push: (chunk: unknown, enc?: BufferEncoding) => boolean } };
      const seen = seenOf(request);
      if (!seen) return;
      seen.status = res.statusCode ?? 0;
      if (seen.status >= 400 || failsInsideOk(seen.service)) {
        const ra = res.headers['retry-after'];
        seen.retryAfter = typeof ra === 'string' ? ra : undefined;
        seen.encoding = res.headers['content-encoding']?.toLowerCase();
        seen.chunks = [];
      }
      // The parser pushes each body chunk, then null at the end of the message.
      const push = res.push;
      res.push = function tap(this: IncomingMessage, chunk: unknown, enc?: BufferEncoding) {
        if (chunk === null) end(seen, judged(seen));
        else collect(seen, chunk);
        return push.call(this, chunk, enc);
      };
      res.once('close', () => {
        if (!seen.done) end(seen, res.complete ? judged(seen) : judgeError(Object.assign(new Error('response closed before its end'), { code: 'ECONNRESET' })));
      });
    } catch {
      /* judged when the request closes */
    }
  };
  // Every request publishes on its creation channel; the error channels carry only failures.
  const subscriptions: [string, (m: unknown) => void][] = [
    ['undici:request:create', undiciCreate],
    ['undici:request:error', requestError],
    ['http.client.request.start', httpStart],
    ['http.client.request.error', requestError],
  ];
  // A provider request's row needs its response; other hosts' requests need nothing more.
  const following = lingeringSubscriptions(
    [
      ['undici:request:headers', undiciHeaders],
      ['undici:request:trailers', undiciTrailers],
      ['http.client.response.finish', httpResponse],
    ],
    FOLLOW_LINGER_MS,
  );
  const release = useFrames();
  for (const [name, fn] of subscriptions) dc.subscribe(name, fn);
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    for (const [name, fn] of subscriptions) dc.unsubscribe(name, fn);
    following.close();
    release();
  };
}

interface UndiciRequest {
  origin: unknown;
  path: unknown;
  method: unknown;
  headers: unknown;
  onData: (chunk: unknown) => unknown;
  [seen: symbol]: Seen | undefined;
}

/** A provider, with its endpoints by path, then method. */
interface Target {
  service: string;
  byPath: Map<string, Map<string, Endpoint>>;
}

/** What requests with one service, path and method share (instrumentHttp's endpoint cache). */
interface Endpoint {
  service: string;
  action: string;
  /** The URL's credentials. */
  secrets: string[];
  /** The row's kind when no secret-named header is sent. */
  kind: unknown;
  /** The row's kind per secret-named headers sent (headerKey's text). */
  byHeaders: Map<string, unknown>;
}

/** How long the response channels stay subscribed after the last provider request ended. */
const FOLLOW_LINGER_MS = 1000;

const UNJUDGEABLE: Outcome = { ok: false, errorCode: null, errorMessage: 'unjudgeable response' };

/**
 * Any other Recorder implementation: each observed request's row through track(), ended by a
 * promise the request's outcome resolves.
 */
function viaTrack(recorder: Recorder): RequestObserver<{ service: string; action: string; secrets: readonly string[] }, (o: Outcome) => void> {
  return {
    kind: (service, action, secrets) => ({ service, action, secrets }),
    start: (kind) => {
      let settle: (o: Outcome) => void = noop;
      const result = new Promise<Outcome>((resolve) => (settle = resolve));
      recorder.track(kind.service, kind.action, () => result, { secrets: kind.secrets, inspect: same }).catch(noop);
      return settle;
    },
    end: (settle, outcome) => settle(outcome),
  };
}

/** Bounded cache: cleared when full, so URLs built from ids cannot grow it without limit. */
function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= 1000) cache.clear();
  cache.set(key, value);
}

function errorOutcome(error: unknown): Outcome {
  try {
    return judgeError(error);
  } catch {
    return UNJUDGEABLE;
  }
}

function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const i = host.lastIndexOf(':');
  return i < 0 ? host : host.slice(0, i);
}

/** A set holding the URL's credentials, made only once a request turns out to carry more. */
function seeded(base: readonly string[]): CredentialSet {
  const set = new CredentialSet();
  for (const v of base) set.values.add(v);
  return set;
}

/**
 * The secret-named request headers as one "name\0value\0…" text (the key of a kind in
 * Endpoint.byHeaders; header names and values cannot hold NUL), or undefined when there are none,
 * as for most requests. undici's headers are a flat [name, value, …] array or "name: value\r\n" text.
 */
function undiciSecretHeaders(h: unknown): string | undefined {
  let key: string | undefined;
  if (Array.isArray(h)) {
    for (let i = 0; i + 1 < h.length; i += 2) {
      const name = String(h[i]);
      if (isSecretName(name, 'header')) key = `${key ?? ''}${name}\0${String(h[i + 1])}\0`;
    }
  } else if (typeof h === 'string') {
    for (let start = 0; start < h.length;) {
      let end = h.indexOf('\r\n', start);
      if (end < 0) end = h.length;
      const i = h.indexOf(':', start);
      if (i > start && i < end) {
        const name = h.slice(start, i).trim();
        if (isSecretName(name, 'header')) key = `${key ?? ''}${name}\0${h.slice(i + 1, end).trim()}\0`;
      }
      start = end + 2;
    }
  }
  return key;
}

/** node:http's secret-named request headers, as undiciSecretHeaders. */
function httpSecretHeaders(req: ClientRequest): string | undefined {
  let key: string | undefined;
  for (const name of req.getHeaderNames()) {
    if (!isSecretName(name, 'header')) continue; // CredentialSet.header would skip it too
    const v = req.getHeader(name);
    if (typeof v === 'string') key = `${key ?? ''}${name}\0${v}\0`;
    else if (Array.isArray(v)) for (const one of v) key = `${key ?? ''}${name}\0${one}\0`;
  }
  return key;
}

/** undici's headers: a flat [name, value, …] array (of strings or Buffers), or "name: value\r\n" text. */
function headerPairs(h: unknown): [string, string][] {
  const out: [string, string][] = [];
  if (Array.isArray(h)) {
    for (let i = 0; i + 1 < h.length; i += 2) out.push([String(h[i]), String(h[i + 1])]);
  } else if (typeof h === 'string') {
    for (const line of h.split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) out.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
    }
  }
  return out;
}

/** The body as JSON (or text), decompressed as the server encoded it; undefined if unreadable. */
function decode(chunks: Buffer[], encoding: string | undefined): unknown {
  try {
    let buf = Buffer.concat(chunks);
    const flush = { finishFlush: zlib.constants.Z_SYNC_FLUSH }; // tolerate a body cut at maxBodyBytes
    if (encoding === 'gzip' || encoding === 'x-gzip') buf = zlib.gunzipSync(buf, flush);
    else if (encoding === 'deflate') buf = zlib.inflateSync(buf, flush);
    else if (encoding === 'br') buf = zlib.brotliDecompressSync(buf, { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
    const text = buf.toString('utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  } catch {
    return undefined;
  }
}
