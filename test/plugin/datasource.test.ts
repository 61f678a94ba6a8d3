/**
 * The data source on recorded API responses: the URLs it asks for, the frames it makes, variables,
 * annotations and the words it uses when something is wrong.
 */
import { DataFrame, DataSourceInstanceSettings, FieldType, getDisplayProcessor, createTheme } from '@grafana/data';
import { firstValueFrom, lastValueFrom } from 'rxjs';

import type { HealthResponse, LogPage, TimeseriesResponse } from '../../src/contract';
import { failureEvents } from '../../src/plugin/annotations';
import { DataSource } from '../../src/plugin/datasource';
import { failuresFrame } from '../../src/plugin/frames';
import type { IntmonVariableSupport } from '../../src/plugin/variables';
import type { IntmonOptions, IntmonQuery, VariableQuery } from '../../src/plugin/types';
import { API_BASE, fixture, FixtureBackend, INSTANCE_URL, request, TestTemplateSrv } from './helpers';

const settings = (jsonData: IntmonOptions = { apiUrl: 'http://api:3100' }): DataSourceInstanceSettings<IntmonOptions> =>
  ({
    id: 1,
    uid: 'intmon',
    type: 'intmon-integrations-datasource',
    name: 'Integration Monitor',
    url: INSTANCE_URL,
    jsonData,
    meta: {} as DataSourceInstanceSettings['meta'],
    readOnly: false,
    access: 'proxy',
  }) as DataSourceInstanceSettings<IntmonOptions>;

const RANGE = 'from=2026-11-20T00:00:00.000Z&to=2026-11-20T04:00:00.000Z';
let backend: FixtureBackend;
let ds: DataSource;

beforeEach(() => {
  new TestTemplateSrv([
    { name: 'service', current: ['resend', 'telegram'], options: ['amocrm', 'resend', 'telegram'] },
    { name: 'one', current: 'amocrm', options: ['amocrm'] },
    { name: 'entity_type', current: '', options: [] },
    { name: 'entity_id', current: '', options: [] },
    { name: 'svc_star', current: ['$__all'], options: ['amocrm', 'resend'], allValue: '*' },
  ]).install();
  backend = new FixtureBackend().install();
  for (const name of ['services', 'timeseries-failure-rate-by-service', 'timeseries-volume', 'timeseries-latency-p95-by-action', 'failures', 'logs-lead', 'health']) {
    const f = fixture(name);
    backend.on(f.request, f);
  }
  ds = new DataSource(settings());
});

const run = (targets: IntmonQuery[], o = {}) => lastValueFrom(ds.query(request(targets, o)));
const field = (frame: DataFrame, name: string) => frame.fields.find((f) => f.name === name)!;

