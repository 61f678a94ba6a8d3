/**
 * instrumentHttp's cost (part of the "recorder" section of `npm run bench`): the median time of
 * one HTTP request to a local keep-alive server, through node:http and through global fetch,
 * with instrumentHttp off, on for a provider host (each request becomes a row), and on for a host
 * it does not know (the channels publish, nothing is recorded). Blocks of the three run
 * interleaved so that machine noise falls on all three alike; the added cost is the difference
 * of medians, both of wall time per request and of this process's CPU time per request (client,
 * server and recorder all run here; CPU time does not count waiting for a core, which on a shared
 * machine swamps wall time). Rows go to a real database through the recorder, as in production.
 */
import dc from 'node:diagnostics_channel';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { instrumentHttp } from '../src/recorder/instrument-http';
import type { Recorder } from '../src/recorder/types';

/**
 * Medians in µs per request: wall time and CPU time, with instrumentHttp off / on (provider host)
 * / on (other host); and `handlersUs`: the median time spent inside instrumentHttp's channel
 * handlers (which include track()'s synchronous start of the row), summed over the channels one
 * recorded request passes through — the part of the added cost that machine noise cannot hide.
 */
export interface HttpOverhead {
  handlersUs: number;
  client: 'node:http' | 'fetch';
  offUs: number;
  providerUs: number;
  otherUs: number;
  offCpuUs: number;
  providerCpuUs: number;
  otherCpuUs: number;
}

const REQUESTS = Number(process.env.BENCH_HTTP_REQUESTS ?? 20_000);
const BLOCK = 250;

async function server(): Promise<{ url: string; close: () => Promise<void> }> {
  const body = JSON.stringify({ ok: true, result: { message_id: 1 } });
  const s = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(body);
  });
  s.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, close: () => new Promise((r) => s.close(() => r())) };
}

/**
 * Times each call of the handlers instrumentHttp subscribes (measurement only: the bench wraps
 * diagnostics_channel.subscribe while instrumentHttp subscribes, never the product code).
 */
function timedInstrument(rec: Recorder, hosts: Record<string, string>, times: Map<string, number[]>): () => void {
  const subscribe = dc.subscribe;
  const unsubscribe = dc.unsubscribe;
  const wrapped = new Map<(m: unknown, name: string | symbol) => void, (m: unknown, name: string | symbol) => void>();
  dc.subscribe = (name, fn) => {
    const w = (m: unknown, n: string | symbol) => {
      const t = performance.now();
      fn(m, n);
      const list = times.get(String(name)) ?? [];
      list.push(performance.now() - t);
      times.set(String(name), list);
    };
    wrapped.set(fn, w);
    subscribe(name, w);
  };
  let undo: () => void;
  try {
    undo = instrumentHttp(rec, { hosts });
  } finally {
    dc.subscribe = subscribe;
  }
  return () => {
    dc.unsubscribe = (name, fn) => unsubscribe(name, wrapped.get(fn) ?? fn);
    try {
      undo();
    } finally {
      dc.unsubscribe = unsubscribe;
    }
  };
}

export async function httpOverhead(rec: Recorder): Promise<HttpOverhead[]> {
  const provider = await server();
  const other = await server();
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
      const off: number[] = [];
      const onProvider: number[] = [];
      const onOther: number[] = [];
      const cpu = { off: [] as number[], provider: [] as number[], other: [] as number[] };
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
      const toProvider = make(provider.url);
      const toOther = make(other.url);
      for (let i = 0; i < 2_000; i++) await toOther(); // warm-up
      const runs = [() => block(toProvider, off, cpu.off), () => on(() => block(toProvider, onProvider, cpu.provider)), () => on(() => block(toOther, onOther, cpu.other))];
      const handlerTimes = new Map<string, number[]>();
      let timing = false;
      const on = async (f: () => Promise<void>) => {
        const undo = timing ? timedInstrument(rec, hosts, handlerTimes) : instrumentHttp(rec, { hosts });
        await f();
        undo();
      };
      // The order rotates every round: whatever builds up over a round (garbage, the writer's
      // backlog) falls on each variant equally.
      for (let round = 0; round * BLOCK < REQUESTS; round++) {
        for (let k = 0; k < runs.length; k++) await runs[(round + k) % runs.length]();
        await new Promise((r) => setImmediate(r)); // the writer's turn, outside the timed calls
      }
      const mid = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
      const med = (a: number[]) => mid(a) * 1000;
      // Then the handlers alone, on requests to the provider host.
      timing = true;
      for (let done = 0; done < REQUESTS / 2; done += BLOCK) await on(() => block(toProvider, [], []));
      const channels = client === 'fetch' ? ['undici:request:create', 'undici:request:headers', 'undici:request:trailers'] : ['http.client.request.start', 'http.client.response.finish'];
      const handlersUs = channels.reduce((sum, c) => sum + med(handlerTimes.get(c) ?? [0]), 0);
      out.push({ client, handlersUs, offUs: med(off), providerUs: med(onProvider), otherUs: med(onOther), offCpuUs: mid(cpu.off), providerCpuUs: mid(cpu.provider), otherCpuUs: mid(cpu.other) });
    }
  } finally {
    agent.destroy();
    await provider.close();
    await other.close();
  }
  return out;
}
