/**
 * Demo traffic: what a small backend's integration calls look like — mostly successes, the odd
 * bad input each provider rejects in its own way, and (from the stand-ins) latency tails, failure
 * bursts and 429s — sent through the recorder's instrumented fetch, so every call becomes a row.
 */
import crypto from 'node:crypto';
import type { MonitoredFetch } from '../recorder/index';
import type { ProviderStandIns, StandInService } from './providers';

/** Leads/students/emails the calls are about, so the per-entity drill-down has something to show. */
const ENTITIES = Array.from({ length: 40 }, () => crypto.randomUUID());

interface Call {
  service: StandInService;
  weight: number;
  send(fetch: MonitoredFetch, s: ProviderStandIns, bad: boolean, entity: string): Promise<Response>;
}

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** Relative frequencies: notifications dominate, CRM syncs are rarer. */
const CALLS: Call[] = [
  {
    service: 'telegram',
    weight: 35,
    send: (f, s, bad, entity) =>
      f(`${s.urls.telegram}/bot${s.credentials.telegramBotToken}/sendMessage`, {
        ...json({ chat_id: bad ? (Math.random() < 0.5 ? 'blocked' : 'unknown') : '123456789', text: 'Your lesson starts in 15 minutes' }),
        integration: { entity: { type: 'student', id: entity } },
      }),
  },
  {
    service: 'resend',
    weight: 25,
    send: (f, s, bad, entity) =>
      f(`${s.urls.resend}/emails`, {
        ...json(bad ? { from: 'school@example.com', subject: 'Welcome' } : { from: 'school@example.com', to: 'student@example.com', subject: 'Welcome' }, {
          authorization: `Bearer ${s.credentials.resendApiKey}`,
        }),
        integration: { entity: { type: 'email', id: entity } },
      }),
  },
  {
    service: 'amocrm',
    weight: 15,
    send: (f, s, bad, entity) =>
      f(`${s.urls.amocrm}/api/v4/leads`, {
        ...json([{ name: 'Trial lesson request', price: bad ? 'free' : 15000 }], { authorization: `Bearer ${s.credentials.amocrmAccessToken}` }),
        integration: { entity: { type: 'lead', id: entity } },
      }),
  },
  {
    service: 'mobizon',
    weight: 15,
    send: (f, s, bad, entity) => {
      const recipient = bad ? (Math.random() < 0.5 ? '12' : '77010000000000') : '77011234567';
      const q = new URLSearchParams({ output: 'json', apiKey: s.credentials.mobizonApiKey, recipient, text: 'Code 4821' });
      return f(`${s.urls.mobizon}/service/Message/SendSmsMessage?${q}`, { method: 'POST', integration: { entity: { type: 'student', id: entity } } });
    },
  },
  {
    service: 'whapi',
    weight: 10,
    send: (f, s, bad, entity) =>
      f(`${s.urls.whapi}/messages/text`, {
        ...json(bad ? { body: 'Hello' } : { to: '77011234567@s.whatsapp.net', body: 'Hello' }, { authorization: `Bearer ${s.credentials.whapiToken}` }),
        integration: { entity: { type: 'lead', id: entity } },
      }),
  },
];
const TOTAL_WEIGHT = CALLS.reduce((s, c) => s + c.weight, 0);

export interface TrafficOptions {
  /** Calls started per second (default 20). */
  ratePerSecond: number;
  /** Share of calls sent with input the provider rejects (default 0.03). */
  badInputShare?: number;
  /** Calls in flight at most; beyond it a tick is skipped (a slow provider must not pile up). */
  maxInFlight?: number;
}

export interface Traffic {
  started(): number;
  stop(): Promise<void>;
}

export function startTraffic(fetch: MonitoredFetch, standIns: ProviderStandIns, opts: TrafficOptions): Traffic {
  const bad = opts.badInputShare ?? 0.03;
  const maxInFlight = opts.maxInFlight ?? 200;
  const inFlight = new Set<Promise<unknown>>();
  let started = 0;
  let credit = 0;
  const tickMs = 50;
  const timer = setInterval(() => {
    // Credit accumulates so fractional rates (e.g. 0.5/s) still produce calls.
    credit += (opts.ratePerSecond * tickMs) / 1000;
    while (credit >= 1) {
      credit -= 1;
      if (inFlight.size >= maxInFlight) continue;
      let r = Math.random() * TOTAL_WEIGHT;
      const call = CALLS.find((c) => (r -= c.weight) < 0) ?? CALLS[0];
      const entity = ENTITIES[Math.floor(Math.random() * ENTITIES.length)];
      const p = call
        .send(fetch, standIns, Math.random() < bad, entity)
        .then((res) => res.arrayBuffer())
        // The recorder has logged the failure; the demo has nothing more to do with it.
        .catch(() => undefined)
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      started++;
    }
  }, tickMs);
  return {
    started: () => started,
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...inFlight]);
    },
  };
}