describe('query → frames', () => {
  test('failure rate by service: one time series per service, percent, named by service', async () => {
    const res = await run([{ refId: 'A', queryType: 'timeseries', metric: 'failure_rate', groupBy: 'service', interval: '1h' }]);
    expect(backend.urls).toEqual([`${API_BASE}/timeseries?metric=failure_rate&interval=1h&${RANGE}&group_by=service&tz=UTC`]);
    const body = fixture<TimeseriesResponse>('timeseries-failure-rate-by-service').body;
    expect(res.errors).toBeUndefined();
    expect(res.data).toHaveLength(body.series.length);
    res.data.forEach((frame: DataFrame, i: number) => {
      const s = body.series[i];
      expect(frame.refId).toBe('A');
      expect(frame.name).toBe(s.labels.service);
      expect(frame.fields.map((f) => f.type)).toEqual([FieldType.time, FieldType.number]);
      expect(frame.fields[0].values).toEqual(s.points.map((p) => p[0]));
      expect(frame.fields[1].values).toEqual(s.points.map((p) => p[1]));
      expect(frame.fields[1].labels).toEqual({ service: s.labels.service });
      expect(frame.fields[1].config).toMatchObject({ unit: 'percent', displayNameFromDS: s.labels.service, min: 0, max: 100 });
    });
  });

  test('a value is displayed with its unit (percent, ms)', async () => {
    const [pct] = (await run([{ refId: 'A', queryType: 'timeseries', metric: 'failure_rate', groupBy: 'service', interval: '1h' }])).data;
    const display = getDisplayProcessor({ field: pct.fields[1], theme: createTheme() });
    expect(display(50).suffix).toBe('%');
    backend.requests.length = 0;
    const [ms] = (await run([{ refId: 'B', queryType: 'timeseries', metric: 'latency_p95', groupBy: 'action', services: ['resend'], interval: '1h' }])).data;
    expect(ms.fields[1].config.unit).toBe('ms');
    expect(getDisplayProcessor({ field: ms.fields[1], theme: createTheme() })(752).suffix).toBe(' ms');
  });

  test('ungrouped volume: one series named after the metric, unit short', async () => {
    const res = await run([{ refId: 'V', queryType: 'timeseries', metric: 'volume', interval: '1h' }]);
    expect(res.data).toHaveLength(1);
    expect(res.data[0].name).toBe('Call volume');
    expect(res.data[0].fields[1].config.unit).toBe('short');
    expect(res.data[0].fields[1].values).toEqual(fixture<TimeseriesResponse>('timeseries-volume').body.series[0].points.map((p) => p[1]));
  });

  test('bucket width follows the panel interval when the query sets none', async () => {
    backend.on('/timeseries', { status: 200, body: { metric: 'volume', unit: 'short', interval_ms: 300000, from: '', to: '', series: [] } });
    await run([{ refId: 'A', queryType: 'timeseries', metric: 'volume' }], { intervalMs: 300_000 });
    expect(new URL(backend.urls[0], 'http://x').searchParams.get('interval')).toBe('5m');
  });

  test('series grouped by action are named by action; service filter sent', async () => {
    const res = await run([{ refId: 'B', queryType: 'timeseries', metric: 'latency_p95', groupBy: 'action', services: ['resend'], interval: '1h' }]);
    expect(new URL(backend.urls[0], 'http://x').searchParams.getAll('service')).toEqual(['resend']);
    expect(res.data.map((f: DataFrame) => f.name)).toEqual(['send_batch', 'send_email']);
  });

  test('health: a table with units and state colours', async () => {
    const res = await run([{ refId: 'H', queryType: 'health', window: '24h' }]);
    expect(backend.urls).toEqual([`${API_BASE}/health?window=24h`]);
    const body = fixture<HealthResponse>('health').body;
    const [frame] = res.data as DataFrame[];
    expect(frame.length).toBe(body.services.length);
    expect(field(frame, 'service_name').values).toEqual(body.services.map((s) => s.service_name));
    expect(field(frame, 'failure_rate_percent').config.unit).toBe('percent');
    expect(field(frame, 'avg_duration_ms').config.unit).toBe('ms');
    expect(field(frame, 'p95_duration_ms').config.unit).toBe('ms');
    expect(field(frame, 'total_requests').config.unit).toBe('short');
    expect(field(frame, 'last_call_at').type).toBe(FieldType.time);
    expect(field(frame, 'last_failure_at').values).toEqual(body.services.map((s) => (s.last_failure_at ? Date.parse(s.last_failure_at) : null)));
    const mapping = field(frame, 'state').config.mappings![0].options as Record<string, { color: string }>;
    expect(mapping.down.color).toBe('red');
    expect(mapping.ok.color).toBe('green');
  });

  test('health without a window asks for the dashboard range length', async () => {
    backend.on('/health', { status: 200, body: { window: '240m', from: '', to: '', services: [] } });
    await run([{ refId: 'H', queryType: 'health' }]);
    expect(backend.urls).toEqual([`${API_BASE}/health?window=240m`]);
  });

  test('failures: newest first, time field, ms durations', async () => {
    const res = await run([{ refId: 'F', queryType: 'failures', limit: 10 }]);
    expect(backend.urls).toEqual([`${API_BASE}/failures?limit=10&${RANGE}`]);
    const page = fixture<LogPage>('failures').body;
    const [frame] = res.data as DataFrame[];
    expect(field(frame, 'created_at').type).toBe(FieldType.time);
    expect(field(frame, 'created_at').values).toEqual(page.rows.map((r) => Date.parse(r.created_at)));
    expect(field(frame, 'error_message').values).toEqual(page.rows.map((r) => r.error_message));
    expect(field(frame, 'duration_ms').config.unit).toBe('ms');
    expect(frame.meta?.custom).toEqual({ nextBefore: page.next_before });
  });

  test('logs by entity: a logs frame with one line per call', async () => {
    const f = fixture<LogPage>('logs-lead');
    const entityId = new URL(f.request, 'http://x').searchParams.get('entity_id')!;
    const res = await run([{ refId: 'L', queryType: 'logs', entityType: 'lead', entityId, limit: 100 }]);
    expect(backend.urls).toEqual([`${API_BASE}${f.request}`]);
    const [frame] = res.data as DataFrame[];
    expect(frame.meta?.preferredVisualisationType).toBe('logs');
    expect(field(frame, 'body').values[0]).toBe('amocrm sync_lead failed · 5000 ms · validation-errors: price must be a number');
    expect(field(frame, 'severity').values).toEqual(f.body.rows.map((r) => (r.status === 'failed' ? 'error' : 'info')));
  });

  test('hidden and incomplete queries are not sent', async () => {
    const res = await run([
      { refId: 'A', queryType: 'timeseries', metric: 'volume', hide: true },
      { refId: 'B', queryType: 'logs' },
    ]);
    expect(backend.requests).toHaveLength(0);
    expect(res.data).toEqual([]);
    expect(ds.filterQuery({ refId: 'C', queryType: 'logs', entityId: 'x' })).toBe(true);
    expect(ds.filterQuery({ refId: 'D', queryType: 'timeseries', metric: 'nope' } as unknown as IntmonQuery)).toBe(false);
  });

  test('a logs query whose variables are empty text boxes is judged after interpolation: not sent', async () => {
    const q: IntmonQuery = { refId: 'E', queryType: 'logs', entityType: '$entity_type', entityId: '$entity_id', limit: 200 };
    expect(ds.filterQuery(q)).toBe(false);
    const res = await run([q]);
    expect(backend.requests).toHaveLength(0); // not /logs?limit=200, which would list every service's calls
    expect(res.data).toEqual([]);
    expect(ds.filterQuery({ ...q, entityType: '$one' })).toBe(true);
  });

  test('an older saved shape is migrated before it is sent', async () => {
    await run([{ refId: 'A', queryType: 'failure_rate', service: 'resend,telegram', groupBy: 'service', interval: '1h' } as unknown as IntmonQuery]);
    const url = new URL(backend.urls[0], 'http://x');
    expect(url.pathname).toBe(`${API_BASE}/timeseries`);
    expect(url.searchParams.get('metric')).toBe('failure_rate');
    expect(url.searchParams.getAll('service')).toEqual(['resend', 'telegram']);
  });
});

