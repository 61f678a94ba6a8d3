/**
 * instrumentHttp's cost (part of the "recorder" section of `npm run bench`; alone:
 * `npm run bench:http`). One HTTP request at a time to a local keep-alive server, through
 * node:http and through global fetch.
 *
 * Provider host, in variants run side by side:
 *  - off: instrumentHttp not installed;
 *  - provider: installed, requests to a provider host (each becomes a row in a real database);
 *  - timed: installed, its channel handlers timed one by one (provider and other host).
 * The machine is shared and noisy (2 cores, load 1.5–4 and more), so: blocks of BLOCK requests of
 * each variant are interleaved, in a random order every round, with the rows queued so far
 * written before each block; each run gives per-variant medians (wall time per request, and this
 * process's CPU time per request per block — client, server and recorder all run here, and CPU
 * time does not count waiting for a core); and the figures reported are medians over RUNS runs,
 * with the spread of the per-run differences.
 *
 * Another host (otherHost): whether a whole request costs measurably more with instrumentHttp on
 * at all. Many short rounds of blocks in a random order — off, off again, on (instrumentHttp
 * installed just before its block and undone after it), on with a provider request made just
 * before the block (its response channels then stay subscribed through the block), on after a
 * track() call has ended, on while a track() call runs (AsyncLocalStorage's promise hook, which
 * costs every promise of the process, is on only then), and no-op subscribers on the channels
 * instrumentHttp keeps subscribed — give per round the
 * paired differences variant − off and, as an A/A control, off − off: what "no difference" looks
 * like on this machine at this moment. Reported: the median of each with a bootstrap 95%
 * confidence interval, wall and CPU, the garbage collections per variant, and the load average.
 *
 * Two figures machine noise cannot hide: the time inside instrumentHttp's handlers per request
 * (per-channel medians summed over the channels one request passes through; this includes the
 * recorder's synchronous start and end of the row), and, for other hosts, the channel traffic of
 * one request replayed in a tight loop — the messages Node builds once anything subscribes, plus
 * our handlers' answer "not a provider" — against the same loop with nothing subscribed.
 */
import dc from 'node:diagnostics_channel';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { instrumentHttp } from '../src/recorder/instrument-http';
import { createRecorder } from '../src/recorder/recorder';
import type { Recorder } from '../src/recorder/types';
import { withBenchServer, withFreshDatabase } from './database';
import { median, type MedianCI, medianCI } from './stats';

type Client = 'node:http' | 'fetch';

/** µs per request; each a median over runs of per-run medians (see the module comment). */
export interface HttpOverhead {
  client: Client;
  runs: number;
  /** Time inside instrumentHttp's handlers per recorded request (provider host). */
  handlersUs: number;
  /** The same per request to another host. */
  handlersOtherUs: number;
  /** One request's channel traffic to another host, replayed: added time with instrumentHttp on. */
  replayOtherUs: number;
  offUs: number;
  providerUs: number;
  offCpuUs: number;
  providerCpuUs: number;
  /** Per-run (provider − off), wall and CPU: median and [min, max] over runs. */
  addedProvider: Spread;
  addedProviderCpu: Spread;
  other: OtherHost;
}

/**
 * Another host's blocks: instrumentHttp off, off again (the A/A control), on; on after a track()
 * call has ended; on with a track() call running through the block (AsyncLocalStorage's promise
 * hook on meanwhile); and no-op functions subscribed to instrumentHttp's channels instead (what
 * Node does once anything subscribes, without our handlers).
 */
const VARIANTS = ['off', 'offAgain', 'on', 'afterProvider', 'afterTrack', 'duringTrack', 'noop'] as const;
type Variant = (typeof VARIANTS)[number];
/** The variants compared with off, and their columns. */
const COMPARED: [Exclude<Variant, 'off'>, string][] = [
  ['on', 'on − off'],
  ['afterProvider', 'on, a provider request just before − off'],
  ['afterTrack', 'on, after a track() call − off'],
  ['duringTrack', 'on, a track() call running − off'],
  ['noop', 'no-op subscribers − off'],
  ['offAgain', 'A/A: off − off'],
];

