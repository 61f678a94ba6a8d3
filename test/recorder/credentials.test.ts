/**
 * Property-style: fresh random credentials, in every placement a call can carry them, to all five
 * providers — stand-ins that echo the whole request back in their error bodies and messages
 * (fixtures/echo-providers.ts) — with payload capture on and off, plus errors thrown by the
 * caller's own code. None of the credentials may appear in any stored column (the whole row as
 * JSON) nor in the service/action catalog.
 */
import crypto from 'node:crypto';
import { createRecorder, instrumentFetch, Recorder } from '../../src/index';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { EchoProviders, Provider, PROVIDERS, startEchoProviders } from './fixtures/echo-providers';
import { removeTempDirs, rowTexts, tempDir } from './helpers';

let db: TestDatabase;
let echo: EchoProviders;
let rec: Recorder;
beforeAll(async () => {
  db = await createTestDatabase();
  echo = await startEchoProviders();
  rec = createRecorder({ databaseUrl: db.url, spoolDir: tempDir('intmon-spool-'), flushIntervalMs: 50, maxPayloadBytes: 64 * 1024 });
});
afterAll(async () => {
  await rec.close();
  await echo.close();
  await db.drop();
  removeTempDirs();
});

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Random [A-Za-z0-9_-] of `n` characters with at least two digits (as issued keys have). */
function rand(n: number, alphabet = `${ALNUM}_-`): string {
  const chars = Array.from(crypto.randomBytes(n), (b) => alphabet[b % alphabet.length]);
  chars[crypto.randomInt(n)] = String(crypto.randomInt(10));
  chars[crypto.randomInt(n)] = String(crypto.randomInt(10));
  return chars.join('');
}

/** One round's credentials, in the formats the providers issue, plus generic ones. */
function credentials() {
  return {
    botToken: `${crypto.randomInt(1_000_000, 9_999_999_999)}:AA${rand(33)}`,
    resendKey: `re_${rand(28, ALNUM)}`,
    bearer: crypto.randomBytes(32).toString('hex'),
    apiKey: `kz${crypto.randomBytes(20).toString('hex')}`,
    queryToken: rand(crypto.randomInt(20, 48)),
    bodyToken: rand(crypto.randomInt(20, 48)),
    bodySecret: rand(crypto.randomInt(20, 48)),
    formKey: rand(crypto.randomInt(20, 48)),
    user: `u${rand(10, ALNUM)}`,
    pass: `p${rand(14, ALNUM)}`,
    proxyUser: `x${rand(10, ALNUM)}`,
    proxyPass: `y${rand(14, ALNUM)}`,
    oauthCode: `def50200${crypto.randomBytes(48).toString('hex')}`,
    clientSecret: rand(64, ALNUM),
    refreshToken: `def50200${crypto.randomBytes(40).toString('hex')}`,
    fragmentToken: rand(40),
    headerKey: rand(32, ALNUM),
    thrown: rand(crypto.randomInt(20, 48)),
    thrownCode: rand(crypto.randomInt(24, 48), ALNUM),
  };
}

type Creds = ReturnType<typeof credentials>;