describe('the dashboard’s time zone reaches the API', () => {
  const tzOf = (url: string) => new URL(url, 'http://x').searchParams.get('tz');
  const volume: IntmonQuery = { refId: 'A', queryType: 'timeseries', metric: 'volume', interval: '1d' };

  test.each([
    ['utc', 'UTC'],
    ['Asia/Almaty', 'Asia/Almaty'],
    ['America/New_York', 'America/New_York'],
  ])('request timezone %s → tz=%s on /timeseries', async (timezone, tz) => {
    backend.on('/timeseries', fixture('timeseries-volume'));
    await run([volume], { timezone });
    expect(backend.urls.map(tzOf)).toEqual([tz]);
  });

  test.each(['browser', ''])('request timezone %j → the browser’s own zone, as Intl resolves it', async (timezone) => {
    const spy = jest.spyOn(Intl, 'DateTimeFormat').mockImplementation(() => ({ resolvedOptions: () => ({ timeZone: 'Asia/Kathmandu' }) }) as unknown as Intl.DateTimeFormat);
    try {
      backend.on('/timeseries', fixture('timeseries-volume'));
      await run([volume], { timezone });
      expect(backend.urls.map(tzOf)).toEqual(['Asia/Kathmandu']);
    } finally {
      spy.mockRestore();
    }
  });

  test('queries that do not bucket by time carry no tz', async () => {
    await run([{ refId: 'F', queryType: 'failures', limit: 10 }], { timezone: 'Asia/Almaty' });
    expect(backend.urls.map(tzOf)).toEqual([null]);
  });
});