/** Requests to another host, each variant − off beside off − off (see the module comment). µs per request. */
export interface OtherHost {
  rounds: number;
  block: number;
  /** Whole request, instrumentHttp off: median over blocks. */
  offUs: number;
  offCpuUs: number;
  /** Per round: the variant's block minus the (first) off block; offAgain's is the A/A control. */
  vsOff: Record<Exclude<Variant, 'off'>, { wall: MedianCI; cpu: MedianCI }>;
  /** Garbage collections per 1,000 requests and their time per request (µs), per variant. */
  gc: Record<Variant, { per1000: number; us: number }>;
  /** 1-minute load average before and after. */
  load: [number, number];
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

const REQUESTS = Number(process.env.BENCH_HTTP_REQUESTS ?? 10_000); // per variant and run
const RUNS = Number(process.env.BENCH_HTTP_RUNS ?? 7);
const BLOCK = 250;
const ROUNDS_OTHER = Number(process.env.BENCH_HTTP_ROUNDS ?? 300);
const BLOCK_OTHER = 100;

/**
 * The channels a request passes: `provider`, a provider request's (its creation, its response);
 * `always`, those instrumentHttp keeps subscribed (creation and errors) — all that a request to
 * another host meets unless a provider request is in flight or ended less than a second ago.
 */
const CHANNELS: Record<Client, { provider: string[]; always: string[] }> = {
  fetch: {
    provider: ['undici:request:create', 'undici:request:headers', 'undici:request:trailers'],
    always: ['undici:request:create', 'undici:request:error'],
  },
  'node:http': {
    provider: ['http.client.request.start', 'http.client.response.finish'],
    always: ['http.client.request.start', 'http.client.request.error'],
  },
};

async function server(address: string): Promise<{ url: string; close: () => Promise<void> }> {
  const body = JSON.stringify({ ok: true, result: { message_id: 1 } });
  const s = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(body);
  });
  s.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => s.listen(0, address, r));
  return { url: `http://${address}:${(s.address() as AddressInfo).port}`, close: () => new Promise((r) => s.close(() => r())) };
}

/**
 * instrumentHttp with each call of the handlers it subscribes timed into `times` (measurement
 * only: the bench wraps diagnostics_channel.subscribe and unsubscribe until undo — instrumentHttp
 * subscribes its response channels when a provider request starts — never the product code).
 */
function timedInstrument(rec: Recorder, hosts: Record<string, string>, times: Map<string, number[]>): () => void {
  const subscribe = dc.subscribe;
  const unsubscribe = dc.unsubscribe;
  type Handler = (m: unknown, name: string | symbol) => void;
  const wrapped = new Map<Handler, Handler>();
  dc.subscribe = (name, fn) => {
    let w = wrapped.get(fn);
    if (!w) {
      const list = times.get(String(name)) ?? [];
      times.set(String(name), list);
      w = (m: unknown, n: string | symbol) => {
        const t = performance.now();
        fn(m, n);
        list.push(performance.now() - t);
      };
      wrapped.set(fn, w);
    }
    subscribe(name, w);
  };
  dc.unsubscribe = (name, fn) => unsubscribe(name, wrapped.get(fn) ?? fn);
  let undo: () => void = () => undefined;
  try {
    undo = instrumentHttp(rec, { hosts });
  } catch (err) {
    dc.subscribe = subscribe;
    dc.unsubscribe = unsubscribe;
    throw err;
  }
  return () => {
    try {
      undo();
    } finally {
      dc.subscribe = subscribe;
      dc.unsubscribe = unsubscribe;
    }
  };
}

