/**
 * The one table of credential rules (secret-rules.ts), tested by property over names × placements
 * × stores (issue 24, item 7). Each sensitive name, in several spellings (`access_key`,
 * `accessKey`, `ACCESS-KEY`), is carried with a fresh random value in every placement — JSON field
 * at the top, nested and in an array; URL query; header; form body; error text as `name=value`,
 * `name: value` and `"name":"value"` — through instrumentFetch to a stand-in that echoes the whole
 * request back, and through track(). Well-known token shapes ride under harmless names. None of
 * the values may appear in a stored row (row_to_json, real PostgreSQL), in the spool files (the
 * database down) or in dead letters (every row refused). A negative control runs the same
 * property with the table emptied and must find leaks for every name and shape; harmless names
 * (`keyboard`, `monkey`, `pinned`, `options`…) must keep their values.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as sdk from '../../src/index';
import { DEAD_LETTER_FILE } from '../../src/recorder/dead-letter';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { EchoProviders, startEchoProviders } from './fixtures/echo-providers';
import { removeTempDirs, rowTexts, tempDir } from './helpers';

type Sdk = typeof sdk;
const DOWN = 'postgres://x:y@127.0.0.1:1/unreachable';

let db: TestDatabase;
let echo: EchoProviders;
beforeAll(async () => {
  db = await createTestDatabase();
  echo = await startEchoProviders();
  await db.pool.query(`ALTER TABLE integration_logs ADD CONSTRAINT test_poison CHECK (action NOT LIKE 'poison%')`);
});
afterAll(async () => {
  await echo.close();
  await db.drop();
  removeTempDirs();
});
beforeEach(async () => {
  await db.pool.query('DELETE FROM integration_logs');
});

/** The names the issue lists as stored in clear, and the ones redacted before it. */
const SENSITIVE: string[][] = [
  ['key'],
  ['access', 'key'],
  ['client', 'key'],
  ['signing', 'key'],
  ['encryption', 'key'],
  ['api', 'key'],
  ['private', 'key'],
  ['jwt'],
  ['passphrase'],
  ['pin'],
  ['otp'],
  ['cvv'],
  ['hmac'],
  ['x', 'auth'],
  ['x', 'access', 'key'],
  ['x', 'auth', 'key'],
  ['password'],
  ['token'],
  ['access', 'token'],
  ['refresh', 'token'],
  ['secret'],
  ['client', 'secret'],
  ['authorization'],
  ['session'],
  ['signature'],
];
/** Spelt as snake_case, camelCase, UPPER-KEBAB and Title-Kebab. */
function spellings(words: string[]): string[] {
  const cap = (w: string) => w[0].toUpperCase() + w.slice(1);
  return [words.join('_'), words[0] + words.slice(1).map(cap).join(''), words.join('-').toUpperCase(), words.map(cap).join('-')];
}

const HARMLESS = ['keyboard', 'monkey', 'pinned', 'options', 'idempotency_key', 'author', 'bypass', 'keyword', 'topic', 'description'];

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const rand = (n: number, alphabet = ALNUM) => Array.from(crypto.randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** A fresh instance of each well-known credential shape. */
function shapes(): Record<string, string> {
  return {
    stripeSecretLive: `sk_live_${rand(24)}`,
    stripeSecretTest: `sk_test_${rand(24)}`,
    stripeRestricted: `rk_live_${rand(24)}`,
    stripePublishable: `pk_test_${rand(24)}`,
    awsAccessKeyId: `AKIA${rand(16, UPPER)}`,
    githubPat: `ghp_${rand(36)}`,
    githubOauth: `gho_${rand(36)}`,
    githubServer: `ghs_${rand(36)}`,
    githubFineGrained: `github_pat_${rand(22)}_${rand(59)}`,
    slackBot: `xoxb-${rand(12, '0123456789')}-${rand(12, '0123456789')}-${rand(24)}`,
    slackUser: `xoxp-${rand(12, '0123456789')}-${rand(24)}`,
    slackApp: `xoxa-2-${rand(30)}`,
    jwt: `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: rand(8), role: 'service_role' })}.${rand(43, `${ALNUM}_-`)}`,
    telegram: `${crypto.randomInt(100_000_000, 9_999_999_999)}:${rand(35, `${ALNUM}_-`)}`,
    resend: `re_${rand(32)}`,
  };
}

interface Case {
  secret: string;
  what: string;
}

/**
 * Every name in every placement, every shape in every placement, through `api` (the SDK, or a copy
 * of it with another rule table) into `rec`. `poison`: every row is one the database refuses.
 */
async function carry(api: Sdk, rec: sdk.Recorder, poison: boolean): Promise<Case[]> {
  const cases: Case[] = [];
  const s = (what: string) => {
    const secret = `V${rand(20)}`;
    cases.push({ secret, what });
    return secret;
  };
  const action = poison ? 'poison_probe' : 'probe';
  const f = api.instrumentFetch(rec, { hosts: echo.hosts, captureRequest: true, captureResponse: true });
  const base = echo.urls.resend;
  const calls: Array<Promise<unknown>> = [];
  for (const words of SENSITIVE) {
    for (const n of spellings(words)) {
      const json = { [n]: s(`${n} in a JSON field`), data: { inner: { [n]: s(`${n} in a nested JSON field`) } }, items: [{ [n]: s(`${n} in a JSON array`) }] };
      calls.push(
        f(`${base}/emails?${encodeURIComponent(n)}=${s(`${n} in a URL query`)}&page=1`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [n]: s(`${n} as a header`) },
          body: JSON.stringify(json),
          integration: { action },
        }),
        f(`${base}/emails`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `${n}=${s(`${n} in a form body`)}&to=1`, integration: { action } }),
        rec.track('resend', action, () => {
          throw new Error(`refused: ${n}=${s(`${n}=… in error text`)}; ${n}: ${s(`${n}: … in error text`)}; body {"${n}":"${s(`"${n}":"…" in error text`)}"}`);
        }),
      );
    }
  }
  for (const [shape, token] of Object.entries(shapes())) {
    cases.push({ secret: token, what: `${shape} token` });
    calls.push(
      f(`${base}/emails?ref=${encodeURIComponent(token)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-note': token },
        body: JSON.stringify({ note: token, list: [token] }),
        integration: { action },
      }),
      rec.track('resend', action, () => {
        throw new Error(`upstream said: ${token} is not valid`);
      }),
    );
  }
  await Promise.all(calls.map((c) => c.catch(() => undefined)));
  return cases;
}

/** Harmless names with their values, which must survive. */
async function carryHarmless(api: Sdk, rec: sdk.Recorder): Promise<string[]> {
  const values: string[] = [];
  const f = api.instrumentFetch(rec, { hosts: echo.hosts, captureRequest: true, captureResponse: true });
  for (const n of HARMLESS) {
    const [q, h, j, t] = [0, 1, 2, 3].map(() => `keep${rand(12)}`);
    values.push(q, h, j, t);
    await f(`${echo.urls.resend}/emails?${n}=${q}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [n]: h },
      body: JSON.stringify({ [n]: j }),
      integration: { action: 'probe' },
    }).catch(() => undefined);
    await rec.track('resend', 'probe', () => Promise.reject(new Error(`bad ${n}: ${t}`))).catch(() => undefined);
  }
  return values;
}