describe('template variables in queries', () => {
  test('multi-value variable becomes repeated parameters', async () => {
    backend.on('/timeseries', { status: 200, body: { metric: 'volume', unit: 'short', interval_ms: 3600000, from: '', to: '', series: [] } });
    await run([{ refId: 'A', queryType: 'timeseries', metric: 'volume', services: ['$service'], actions: ['${one}'] }]);
    const url = new URL(backend.urls[0], 'http://x');
    expect(url.searchParams.getAll('service')).toEqual(['resend', 'telegram']);
    expect(url.searchParams.getAll('action')).toEqual(['amocrm']);
  });

  test('scoped vars (repeated panels) win over the dashboard value', async () => {
    backend.on('/failures', { status: 200, body: { rows: [], next_before: null } });
    await run([{ refId: 'A', queryType: 'failures', services: ['$service'] }], { scopedVars: { service: { text: 'whapi', value: 'whapi' } } });
    expect(new URL(backend.urls[0], 'http://x').searchParams.getAll('service')).toEqual(['whapi']);
  });

  test('All with a custom all value (*), handed back raw by Grafana, is no filter', async () => {
    backend.on('/failures', { status: 200, body: { rows: [], next_before: null } });
    await run([{ refId: 'A', queryType: 'failures', services: ['$svc_star'] }]);
    expect(new URL(backend.urls[0], 'http://x').searchParams.getAll('service')).toEqual([]);
  });

  test('interpolateVariablesInQueries resolves lists the same way', () => {
    const [q] = ds.interpolateVariablesInQueries([{ refId: 'A', queryType: 'failures', services: ['$service', 'amocrm'] }], {});
    expect(q).toMatchObject({ services: ['resend', 'telegram', 'amocrm'] });
  });
});

describe('errors', () => {
  test('a 400 names the offending parameter', async () => {
    const f = fixture('error-400-metric');
    backend.on('/timeseries', f);
    const res = await run([{ refId: 'A', queryType: 'timeseries', metric: 'volume' }]);
    expect(res.data).toEqual([]);
    expect(res.errors).toEqual([
      { refId: 'A', status: 400, message: 'Invalid query: metric: must be one of volume, failure_rate, latency_avg, latency_p50, latency_p95, latency_p99 (parameter "metric")' },
    ]);
  });

  test('a 401 points at the token; other queries still return frames', async () => {
    backend.on('/failures', fixture('error-401'));
    const res = await run([
      { refId: 'A', queryType: 'failures' },
      { refId: 'H', queryType: 'health', window: '24h' },
    ]);
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]).toMatchObject({ refId: 'A', status: 401 });
    expect(res.errors![0].message).toBe('The API rejected the token (401: missing Authorization: Bearer <token>). Check the API token in the data source settings.');
    expect(res.data.map((f: DataFrame) => f.refId)).toEqual(['H']);
  });

  test("the data proxy's 400 for an upstream 401 points at the token, not at the query", async () => {
    // pkg/api/pluginproxy/ds_proxy.go: status 400, plain-text body, no JSON.
    backend.on('/failures', { status: 400, statusText: 'Bad Request', body: 'Authentication to data source failed' });
    const res = await run([{ refId: 'A', queryType: 'failures' }]);
    expect(res.errors![0]).toMatchObject({ refId: 'A', status: 401 });
    expect(res.errors![0].message).toBe('The API rejected the token (Grafana\'s data proxy: "Authentication to data source failed"). Check the API token in the data source settings.');
  });

  test('a 502 from the proxy points at the URL', async () => {
    const res = await run([{ refId: 'A', queryType: 'timeseries', metric: 'latency_p99', interval: '2h' }]);
    expect(res.errors![0].message).toBe('Cannot reach the Integration Monitor API (502: Bad Gateway). Check the API URL in the data source settings.');
  });
});

describe('variables', () => {
  const values = (q: VariableQuery | string) => ds.metricFindQuery(q).then((v) => v.map((x) => x.text));

  test('services and actions from /services', async () => {
    expect(await values({ refId: 'v', kind: 'services' })).toEqual(['amocrm', 'resend', 'telegram']);
    expect(await values({ refId: 'v', kind: 'actions' })).toEqual(['send_batch', 'send_email', 'send_message', 'sync_lead']);
    expect(await values({ refId: 'v', kind: 'actions', services: ['resend'] })).toEqual(['send_batch', 'send_email']);
    expect(backend.urls.every((u) => u === `${API_BASE}/services`)).toBe(true);
  });

  test('actions of a multi-value $service variable; legacy string queries', async () => {
    expect(await values({ refId: 'v', kind: 'actions', services: ['$service'] })).toEqual(['send_batch', 'send_email', 'send_message']);
    expect(await values('services')).toEqual(['amocrm', 'resend', 'telegram']);
    expect(await values('actions($one)')).toEqual(['sync_lead']);
  });

  test('custom variable support returns a text/value frame', async () => {
    const support = ds.variables as IntmonVariableSupport;
    const res = await firstValueFrom(support.query(request<VariableQuery>([{ refId: 'v', kind: 'services' }])));
    const frame = res.data[0] as DataFrame;
    expect(frame.fields.map((f) => f.name)).toEqual(['text', 'value']);
    expect(frame.fields[0].values).toEqual(['amocrm', 'resend', 'telegram']);
  });
});

