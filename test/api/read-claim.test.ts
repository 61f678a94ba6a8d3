/**
 * MONITOR_READ_CLAIM: authenticated tokens without the claim get 403 before any SQL; with it, 200.
 * And defence in depth: the claims reach request.jwt.claims, so the database's own read claim
 * (migration 008) filters a token the API let through.
 */
import { Pool } from 'pg';
import { buildServer } from '../../src/api/server';
import { signToken } from '../../src/secret';
import { startMonitorProcess } from '../helpers/monitor-process';
import { Harness, insertRows, rawToken, SECRET, startHarness } from './harness';

const CLAIM = 'app_metadata.role=admin';
const ENTITY = '11111111-2222-4333-8444-555555555555';
const admin = () => rawToken({ role: 'authenticated', sub: 'u1', app_metadata: { role: 'admin' } });
const customer = () => rawToken({ role: 'authenticated', sub: 'u2', app_metadata: { role: 'customer' } });

let h: Harness;
let logId: string;
const endpoints = () => ['/stats', '/failures', '/health', '/timeseries?metric=volume', '/services', `/logs?entity_type=lead&entity_id=${ENTITY}`, `/logs/${logId}`];

beforeAll(async () => {
  h = await startHarness({ server: { readClaim: CLAIM } });
  [logId] = await insertRows(h.db, [{ service: 'amocrm', action: 'sync_lead', status: 'failed', at: new Date(Date.now() - 60_000), duration: 120, entityType: 'lead', entityId: ENTITY }]);
});
afterAll(() => h.close());

async function statuses(token: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const e of endpoints()) out[e] = (await h.get(e, { token })).statusCode;
  return out;
}
const all = (code: number) => Object.fromEntries(endpoints().map((e) => [e, code]));

describe('MONITOR_READ_CLAIM in the API', () => {
  test('authenticated without the claim → 403 on every data endpoint, with a reason', async () => {
    expect(await statuses(await customer())).toEqual(all(403));
    expect(await statuses(h.tokens.authenticated)).toEqual(all(403)); // no app_metadata at all
    const res = await h.get('/stats', { token: await customer() });
    expect(res.json().error).toMatch(/app_metadata\.role/);
  });

  test('authenticated with the claim → 200 with data; service_role needs no claim', async () => {
    expect(await statuses(await admin())).toEqual(all(200));
    expect((await h.get(`/logs/${logId}`, { token: await admin() })).json().service_name).toBe('amocrm');
    expect(await statuses(h.tokens.service_role)).toEqual(all(200));
  });

  test('the 403 comes before any SQL: it is given even when the database cannot be reached', async () => {
    // Port 1 on loopback: nothing listens, so any query would fail (500/503), not 403.
    const pool = new Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', connectionTimeoutMillis: 2000 });
    pool.on('error', () => undefined);
    const app = await buildServer({ pool, jwtSecret: SECRET, readClaim: CLAIM, cacheTtlMs: 0 });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const port = (app.server.address() as { port: number }).port;
      const call = async (token: string) => (await fetch(`http://127.0.0.1:${port}/api/admin/integrations/monitoring/stats`, { headers: { authorization: `Bearer ${token}` } })).status;
      expect(await call(await customer())).toBe(403);
      expect(await call(await admin())).not.toBe(403); // with the claim it tries the database, which fails
    } finally {
      await app.close();
      await pool.end();
    }
  });

  test('the Grafana token `start` prints carries the claim, so it reads', async () => {
    const m = await startMonitorProcess({ DATABASE_URL: h.db.url, MONITOR_JWT_SECRET: SECRET, MONITOR_READ_CLAIM: CLAIM });
    try {
      const readToken = /^grafana .*: (\S+)$/m.exec(m.output())![1];
      const get = async (token: string) => (await fetch(`${m.apiUrl}/api/admin/integrations/monitoring/services`, { headers: { authorization: `Bearer ${token}` } })).status;
      expect(m.output()).toMatch(/^reads\s+authenticated tokens need the claim app_metadata\.role=admin$/m);
      expect(await get(readToken)).toBe(200);
      expect(await get(await customer())).toBe(403);
    } finally {
      await m.stop();
    }
  });

  test('a malformed MONITOR_READ_CLAIM stops the server from starting', async () => {
    await expect(buildServer({ pool: h.db.pool, jwtSecret: SECRET, readClaim: 'admin' })).rejects.toThrow(/path\.to\.claim=value/);
  });
});

describe('defence in depth: the database checks the same claims', () => {
  let open: Harness;
  beforeAll(async () => {
    // The API requires no claim here; only the database does.
    open = await startHarness();
    await insertRows(open.db, [{ service: 'amocrm', action: 'sync_lead', status: 'failed', at: new Date(Date.now() - 60_000), duration: 120 }]);
    await open.db.pool.query(`UPDATE integration_monitor_settings SET read_claim = $1`, [CLAIM]);
  });
  afterAll(() => open.close());

  test('a token the API lets through reads nothing without the claim, everything with it', async () => {
    const failures = async (token: string) => {
      const res = await open.get('/failures', { token });
      expect(res.statusCode).toBe(200);
      return res.json().rows.length as number;
    };
    expect(await failures(await customer())).toBe(0);
    expect(await failures(await signToken(SECRET, 'authenticated', 3600))).toBe(0);
    expect(await failures(await admin())).toBe(1);
    expect((await open.get('/services', { token: await customer() })).json().services).toEqual([]);
    expect((await open.get('/services', { token: await admin() })).json().services).not.toEqual([]);
  });
});