/** The files of `dir` that `pick` names, as text. */
const filesText = (dir: string, pick: (name: string) => boolean) =>
  fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter(pick)
        .map((f) => fs.readFileSync(path.join(dir, f), 'latin1'))
    : [];

function leaks(cases: Case[], texts: string[]): string[] {
  const all = texts.join('\n');
  return cases.filter((c) => all.includes(c.secret)).map((c) => c.what);
}

/** The property, for one store. Returns what leaked, and the texts searched (for sanity checks). */
async function run(api: Sdk, store: 'rows' | 'spool' | 'dead letters'): Promise<{ leaked: string[]; cases: Case[]; texts: string[] }> {
  await db.pool.query('DELETE FROM integration_logs');
  const spoolDir = tempDir('intmon-rules-');
  const rec = api.createRecorder({ databaseUrl: store === 'spool' ? DOWN : db.url, spoolDir, maxPayloadBytes: 256 * 1024, onError: () => undefined });
  const cases = await carry(api, rec, store === 'dead letters');
  await rec.flush();
  await rec.close();
  const texts = store === 'rows' ? await rowTexts(db.pool) : filesText(spoolDir, (f) => (store === 'spool' ? f.endsWith('.copy') : f === DEAD_LETTER_FILE));
  // Not vacuous: the stand-in received (and echoed) what was carried, and the store holds every call.
  expect(echo.echoed(cases[0].secret)).toBeGreaterThan(0);
  if (store === 'rows') expect(texts.length).toBe(SENSITIVE.length * 4 * 3 + Object.keys(shapes()).length * 2);
  if (store === 'spool') expect(rec.stats().spooled).toBe(SENSITIVE.length * 4 * 3 + Object.keys(shapes()).length * 2);
  if (store === 'dead letters') expect(rec.stats().deadLettered).toBe(SENSITIVE.length * 4 * 3 + Object.keys(shapes()).length * 2);
  return { leaked: leaks(cases, texts), cases, texts };
}

describe.each(['rows', 'spool', 'dead letters'] as const)('no credential reaches the %s', (store) => {
  it('in any placement, under any spelling of any sensitive name, nor any well-known token shape', async () => {
    const { leaked, texts } = await run(sdk, store);
    expect(leaked).toEqual([]);
    // The placements were stored (redacted), not dropped: names survive, values do not.
    const all = texts.join('\n');
    expect(all).toContain('encryptionKey');
    expect(all).toContain('X-AUTH-KEY'.toLowerCase());
    expect(all).toContain('[REDACTED]');
  }, 60_000);
});

it('negative control: with the rule table emptied, the same property finds leaks for every name and every shape', async () => {
  let emptied!: Sdk;
  jest.isolateModules(() => {
    jest.doMock('../../src/recorder/secret-rules', () => ({ SECRET_RULES: { names: [], shapes: [] } }));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    emptied = require('../../src/index') as Sdk;
  });
  const { leaked } = await run(emptied, 'rows');
  for (const words of SENSITIVE) for (const n of spellings(words)) expect(leaked.filter((w) => w.startsWith(`${n} `) || w.startsWith(`"${n}"`)).length).toBeGreaterThan(0);
  for (const shape of Object.keys(shapes())) expect(leaked).toContain(`${shape} token`);
}, 60_000);

it('harmless names keep their values: keyboard, monkey, pinned, options, idempotency_key, author, bypass…', async () => {
  const rec = sdk.createRecorder({ databaseUrl: db.url, spoolDir: tempDir('intmon-rules-'), maxPayloadBytes: 256 * 1024, onError: () => undefined });
  const values = await carryHarmless(sdk, rec);
  await rec.close();
  const all = (await rowTexts(db.pool)).join('\n');
  expect(values.filter((v) => !all.includes(v))).toEqual([]);
}, 60_000);
