import { validate } from '@readme/openapi-parser';
import { API_PREFIX } from '../../src/contract';
import { servedRoutes } from '../../src/api/server';
import { Harness, startHarness } from './harness';

let h: Harness;
let doc: {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown[]; parameters?: Array<{ name: string; in: string; schema?: unknown }>; responses: Record<string, unknown> }>>;
  components: { securitySchemes: Record<string, unknown> };
};

beforeAll(async () => {
  h = await startHarness();
  const res = await h.get(`${API_PREFIX}/openapi.json`, { token: null });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/application\/json/);
  doc = res.json();
});
afterAll(() => h.close());

const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z_]+)/g, '{$1}');

describe('served OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await validate(structuredClone(doc) as never);
    if (!result.valid) throw new Error(JSON.stringify(result.errors, null, 2));
    expect(doc.openapi).toBe('3.1.0');
    // …and the validator is not a rubber stamp.
    const broken = structuredClone(doc) as Record<string, unknown>;
    delete broken.info;
    expect((await validate(broken as never)).valid).toBe(false);
  });

  it('lists every route the server serves, with its method', () => {
    const routes = servedRoutes(h.app);
    expect(routes.length).toBeGreaterThanOrEqual(10);
    for (const r of routes) {
      expect({ route: `${r.method} ${r.url}`, listed: Boolean(doc.paths[toOpenApiPath(r.url)]?.[r.method.toLowerCase()]) }).toEqual({
        route: `${r.method} ${r.url}`,
        listed: true,
      });
    }
  });

  it('has every endpoint of the issue', () => {
    const expected = ['/stats', '/failures', '/health', '/timeseries', '/services', '/logs', '/logs/{id}', '/openapi.json', '/healthz'];
    for (const p of expected) expect(Object.keys(doc.paths)).toContain(`${API_PREFIX}${p}`);
    expect(Object.keys(doc.paths)).toContain('/healthz');
  });

  it('documents bearer auth and the error responses on every data route, and each parameter with a schema', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    const data = Object.entries(doc.paths).filter(([p]) => !/openapi\.json$|healthz$|readyz$/.test(p));
    expect(data.length).toBe(7);
    for (const [p, ops] of data) {
      const op = ops.get;
      expect({ p, security: op.security }).toEqual({ p, security: [{ bearerAuth: [] }] });
      for (const code of ['200', '400', '401', '403']) expect({ p, code, has: code in op.responses }).toEqual({ p, code, has: true });
      for (const param of op.parameters ?? []) expect({ p, param: param.name, schema: Boolean(param.schema) }).toEqual({ p, param: param.name, schema: true });
    }
    const ts = doc.paths[`${API_PREFIX}/timeseries`].get.parameters!.map((x) => x.name).sort();
    expect(ts).toEqual(['action', 'from', 'group_by', 'interval', 'metric', 'service', 'status', 'to', 'tz']);
  });
});