const spread = (a: number[]): Spread => ({ median: median(a), min: Math.min(...a), max: Math.max(...a) });
/** Sum over `channels` of the median time (µs) of one handler call. */
const handlerSum = (times: Map<string, number[]>, channels: string[]): number => channels.reduce((sum, c) => sum + (times.get(c)?.length ? median(times.get(c)!) * 1000 : 0), 0);

interface Run {
  off: number;
  provider: number;
  offCpu: number;
  providerCpu: number;
  handlers: number;
  handlersOther: number;
}

export async function httpOverhead(rec: Recorder, log: (line: string) => void = () => undefined): Promise<HttpOverhead[]> {
  // Two loopback addresses: another host's requests go to a hostname no provider has.
  const provider = await server('127.0.0.2');
  const other = await server('127.0.0.1');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const hosts = { [provider.url.slice('http://'.length)]: 'telegram' };
  const viaHttp = (base: string) => () =>
    new Promise<void>((resolve, reject) => {
      http.get(`${base}/bot1:secret/sendMessage`, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
  const viaFetch = (base: string) => async () => {
    await (await fetch(`${base}/bot1:secret/sendMessage`)).arrayBuffer();
  };
  const out: HttpOverhead[] = [];
  try {
    for (const [client, make] of [
      ['node:http', viaHttp],
      ['fetch', viaFetch],
    ] as const) {
      const toProvider = make(provider.url);
      const toOther = make(other.url);
      for (let i = 0; i < 2_000; i++) await toOther(); // warm-up
      const runs: Run[] = [];
      for (let r = 0; r < RUNS; r++) {
        runs.push(await oneRun(rec, hosts, client, toProvider, toOther));
        await new Promise((res) => setTimeout(res, 50)); // the writer catches up between runs
      }
      const replay = replayOther(rec, client);
      log(`instrumentHttp (${client}): another host, ${ROUNDS_OTHER} rounds of ${VARIANTS.join(' / ')}`);
      const otherHost = await otherHostPaired(rec, hosts, toProvider, toOther);
      const result: HttpOverhead = {
        client,
        runs: RUNS,
        handlersUs: median(runs.map((x) => x.handlers)),
        handlersOtherUs: median(runs.map((x) => x.handlersOther)),
        replayOtherUs: replay,
        offUs: median(runs.map((x) => x.off)),
        providerUs: median(runs.map((x) => x.provider)),
        offCpuUs: median(runs.map((x) => x.offCpu)),
        providerCpuUs: median(runs.map((x) => x.providerCpu)),
        addedProvider: spread(runs.map((x) => x.provider - x.off)),
        addedProviderCpu: spread(runs.map((x) => x.providerCpu - x.offCpu)),
        other: otherHost,
      };
      log(`instrumentHttp (${client}): ${JSON.stringify(runs.map((x) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, Math.round(v * 100) / 100]))))}`);
      out.push(result);
    }
  } finally {
    agent.destroy();
    await provider.close();
    await other.close();
  }
  return out;
}

/** One run: REQUESTS requests of each variant, in interleaved blocks; medians in µs. */
async function oneRun(rec: Recorder, hosts: Record<string, string>, client: Client, toProvider: () => Promise<void>, toOther: () => Promise<void>): Promise<Run> {
  const wall = { off: [] as number[], provider: [] as number[] };
  const cpu = { off: [] as number[], provider: [] as number[] };
  const timesProvider = new Map<string, number[]>();
  const timesOther = new Map<string, number[]>();
  const block = async (call: () => Promise<void>, into: number[], cpuInto: number[]) => {
    const c = process.cpuUsage();
    for (let i = 0; i < BLOCK; i++) {
      const t = performance.now();
      await call();
      into.push(performance.now() - t);
    }
    const d = process.cpuUsage(c);
    cpuInto.push((d.user + d.system) / BLOCK);
  };
  const on = async (f: () => Promise<void>) => {
    const undo = instrumentHttp(rec, { hosts });
    try {
      await f();
    } finally {
      undo();
    }
  };
  const timed = async (times: Map<string, number[]>, call: () => Promise<void>) => {
    const undo = timedInstrument(rec, hosts, times);
    try {
      await block(call, [], []);
    } finally {
      undo();
    }
  };
  const variants = [
    () => block(toProvider, wall.off, cpu.off),
    () => on(() => block(toProvider, wall.provider, cpu.provider)),
    () => timed(timesProvider, toProvider),
    () => timed(timesOther, toOther),
  ];
  // A fresh random order every round, and the rows queued so far written before each block
  // (outside the timed calls): the rows of a provider block must not be written, nor their
  // garbage collected, during whichever block always came next. (A rotating order keeps the same
  // neighbours: "other host" always ran right after "provider" and paid for its rows.)
  const order = variants.map((_, i) => i);
  for (let round = 0; round * BLOCK < REQUESTS; round++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const k of order) {
      await rec.flush();
      await variants[k]();
    }
  }
  const us = (a: number[]) => median(a) * 1000;
  return {
    off: us(wall.off),
    provider: us(wall.provider),
    offCpu: median(cpu.off),
    providerCpu: median(cpu.provider),
    handlers: handlerSum(timesProvider, CHANNELS[client].provider),
    // Another host's request, with no provider request in flight, passes its creation channel only.
    handlersOther: handlerSum(timesOther, CHANNELS[client].always),
  };
}

/**
 * Requests to another host, ROUNDS_OTHER rounds of one block of BLOCK_OTHER requests per
 * variant in a random order, the rows queued so far (the track() calls') written before each.
 * Each block's figure is its wall and CPU time per request (garbage collection included: it is
 * part of what a request costs). A collection falls in the
 * block during which it started (PerformanceObserver entries, matched by start time afterwards).
 */
async function otherHostPaired(rec: Recorder, hosts: Record<string, string>, toProvider: () => Promise<void>, toOther: () => Promise<void>): Promise<OtherHost> {
  const load0 = os.loadavg()[0];
  const blocks: { variant: Variant; start: number; end: number }[] = [];
  const gcs: { start: number; ms: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, ms: e.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  const perRound: Record<Variant, { wall: number; cpu: number }>[] = [];
  try {
    const block = async (variant: Variant) => {
      const undo = variant === 'off' || variant === 'offAgain' ? undefined : variant === 'noop' ? subscribeNoop() : instrumentHttp(rec, { hosts });
      let endCall = (): void => undefined;
      // The response channels stay subscribed for a second after it: the whole block.
      if (variant === 'afterProvider') await toProvider();
      const running = variant === 'duringTrack' ? rec.track('telegram', 'send_message', () => new Promise<void>((r) => (endCall = r))) : undefined;
      try {
        if (variant === 'afterTrack') await rec.track('telegram', 'send_message', () => Promise.resolve());
        await rec.flush(); // the rows queued so far are written now, not during the block
        // and what that leaves behind (the client's socket events, the next timer) runs before it:
        // without this pause, a block after a provider request paid ~3 µs per request more.
        await new Promise((r) => setTimeout(r, 10));
        const c = process.cpuUsage();
        const start = performance.now();
        for (let i = 0; i < BLOCK_OTHER; i++) await toOther();
        const end = performance.now();
        const d = process.cpuUsage(c);
        blocks.push({ variant, start, end });
        return { wall: ((end - start) * 1000) / BLOCK_OTHER, cpu: (d.user + d.system) / BLOCK_OTHER };
      } finally {
        endCall();
        await running;
        undo?.();
      }
    };
    const order: Variant[] = [...VARIANTS];
    for (let round = 0; round < ROUNDS_OTHER; round++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      const r: Partial<Record<Variant, { wall: number; cpu: number }>> = {};
      for (const v of order) r[v] = await block(v);
      perRound.push(r as Record<Variant, { wall: number; cpu: number }>);
    }
    await new Promise((r) => setImmediate(r)); // the last collections' entries are delivered
  } finally {
    observer.disconnect();
  }
  const gc = Object.fromEntries(VARIANTS.map((v) => [v, { per1000: 0, us: 0 }])) as OtherHost['gc'];
  for (const g of gcs) {
    const b = blocks.find((x) => g.start >= x.start && g.start < x.end);
    if (!b) continue;
    gc[b.variant].per1000++;
    gc[b.variant].us += g.ms * 1000;
  }
  const requests = ROUNDS_OTHER * BLOCK_OTHER;
  for (const v of Object.values(gc)) {
    v.us /= requests;
    v.per1000 = (v.per1000 * 1000) / requests;
  }
  return {
    rounds: ROUNDS_OTHER,
    block: BLOCK_OTHER,
    offUs: median(perRound.map((r) => r.off.wall)),
    offCpuUs: median(perRound.map((r) => r.off.cpu)),
    vsOff: Object.fromEntries(
      COMPARED.map(([v]) => [v, { wall: medianCI(perRound.map((r) => r[v].wall - r.off.wall)), cpu: medianCI(perRound.map((r) => r[v].cpu - r.off.cpu)) }]),
    ) as OtherHost['vsOff'],
    gc,
    load: [load0, os.loadavg()[0]],
  };
}

/** No-op functions on every channel instrumentHttp subscribes to; returns their unsubscribe. */
function subscribeNoop(): () => void {
  const names = [...CHANNELS.fetch.always, ...CHANNELS['node:http'].always];
  const noop = (): void => undefined;
  for (const n of names) dc.subscribe(n, noop);
  return () => {
    for (const n of names) dc.unsubscribe(n, noop);
  };
}

/** Whether a difference stands apart from the A/A control's: their 95% intervals do not overlap. */
export const distinguishable = (x: MedianCI, aa: MedianCI): boolean => x.lo > aa.hi || x.hi < aa.lo;

/**
 * What a request to another host pays, resolved below machine noise: the messages Node publishes
 * for one such request (built only while something subscribes: `if (channel.hasSubscribers)
 * channel.publish({ … })`, as undici and node:http do), replayed in a tight loop with the same
 * shapes, with instrumentHttp on minus with it off. Median of interleaved blocks, µs per request.
 */
function replayOther(rec: Recorder, client: Client): number {
  const names = CHANNELS[client].provider;
  const channels = names.map((n) => dc.channel(n));
  const headers = ['content-type', 'application/json', 'content-length', '40'];
  const node = {
    host: '127.0.0.1',
    path: '/bot1:secret/sendMessage',
    protocol: 'http:',
    method: 'GET',
    getHeader: (n: string) => (n === 'host' ? '127.0.0.1:9' : undefined),
  };
  // One request's traffic: its creation, then its response (and, for fetch, its end).
  const one =
    client === 'fetch'
      ? () => {
          const request = { origin: 'http://127.0.0.1:9', path: '/bot1:secret/sendMessage', method: 'GET', headers: ['accept', '*/*'] };
          if (channels[0].hasSubscribers) channels[0].publish({ request });
          if (channels[1].hasSubscribers) channels[1].publish({ request, response: { statusCode: 200, headers, statusText: 'OK' } });
          if (channels[2].hasSubscribers) channels[2].publish({ request, trailers: [] });
          return request;
        }
      : () => {
          const request = { ...node };
          if (channels[0].hasSubscribers) channels[0].publish({ request });
          if (channels[1].hasSubscribers) channels[1].publish({ request, response: { statusCode: 200, headers: {} } });
          return request;
        };
  const N = 2_000;
  const keep: unknown[] = new Array(N);
  const blockUs = () => {
    const t = performance.now();
    for (let i = 0; i < N; i++) keep[i] = one();
    return ((performance.now() - t) * 1000) / N;
  };
  const off: number[] = [];
  const on: number[] = [];
  for (let i = 0; i < 20; i++) blockUs(); // warm-up
  for (let r = 0; r < 200; r++) {
    const first = r % 2 === 0;
    if (first) off.push(blockUs());
    const undo = instrumentHttp(rec, { hosts: { '127.0.0.2:9': 'telegram' } });
    on.push(blockUs());
    undo();
    if (!first) off.push(blockUs());
  }
  return median(on) - median(off);
}

/** The figures side by side, one table per client, then another host's paired comparison. */
export function httpMarkdown(results: HttpOverhead[]): string {
  const f = (x: number) => x.toFixed(1);
  const s = (x: Spread) => `${f(x.median)} (${f(x.min)} … ${f(x.max)})`;
  const lines = [`| client | µs per request (median of ${results[0]?.runs} runs) | off | on, provider host | on, other host |`, '|---|---|---|---|---|'];
  for (const h of results) {
    lines.push(`| ${h.client} | wall | ${f(h.offUs)} | ${f(h.providerUs)} | |`);
    lines.push(`| ${h.client} | CPU | ${f(h.offCpuUs)} | ${f(h.providerCpuUs)} | |`);
    lines.push(`| ${h.client} | added wall, per run (min … max) | | ${s(h.addedProvider)} | |`);
    lines.push(`| ${h.client} | added CPU, per run (min … max) | | ${s(h.addedProviderCpu)} | |`);
    lines.push(`| ${h.client} | **time in its handlers** | | **${h.handlersUs.toFixed(2)}** | ${h.handlersOtherUs.toFixed(2)} |`);
    lines.push(`| ${h.client} | other host's channel traffic replayed, on − off | | | ${h.replayOtherUs.toFixed(2)} |`);
  }
  const ci = (x: MedianCI) => `${f(x.median)} [${f(x.lo)}, ${f(x.hi)}]`;
  // A difference whose interval overlaps the A/A control's is marked "≈ A/A".
  const cell = (x: MedianCI, aa: MedianCI, v: string) => `${ci(x)}${v === 'offAgain' || distinguishable(x, aa) ? '' : ' ≈ A/A'}`;
  lines.push(
    '',
    `| another host, µs per request: median [bootstrap 95% CI] of per-round differences | ${COMPARED.map(([, title]) => title).join(' | ')} |`,
    `|---|${COMPARED.map(() => '---|').join('')}`,
  );
  for (const h of results) {
    const o = h.other;
    const label = `${h.client}, ${o.rounds} rounds × ${o.block} requests, off ${f(o.offUs)} wall / ${f(o.offCpuUs)} CPU, load ${f(o.load[0])}→${f(o.load[1])}`;
    for (const m of ['wall', 'cpu'] as const) lines.push(`| ${label}: ${m === 'wall' ? 'wall' : 'CPU'} | ${COMPARED.map(([v]) => cell(o.vsOff[v][m], o.vsOff.offAgain[m], v)).join(' | ')} |`);
    const g = (v: { per1000: number; us: number }) => `${v.per1000.toFixed(2)} GCs per 1,000 requests, ${v.us.toFixed(1)} µs per request`;
    lines.push(`| ${h.client}: garbage collection (off: ${g(o.gc.off)}) | ${COMPARED.map(([v]) => g(o.gc[v])).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** `npm run bench:http`: this bench alone, against DATABASE_URL's server or an embedded one. */
if (require.main === module) {
  void withBenchServer((server) =>
    withFreshDatabase(server, `intmon_bench_http_${process.pid}`, async (url) => {
      const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-bench-http-'));
      const rec = createRecorder({ databaseUrl: url, spoolDir });
      try {
        const log = (l: string) => process.stderr.write(`${l}\n`);
        log(
          `instrumentHttp bench: ${RUNS} runs × ${REQUESTS} requests per variant, blocks of ${BLOCK}; load ${os
            .loadavg()
            .map((x) => x.toFixed(1))
            .join(' ')}`,
        );
        process.stdout.write(`${httpMarkdown(await httpOverhead(rec, log))}\n`);
      } finally {
        await rec.close();
        fs.rmSync(spoolDir, { recursive: true, force: true });
      }
    }),
  ).catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  });
}
