/**
 * Token lifetime rules, over HTTP: exp required, lifetime capped (default one year, jose's 365.25
 * days), iat/nbf more than 60 s in the future refused, issuer/audience checked when configured.
 * Every refusal is a 401 `{error}` that says why.
 */
import { SignJWT } from 'jose';
import { signToken } from '../../src/secret';
import { Harness, SECRET, startHarness } from './harness';

const now = () => Math.floor(Date.now() / 1000);
const DAY = 86_400;

/** A token with exactly the claims given (no defaults added). */
function token(claims: Record<string, unknown>, secret = SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
}

async function status(h: Harness, t: string): Promise<{ status: number; error?: string }> {
  const r = await h.get('/services', { token: t });
  return r.statusCode === 200 ? { status: 200 } : { status: r.statusCode, error: r.json().error };
}

describe('default rules', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('refuses a token without exp, even a correctly signed one', async () => {
    expect(await status(h, await token({ role: 'authenticated', iat: now() }))).toEqual({ status: 401, error: expect.stringMatching(/no exp/) });
  });

  it('accepts a lifetime up to one year and refuses a longer one (from iat, or from now without iat)', async () => {
    const t = now();
    expect(await status(h, await token({ role: 'authenticated', iat: t, exp: t + 365 * DAY }))).toEqual({ status: 200 });
    expect(await status(h, await signToken(SECRET, 'authenticated', '1y'))).toEqual({ status: 200 });
    expect(await status(h, await token({ role: 'authenticated', iat: t, exp: t + 366 * DAY }))).toEqual({ status: 401, error: expect.stringMatching(/lifetime exceeds/) });
    expect(await status(h, await token({ role: 'authenticated', exp: t + 400 * DAY }))).toEqual({ status: 401, error: expect.stringMatching(/lifetime exceeds/) });
    // An old iat does not let a token live past the cap either.
    expect(await status(h, await token({ role: 'authenticated', iat: t - 300 * DAY, exp: t + 100 * DAY }))).toEqual({ status: 401, error: expect.stringMatching(/lifetime exceeds/) });
  });

  it('refuses iat or nbf more than 60 s ahead, accepts them within the skew', async () => {
    const t = now();
    expect(await status(h, await token({ role: 'authenticated', iat: t + DAY, exp: t + 2 * DAY }))).toEqual({ status: 401, error: expect.stringMatching(/issued in the future/) });
    expect(await status(h, await token({ role: 'authenticated', iat: t + 120, exp: t + DAY }))).toEqual({ status: 401, error: expect.stringMatching(/issued in the future/) });
    expect(await status(h, await token({ role: 'authenticated', iat: t + 30, exp: t + DAY }))).toEqual({ status: 200 });
    expect(await status(h, await token({ role: 'authenticated', iat: t, nbf: t + 120, exp: t + DAY }))).toEqual({ status: 401, error: expect.stringMatching(/not valid yet/) });
    expect(await status(h, await token({ role: 'authenticated', iat: t, nbf: t + 30, exp: t + DAY }))).toEqual({ status: 200 });
  });

  it('an expired token is refused with no grace period', async () => {
    const t = now();
    expect(await status(h, await token({ role: 'authenticated', iat: t - 100, exp: t - 2 }))).toEqual({ status: 401, error: 'token expired' });
  });
});

describe('configured cap, issuer and audience', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ tokens: { maxTtlSeconds: 3600, issuer: 'https://auth.example', audience: 'integration-monitor' } });
  });
  afterAll(() => h.close());

  it('checks iss and aud when set, and the configured cap', async () => {
    const t = now();
    const ok = { role: 'authenticated', iat: t, exp: t + 600, iss: 'https://auth.example', aud: 'integration-monitor' };
    expect(await status(h, await token(ok))).toEqual({ status: 200 });
    expect(await status(h, await signToken(SECRET, 'authenticated', 600, { iss: 'https://auth.example', aud: 'integration-monitor' }))).toEqual({ status: 200 });
    expect(await status(h, await token({ ...ok, iss: 'https://evil.example' }))).toEqual({ status: 401, error: 'token issuer not accepted' });
    expect(await status(h, await token({ ...ok, iss: undefined }))).toEqual({ status: 401, error: 'token issuer not accepted' });
    expect(await status(h, await token({ ...ok, aud: 'other' }))).toEqual({ status: 401, error: 'token audience not accepted' });
    expect(await status(h, await token({ ...ok, exp: t + 7200 }))).toEqual({ status: 401, error: expect.stringMatching(/lifetime exceeds the allowed 3600 s/) });
  });
});
