/**
 * The auth matrix on every data endpoint, and proof that Postgres (grants, RLS, the claims it is
 * handed) decides what a role sees: changing a policy changes the answer with no API change.
 */

import { withRoleTransaction } from '../../src/store/role-transaction';
import { Harness, insertRows, rawToken, startHarness } from './harness';

let h: Harness;
let logId: string;
const ENTITY = '11111111-2222-4333-8444-555555555555';

beforeAll(async () => {
  h = await startHarness();
  const now = Date.now();
  [logId] = await insertRows(h.db, [
    { service: 'amocrm', action: 'sync_lead', status: 'failed', at: new Date(now - 60_000), duration: 120, entityType: 'lead', entityId: ENTITY },
    { service: 'resend', action: 'send_email', status: 'success', at: new Date(now - 120_000), duration: 80, entityType: 'email', entityId: ENTITY },
  ]);
});
afterAll(() => h.close());

const endpoints = () => ['/stats', '/failures', '/health', '/timeseries?metric=volume', '/services', `/logs?entity_type=lead&entity_id=${ENTITY}`, `/logs/${logId}`];

async function statusFor(authorization: string | undefined): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const e of endpoints()) {
    const res = await h.get(e, { token: null, headers: authorization === undefined ? {} : { authorization } });
    out[e] = res.statusCode;
    expect(typeof res.json().error === 'string' || res.statusCode === 200).toBe(true);
  }
  return out;
}
const all = (code: number) => Object.fromEntries(endpoints().map((e) => [e, code]));

describe('auth matrix', () => {
  it('no token → 401', async () => {
    expect(await statusFor(undefined)).toEqual(all(401));
    expect((await h.get('/stats', { token: null })).headers['www-authenticate']).toMatch(/^Bearer/);
  });
  it('malformed → 401', async () => {
    for (const header of ['Bearer', 'Bearer abc', 'Basic dXNlcjpwYXNz', 'Bearer a.b.c', `bearer-ish ${h.tokens.authenticated}`, `Bearer ${h.tokens.authenticated}x!`]) {
      expect(await statusFor(header)).toEqual(all(401));
    }
  });
  it('wrongly signed → 401', async () => {
    expect(await statusFor(`Bearer ${await rawToken({ role: 'authenticated' }, { secret: 'another-secret-another-secret-another' })}`)).toEqual(all(401));
  });
  it('alg none → 401', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    expect(await statusFor(`Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ role: 'service_role' })}.`)).toEqual(all(401));
  });
  it('expired → 401', async () => {
    expect(await statusFor(`Bearer ${await rawToken({ role: 'service_role' }, { expiresAt: Math.floor(Date.now() / 1000) - 60 })}`)).toEqual(all(401));
  });
  it('anon → 403 (Postgres refuses the anon role)', async () => {
    expect(await statusFor(`Bearer ${h.tokens.anon}`)).toEqual(all(403));
  });
  it('a token without a role is anon → 403', async () => {
    expect(await statusFor(`Bearer ${await rawToken({ sub: 'someone' })}`)).toEqual(all(403));
  });
  it('authenticated → 200 with data', async () => {
    expect(await statusFor(`Bearer ${h.tokens.authenticated}`)).toEqual(all(200));
    expect((await h.get(`/logs/${logId}`)).json().service_name).toBe('amocrm');
  });
  it('service_role → 200 with data', async () => {
    expect(await statusFor(`Bearer ${h.tokens.service_role}`)).toEqual(all(200));
  });
  it('unknown roles, including real but privileged ones → 403', async () => {
    for (const role of ['admin', 'postgres', 'pg_read_all_data', 'authenticated; DROP TABLE integration_logs', '']) {
      expect(await statusFor(`Bearer ${await rawToken({ role })}`)).toEqual(all(403));
    }
  });
});

describe('Postgres decides, the API only relays', () => {
  afterEach(async () => {
    await h.db.pool.query('DROP POLICY IF EXISTS api_test_anon_read ON integration_logs');
    await h.db.pool.query('REVOKE SELECT ON integration_logs FROM anon');
    await h.db.pool.query(
      'DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE policyname = $p$integration_logs_read_authenticated$p$) THEN CREATE POLICY integration_logs_read_authenticated ON integration_logs FOR SELECT TO authenticated USING (true); END IF; END $$',
    );
  });

  it('without its read policy, authenticated sees no rows (RLS filters, no API change)', async () => {
    expect((await h.get('/failures')).json().rows.length).toBe(1);
    await h.db.pool.query('DROP POLICY integration_logs_read_authenticated ON integration_logs');
    const res = await h.get('/failures');
    expect(res.statusCode).toBe(200);
    expect(res.json().rows).toEqual([]);
    expect((await h.get(`/logs/${logId}`)).statusCode).toBe(404);
  });

  it('granting anon a policy lets anon read exactly what the policy and its token claims allow', async () => {
    await h.db.pool.query('GRANT SELECT ON integration_logs TO anon');
    // The policy reads the claims the API put in request.jwt.claims.
    await h.db.pool.query("CREATE POLICY api_test_anon_read ON integration_logs FOR SELECT TO anon USING (related_entity_type = current_setting('request.jwt.claims', true)::json->>'entity')");
    const asEmail = await rawToken({ role: 'anon', entity: 'email' });
    const res = await h.get(`/logs?entity_id=${ENTITY}`, { token: asEmail });
    expect(res.statusCode).toBe(200);
    expect(res.json().rows.map((r: { service_name: string }) => r.service_name)).toEqual(['resend']);
    const asLead = await rawToken({ role: 'anon', entity: 'lead' });
    expect((await h.get(`/logs?entity_id=${ENTITY}`, { token: asLead })).json().rows.map((r: { service_name: string }) => r.service_name)).toEqual(['amocrm']);
  });

  it('requests leave no role or claims behind on pooled connections', async () => {
    await Promise.all([h.get('/stats'), h.get('/failures'), h.get('/services'), h.get('/health', { token: h.tokens.anon })]);
    // Hold every connection the pool has made at once, so each one is inspected.
    const clients = await Promise.all(Array.from({ length: h.db.pool.totalCount }, () => h.db.pool.connect()));
    try {
      for (const c of clients) {
        const { rows } = await c.query("SELECT current_user AS u, coalesce(current_setting('request.jwt.claims', true), '') AS claims");
        expect(rows[0]).toEqual({ u: 'postgres', claims: '' });
      }
    } finally {
      clients.forEach((c) => c.release());
    }
  });

  it('the request transaction is read-only, even for service_role', async () => {
    const insert = withRoleTransaction(h.db.pool, { role: 'service_role' }, (db) => db.query("INSERT INTO integration_logs (service_name, action, status) VALUES ('x', 'y', 'success')"), {
      readOnly: true,
    });
    await expect(insert).rejects.toMatchObject({ code: '25006' });
  });
});
