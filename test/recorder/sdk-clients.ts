/**
 * The providers' real npm SDKs (devDependencies of the repository, never of the recorder package),
 * each pointed at the local stand-ins of src/demo/providers.ts through its own base-URL option,
 * so that the SDK's real code path (its HTTP client, its error handling) runs. The stand-ins
 * answer with the shapes the providers document:
 *  - Telegram Bot API, https://core.telegram.org/bots/api#making-requests — `{ok:false,
 *    error_code, description, parameters:{retry_after}}`, error_code mirroring the HTTP status;
 *  - Resend, https://resend.com/docs/api-reference/errors — `{statusCode, name, message}`,
 *    429 `rate_limit_exceeded` with Retry-After;
 *  - Mobizon, https://help.mobizon.com/help/api-docs (linked from Mobizon's own API examples) —
 *    HTTP 200 with `{code, data, message}`, code ≠ 0 an error;
 *  - Whapi.Cloud — `{error:{code, message, details}}`, as src/demo/providers.ts describes;
 *  - amoCRM API v4, https://www.amocrm.ru/developers/content/crm_platform/api-reference —
 *    application/problem+json `{title, type, status, detail}`.
 */
import { Client as AmoClient } from 'amocrm-js';
import axios from 'axios';
import { Bot as GrammyBot } from 'grammy';
import TelegramBot0 from 'node-telegram-bot-api';
import { Bot as TelegramBot2 } from 'node-telegram-bot-api-2';
import { Resend } from 'resend';
import { Telegraf } from 'telegraf';
import type { StandInCredentials, StandInService } from '../../src/demo/providers';
import { AMO_HOST } from './tls-front';

// node-telegram-bot-api 0.x warns about promise cancellation unless told it is understood.
process.env.NTBA_FIX_319 = '1';

/**
 * One way of calling a provider: `connect` builds the SDK's client (not part of a call's time),
 * whose `send(bad)` is one logical call; `bad` asks for the provider's own 4xx (Mobizon: code ≠ 0).
 */
export interface SdkClient {
  name: string;
  service: StandInService;
  connect(base: string, c: StandInCredentials, sdkRetries?: boolean): (bad: boolean) => Promise<unknown>;
}

export const CLIENTS: SdkClient[] = [
  {
    name: 'grammy',
    service: 'telegram',
    connect: (base, c) => {
      const bot = new GrammyBot(c.telegramBotToken, { client: { apiRoot: base } });
      return (bad) => bot.api.sendMessage(bad ? 'unknown' : '42', 'hi');
    },
  },
  {
    name: 'telegraf',
    service: 'telegram',
    connect: (base, c) => {
      const bot = new Telegraf(c.telegramBotToken, { telegram: { apiRoot: base } });
      return (bad) => bot.telegram.sendMessage(bad ? 'unknown' : '42', 'hi');
    },
  },
  {
    name: 'node-telegram-bot-api 0.x',
    service: 'telegram',
    connect: (base, c) => {
      const bot = new TelegramBot0(c.telegramBotToken, { baseApiUrl: base, polling: false });
      return (bad) => bot.sendMessage(bad ? 'unknown' : '42', 'hi');
    },
  },
  {
    name: 'node-telegram-bot-api 2.x',
    service: 'telegram',
    // 2.x retries 429 and 5xx by itself (maxRetries, default 2); off unless the case asks for it.
    connect: (base, c, sdkRetries) => {
      const bot = new TelegramBot2(c.telegramBotToken, { apiRoot: base, maxRetries: sdkRetries ? 2 : 0, retryBackoffMs: 10 });
      return (bad) => bot.api.sendMessage({ chat_id: bad ? 'unknown' : '42', text: 'hi' });
    },
  },
  {
    name: 'resend',
    service: 'resend',
    connect: (base, c) => {
      const resend = new Resend(c.resendApiKey, { baseUrl: base });
      return (bad) => resend.emails.send({ from: 'app@example.test', to: bad ? '' : 'user@example.test', subject: 'Hi', html: '<p>hi</p>' });
    },
  },
  {
    name: 'axios (Mobizon)',
    service: 'mobizon',
    // Mobizon takes apiKey in the query and the message as a form: its documented request shape.
    connect: (base, c) => (bad) =>
      axios.post(`${base}/service/Message/SendSmsMessage`, new URLSearchParams({ recipient: bad ? '77010000000000' : '77011234567', text: 'hi' }), {
        params: { output: 'json', apiKey: c.mobizonApiKey },
      }),
  },
  {
    name: 'axios (Whapi)',
    service: 'whapi',
    connect: (base, c) => (bad) => axios.post(`${base}/messages/text`, bad ? { body: 'hi' } : { to: '77011234567', body: 'hi' }, { headers: { Authorization: `Bearer ${c.whapiToken}` } }),
  },
  {
    name: 'amocrm-js',
    service: 'amocrm',
    // HTTPS to test.amocrm.ru through tls-front.ts (started by the test); any other base is refused.
    connect: (base, c) => {
      const client = new AmoClient({
        domain: base.startsWith('https://') ? AMO_HOST : 'refused.amocrm.ru',
        auth: { client_id: 'id', client_secret: 'secret', redirect_uri: 'https://example.test/cb' },
      });
      client.token.setValue({ token_type: 'Bearer', expires_in: 86400, access_token: c.amocrmAccessToken, refresh_token: 'refresh-not-used' });
      return (bad) => client.request.post('/api/v4/leads', bad ? [] : [{ name: 'Lead', price: 100 }]);
    },
  },
  {
    name: 'global fetch (Whapi)',
    service: 'whapi',
    connect: (base, c) => async (bad) => {
      const res = await fetch(`${base}/messages/text`, {
        method: 'POST',
        headers: { authorization: `Bearer ${c.whapiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(bad ? { body: 'hi' } : { to: '77011234567', body: 'hi' }),
      });
      return res.json();
    },
  },
];

/** What the stand-ins answer per provider: the provider's own error code and message. */
export const EXPECTED: Record<StandInService, Record<'bad' | 'rate_limit' | 'server_error', [string, RegExp]>> = {
  telegram: { bad: ['400', /^Bad Request: chat not found$/], rate_limit: ['429', /^Too Many Requests: retry after 1$/], server_error: ['502', /502 Bad Gateway/] },
  resend: { bad: ['validation_error', /^Missing `to` field\.$/], rate_limit: ['rate_limit_exceeded', /^Too many requests/], server_error: ['application_error', /^An unexpected error occurred\.$/] },
  mobizon: { bad: ['12', /^Insufficient funds on the balance$/], rate_limit: ['999', /^Too many requests$/], server_error: ['999', /^Service temporarily unavailable$/] },
  whapi: { bad: ['400', /^Parameter 'to' is required$/], rate_limit: ['429', /^Too Many Requests$/], server_error: ['502', /^Channel is not responding$/] },
  amocrm: { bad: ['400', /Request body is empty/], rate_limit: ['429', /Too Many Requests/], server_error: ['503', /Service Unavailable/] },
};

/**
 * amocrm-js prints every API error body with console.error before throwing it; the tests provoke
 * those errors on purpose, so that noise is dropped (any other console.error still shows).
 */
export function quietAmocrmJs(): () => void {
  const error = console.error;
  console.error = (...args: unknown[]) => {
    if (!/amocrm-js/.test(new Error().stack ?? '')) error(...args);
  };
  return () => {
    console.error = error;
  };
}