/** Every placement, to one provider. Returns how many calls were made. */
async function callsTo(p: Provider, c: Creds, capture: boolean): Promise<number> {
  const f = instrumentFetch(rec, { hosts: echo.hosts, captureRequest: capture, captureResponse: capture });
  const base = echo.urls[p];
  const json = { 'content-type': 'application/json' };
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const withUserinfo = base.replace('http://', `http://${c.user}:${c.pass}@`);
  const calls: Array<() => Promise<unknown>> = [
    () => f(`${base}/messages/text`, { method: 'POST', headers: { ...json, authorization: `Bearer ${c.bearer}` }, body: '{"to":"1"}' }),
    () => f(`${base}/emails`, { method: 'POST', headers: { ...json, authorization: `Bearer ${c.resendKey}`, 'x-api-key': c.headerKey }, body: '{}' }),
    () => f(`${base}/api/v4/leads`, { headers: { 'proxy-authorization': `Basic ${Buffer.from(`${c.proxyUser}:${c.proxyPass}`).toString('base64')}` } }),
    () => f(`${base}/service/Message/SendSmsMessage?output=json&apiKey=${c.apiKey}&token=${c.queryToken}&recipient=1`),
    () => f(`${base}/messages/text`, { method: 'POST', headers: json, body: JSON.stringify({ to: '1', token: c.bodyToken, nested: { client_secret: c.bodySecret } }) }),
    () => f(`${base}/service/Message/SendSmsMessage`, { method: 'POST', headers: form, body: `apiKey=${c.formKey}&recipient=1&text=hi` }),
    () => f(`${withUserinfo}/messages/text`, { method: 'POST', body: '{}' }), // fetch refuses: its message quotes the URL
    () => f(`${base}/bot${c.botToken}/sendMessage`, { method: 'POST', headers: json, body: '{"chat_id":1}' }),
    () => f(`${base}/bot${c.botToken}`),
    () => f(`${base}/bot${c.botToken}/`),
    () =>
      f(`${base}/oauth2/access_token`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ client_id: 'app', client_secret: c.clientSecret, grant_type: 'authorization_code', code: c.oauthCode, redirect_uri: 'https://app.test/cb' }),
      }),
    () => f(`${base}/oauth2/access_token`, { method: 'POST', headers: form, body: `client_id=app&client_secret=${c.clientSecret}&grant_type=refresh_token&refresh_token=${c.refreshToken}` }),
    () => f(`${base}/oauth2/access_token`, { method: 'POST', headers: form, body: `grant_type=authorization_code&code=${c.oauthCode}` }),
    () => f(`${base}/callback#access_token=${c.fragmentToken}&token_type=bearer`),
    () => f(`${base}/hooks`, { method: 'POST', headers: json, body: JSON.stringify({ redirect: `https://app.test/cb?code=${c.oauthCode}&state=1` }) }),
  ];
  for (const call of calls) await call().catch(() => undefined);
  // Errors from the caller's own code, with credentials the recorder was never shown.
  const thrown: unknown[] = [
    new Error(`invalid token: ${c.thrown}`),
    new Error(`request failed and token=${c.thrown}`),
    new Error(`sent Authorization:\tBearer\t${c.thrown}`),
    Object.assign(new Error('denied'), { code: c.thrownCode }),
    new Error(`unauthorized for bot${c.botToken}`),
    new Error(`retry https://${c.user}:${c.pass}@api.example.test/x`),
    new Error(`{"apiKey":"${c.thrown}"}`),
  ];
  for (const e of thrown) {
    await rec
      .track(p, 'send_message', async () => {
        throw e;
      })
      .catch(() => undefined);
  }
  // A request payload that carries credentials, and a provider error echoing them back.
  await rec
    .track(
      p,
      'send_message',
      async () => {
        throw new Error(`echo: ${c.bearer} ${c.queryToken} ${c.user}`);
      },
      {
        request: { url: `https://${c.user}:${c.pass}@api.example.test/x?token=${c.queryToken}`, headers: { Authorization: `Bearer ${c.bearer}` } },
        captureResponse: true,
      },
    )
    .catch(() => undefined);
  return calls.length + thrown.length + 1;
}

it('no credential in any placement, to any of the five providers, reaches a stored column or the catalog', async () => {
  const rounds = 8;
  let calls = 0;
  const all: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const c = credentials();
    all.push(...Object.values(c));
    for (const p of PROVIDERS) calls += await callsTo(p, c, r % 2 === 0);
    // The stand-ins really did echo what the calls carried.
    expect(echo.echoed(c.bearer)).toBeGreaterThan(0);
    expect(echo.echoed(c.botToken)).toBeGreaterThan(0);
    expect(echo.echoed(c.oauthCode)).toBeGreaterThan(0);
  }
  await rec.flush();
  const texts = await rowTexts(db.pool);
  expect(texts).toHaveLength(calls);
  const catalog = (await db.pool.query<{ t: string }>('SELECT row_to_json(s)::text t FROM integration_service_actions s')).rows.map((r) => r.t);
  expect(catalog.length).toBeGreaterThan(0);
  const leaks: string[] = [];
  for (const secret of all) {
    for (const t of texts) if (t.includes(secret)) leaks.push(`${secret} in row ${t.slice(0, 2000)}`);
    for (const t of catalog) if (t.includes(secret)) leaks.push(`${secret} in catalog ${t}`);
  }
  expect(leaks).toEqual([]);
  // Not vacuous: errors and captured payloads were stored.
  const { rows } = await db.pool.query<{ e: string; p: string; q: string }>('SELECT count(error_message) e, count(response_payload) p, count(request_payload) q FROM integration_logs');
  expect(Number(rows[0].e)).toBe(calls);
  expect(Number(rows[0].p)).toBeGreaterThan(0);
  expect(Number(rows[0].q)).toBeGreaterThan(0);
  // Telegram URLs without a method name give no action built from the token.
  const actions = (await db.pool.query<{ action: string }>("SELECT DISTINCT action FROM integration_logs WHERE service_name = 'telegram' ORDER BY 1")).rows.map((r) => r.action);
  expect(actions).toEqual(expect.arrayContaining(['get', 'send_message']));
}, 120_000);
