/**
 * track() around the providers' real SDKs (sdk-clients.ts) with no inspect/inspectError: their
 * failures are recorded as failed in the provider's words, 429 is retried by the retry policy
 * after the provider's Retry-After / retry_after, and with instrumentHttp on, an SDK that retries
 * on its own inside track() still gives one row.
 */
import { performance } from 'node:perf_hooks';
import { startProviderStandIns, ProviderStandIns } from '../../src/demo/providers';
import { createRecorder, instrumentHttp, Recorder } from '../../src/index';
import { freePort } from '../../src/db/free-port';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { allRows, removeTempDirs, rowTexts, StoredRow, tempDir } from './helpers';
import { CLIENTS, EXPECTED, quietAmocrmJs } from './sdk-clients';
import { AMO_HOST, startAmoFront, TlsFront } from './tls-front';

let db: TestDatabase;
let s: ProviderStandIns;
let rec: Recorder;
let amo: TlsFront;
let loud: () => void;
let deadBase: string;
const seen = new Set<string>();

async function newRows(): Promise<StoredRow[]> {
  await rec.flush();
  const rows = (await allRows(db.pool)).filter((r) => !seen.has(r.id));
  for (const r of rows) seen.add(r.id);
  return rows;
}

beforeAll(async () => {
  db = await createTestDatabase();
  s = await startProviderStandIns();
  // A port nothing listens on: connections to it are refused.
  const deadPort = await freePort();
  deadBase = `http://127.0.0.1:${deadPort}`;
  loud = quietAmocrmJs();
  amo = await startAmoFront(s.urls.amocrm, deadPort);
  rec = createRecorder({ databaseUrl: db.url, spoolDir: tempDir('intmon-track-sdk-'), flushIntervalMs: 50 });
});

afterAll(async () => {
  await rec?.close();
  loud?.();
  await amo?.close();
  await s?.close();
  await db?.drop();
  removeTempDirs();
});

// The SDKs whose results/errors track() reads (global fetch's parsed body carries no status).
const SDKS = CLIENTS.filter((c) => !c.name.startsWith('global fetch'));
const baseOf = (service: string): string => (service === 'amocrm' ? `https://${AMO_HOST}` : s.urls[service as keyof ProviderStandIns['urls']]);

describe.each(SDKS)('track() alone: $name', (client) => {
  test('success stays success', async () => {
    const send = client.connect(baseOf(client.service), s.credentials);
    await rec.track(client.service, 'send', () => send(false));
    const rows = await newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'success', error_code: null });
  });

  test.each(['bad', 'rate_limit'] as const)('%s: failed, with the provider’s code and message', async (kind) => {
    if (kind === 'rate_limit') s.script(client.service, { kind: 'rate_limit', retryAfterSec: 1 });
    const send = client.connect(baseOf(client.service), s.credentials);
    await rec.track(client.service, 'send', () => send(kind === 'bad')).catch(() => undefined);
    const rows = await newRows();
    expect(rows).toHaveLength(1);
    const [code, message] = EXPECTED[client.service][kind];
    expect(rows[0]).toMatchObject({ status: 'failed', error_code: code });
    expect(rows[0].error_message).toMatch(message);
  });

  test('server error: failed', async () => {
    s.script(client.service, 'server_error');
    const send = client.connect(baseOf(client.service), s.credentials);
    await rec.track(client.service, 'send', () => send(false)).catch(() => undefined);
    const rows = await newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0].status).toBe('failed');
  });

  test('429 is retried by the retry policy after the provider’s wait, then succeeds', async () => {
    s.script(client.service, { kind: 'rate_limit', retryAfterSec: 1 }, 'ok');
    const send = client.connect(baseOf(client.service), s.credentials);
    const t = performance.now();
    await rec.track(client.service, 'send', () => send(false), { retry: { attempts: 3, baseDelayMs: 1 } });
    const waited = performance.now() - t;
    expect(waited).toBeGreaterThanOrEqual(990);
    const rows = await newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'success', retry_count: 1 });
  });
});

describe('with instrumentHttp on', () => {
  let undo: () => void;
  beforeAll(() => {
    undo = instrumentHttp(rec, { hosts: { ...s.hosts, [deadBase.slice('http://'.length)]: 'telegram' } });
  });
  afterAll(() => undo());

  test('an SDK retrying on its own inside track() gives one row; retry_count = requests − 1', async () => {
    const before = s.requests.telegram;
    s.script('telegram', { kind: 'rate_limit', retryAfterSec: 1 }, { kind: 'rate_limit', retryAfterSec: 1 }, 'ok');
    const send = CLIENTS.find((c) => c.name === 'node-telegram-bot-api 2.x')!.connect(s.urls.telegram, s.credentials, true);
    await rec.track('telegram', 'send_message', () => send(false));
    expect(s.requests.telegram - before).toBe(3);
    const rows = await newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ service_name: 'telegram', action: 'send_message', status: 'success', retry_count: 2 });
  });

  test('a failure the SDK hides (Telegram’s HTML 502) is told by the response instrumentHttp saw', async () => {
    s.script('telegram', 'server_error');
    const send = CLIENTS.find((c) => c.name === 'grammy')!.connect(s.urls.telegram, s.credentials);
    await rec.track('telegram', 'send_message', () => send(false)).catch(() => undefined);
    const rows = await newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'failed', error_code: '502' });
  });

  test('a refused connection inside track(): one row, ECONNREFUSED', async () => {
    const send = CLIENTS.find((c) => c.name === 'telegraf')!.connect(deadBase, s.credentials);
    await rec.track('telegram', 'send_message', () => send(false)).catch(() => undefined);
    const rows = await newRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'failed', error_code: 'ECONNREFUSED' });
  });
});

test('no credential reaches integration_logs', async () => {
  const texts = (await rowTexts(db.pool)).join('\n');
  expect(texts.length).toBeGreaterThan(0);
  const c = s.credentials;
  for (const secret of [c.telegramBotToken, c.telegramBotToken.split(':')[1], c.resendApiKey, c.mobizonApiKey, c.whapiToken, c.amocrmAccessToken]) expect(texts).not.toContain(secret);
});
