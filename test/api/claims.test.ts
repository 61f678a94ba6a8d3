/**
 * Validly signed tokens whose claims have the wrong JSON type (`role: {"toString": 1}`, `sub: []`,
 * `aud: {…}`, objects posing as strings): a 401 `{error}` naming the claim, never a 500 or a stack
 * in the log. A seeded property test (CLAIMS_SEED to replay) sends shapes × claim names, with and
 * without MONITOR_READ_CLAIM.
 */
import { Writable } from 'node:stream';
import { Harness, rawToken, startHarness } from './harness';
import { prng } from '../helpers/prng';

const SEED = Number(process.env.CLAIMS_SEED ?? 20261206);

/** Collects the server's JSON log lines. */
function logSink(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    stream,
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const sinks = { plain: logSink(), claim: logSink() };
let plain: Harness;
let withClaim: Harness;

beforeAll(async () => {
  plain = await startHarness({ logger: { level: 'info', stream: sinks.plain.stream } });
  withClaim = await startHarness({ logger: { level: 'info', stream: sinks.claim.stream }, server: { readClaim: 'app_metadata.role=admin' } });
});
afterAll(async () => {
  await plain?.close();
  await withClaim?.close();
});

async function ask(h: Harness, claims: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
  const r = await h.get('/services', { token: await rawToken(claims) });
  return { status: r.statusCode, body: r.json() };
}

it('role {"toString": 1}: 401 naming the claim, no 500 and no stack in the log', async () => {
  for (const role of [{ toString: 1 }, { valueOf: 1, toString: 1 }, ['authenticated'], 42, true, null]) {
    const r = await ask(plain, { role });
    expect({ role, ...r }).toEqual({ role, status: 401, body: { error: 'invalid token: the role claim must be a string' } });
  }
  const errors = sinks.plain.lines().filter((l) => (l.level as number) >= 50);
  expect(errors).toEqual([]);
  expect(JSON.stringify(sinks.plain.lines())).not.toMatch(/TypeError|\n\s+at /);
});

it('sub, iss, jti must be strings and aud a string or a list of strings', async () => {
  for (const [claim, value] of [
    ['sub', { toString: 1 }],
    ['sub', 7],
    ['iss', ['a']],
    ['jti', {}],
    ['aud', { length: 1 }],
    ['aud', ['ok', 3]],
  ] as const) {
    expect({ claim, ...(await ask(plain, { role: 'authenticated', [claim]: value })) }).toEqual({
      claim,
      status: 401,
      body: { error: `invalid token: the ${claim} claim must be ${claim === 'aud' ? 'a string or a list of strings' : 'a string'}` },
    });
  }
  expect((await ask(plain, { role: 'authenticated', sub: 'user-1', aud: ['a', 'b'], iss: 'x', jti: 'j' })).status).toBe(200);
  // Claims the API does not read may be anything.
  expect((await ask(plain, { role: 'authenticated', app_metadata: { toString: 1 }, email: [] })).status).toBe(200);
});

/** JSON values of every shape, including objects that pose as strings or numbers. */
function shape(rand: () => number, depth = 0): unknown {
  const pick = Math.floor(rand() * (depth > 2 ? 7 : 11));
  switch (pick) {
    case 0:
      return 'authenticated';
    case 1:
      return ['anon', 'service_role', 'admin', '', 'authenticated ', 'AUTHENTICATED', 'x'.repeat(500), '__proto__', 'constructor'][Math.floor(rand() * 9)];
    case 2:
      return Math.floor(rand() * 1e6) - 5e5;
    case 3:
      return rand() < 0.5;
    case 4:
      return null;
    case 5:
      return rand() * 1e308;
    case 6:
      return 'admin';
    case 7:
      return { toString: 1, valueOf: 'x' };
    case 8:
      return Array.from({ length: Math.floor(rand() * 4) }, () => shape(rand, depth + 1));
    case 9:
      return { role: shape(rand, depth + 1), ['__proto__']: { role: 'service_role' } };
    default:
      return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, (_, i) => [['role', 'toJSON', 'toString', 'constructor', `k${i}`][Math.floor(rand() * 5)], shape(rand, depth + 1)]));
  }
}

it(`property: any claim shape in role, sub, iss, aud, jti, app_metadata gets 200/401/403 with {error}, never 5xx (seed ${SEED})`, async () => {
  const rand = prng(SEED);
  const names = ['role', 'sub', 'iss', 'aud', 'jti', 'app_metadata', 'user_metadata', 'email'];
  const seen = new Map<number, number>();
  for (let i = 0; i < 300; i++) {
    const claims: Record<string, unknown> = {};
    for (const name of names) if (rand() < 0.45) claims[name] = shape(rand);
    const h = i % 2 === 0 ? plain : withClaim;
    const r = await ask(h, claims);
    seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
    expect({ i, claims, status: [200, 401, 403].includes(r.status) }).toEqual({ i, claims, status: true });
    if (r.status !== 200) expect(Object.keys(r.body as object)).toEqual(['error']);
  }
  // The generator reaches every outcome (a test that only ever saw 401s would prove little).
  expect([...seen.keys()].sort()).toEqual([200, 401, 403]);
  for (const sink of [sinks.plain, sinks.claim]) {
    expect(sink.lines().filter((l) => (l.level as number) >= 50)).toEqual([]);
  }
});