describe('annotations', () => {
  test('each failure becomes an event tagged by service and action', async () => {
    const anno = ds.annotations!;
    expect(anno.getDefaultQuery!()).toEqual({ queryType: 'failures', limit: 100 });
    const res = await run([{ refId: 'Anno', queryType: 'failures', limit: 10 }]);
    const events = await firstValueFrom(anno.processEvents!({ enable: true, name: 'Failures', iconColor: 'red', target: { refId: 'Anno', queryType: 'failures' } } as never, res.data));
    const rows = fixture<LogPage>('failures').body.rows;
    expect(events).toEqual(
      rows.map((r) => ({
        time: Date.parse(r.created_at),
        title: `${r.service_name} ${r.action} failed`,
        text: r.error_message,
        tags: [r.service_name, r.action],
        id: r.id,
      })),
    );
  });

  test('error codes become tags', () => {
    const frameRows = { ...fixture<LogPage>('failures').body };
    frameRows.rows = frameRows.rows.slice(0, 1).map((r) => ({ ...r, error_code: '429' }));
    const frame = failuresFrame(frameRows, 'A');
    expect(failureEvents([frame])[0].tags).toEqual([frameRows.rows[0].service_name, frameRows.rows[0].action, 'code:429']);
  });
});

describe('testDatasource', () => {
  test('success: says URL and token are fine and lists services', async () => {
    backend.on('/healthz', { status: 200, body: { status: 'ok' } });
    const res = await ds.testDatasource();
    expect(res).toEqual({ status: 'success', message: 'Connected to http://api:3100: URL and token are fine; 3 service(s) recorded (amocrm, resend, telegram).' });
    expect(backend.urls).toEqual([`${INSTANCE_URL}/api/healthz`, `${API_BASE}/services`]);
  });

  test('no URL configured', async () => {
    const res = await new DataSource(settings({})).testDatasource();
    expect(res.status).toBe('error');
    expect(res.message).toMatch(/^The API URL is not set/);
    expect(backend.requests).toHaveLength(0);
  });

  test('unreachable URL (proxy 502): blames the URL and never asks the authenticated endpoint', async () => {
    const res = await ds.testDatasource();
    expect(res).toEqual({
      status: 'error',
      message: 'The API URL looks wrong: cannot reach the Integration Monitor API at http://api:3100 (nothing answered there). Check the API URL.',
    });
    expect(backend.urls).toEqual([`${INSTANCE_URL}/api/healthz`]);
  });

  test('URL of some other server (no /healthz): blames the URL', async () => {
    backend.on('/healthz', { status: 404, body: 'Not Found' });
    const res = await ds.testDatasource();
    expect(res.message).toBe('The API URL looks wrong: cannot reach the Integration Monitor API at http://api:3100 (it answered 404 on /healthz). Check the API URL.');
  });

  test('wrong token (401): blames the token', async () => {
    backend.on('/healthz', { status: 200, body: { status: 'ok' } }).on('/services', fixture('error-401'));
    const res = await ds.testDatasource();
    expect(res).toEqual({
      status: 'error',
      message: 'The API token is wrong: the API at http://api:3100 is reachable but rejected the token (401). Paste a valid token.',
    });
  });

  test("wrong token behind Grafana's data proxy (401 turned into 400): still blames the token", async () => {
    backend.on('/healthz', { status: 200, body: { status: 'ok' } }).on('/services', { status: 400, statusText: 'Bad Request', body: 'Authentication to data source failed' });
    const res = await ds.testDatasource();
    expect(res).toEqual({
      status: 'error',
      message: 'The API token is wrong: the API at http://api:3100 is reachable but rejected the token (401). Paste a valid token.',
    });
  });

  test('token of a role that may not read (403)', async () => {
    backend.on('/healthz', { status: 200, body: { status: 'ok' } }).on('/services', { status: 403, body: { error: 'role anon may not read' } });
    const res = await ds.testDatasource();
    expect(res.status).toBe('error');
    expect(res.message).toMatch(/^The API token is valid but its role may not read monitoring data \(403\)/);
  });
});
