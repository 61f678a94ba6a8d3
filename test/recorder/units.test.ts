/** Pure rules of the recorder: redaction, provider recognition and error bodies, retry decisions, COPY encoding, ids. */
import { performance } from 'node:perf_hooks';
import { wallAt } from '../../src/recorder/clock';
import { encodeRow } from '../../src/recorder/copy-format';
import { isUuid, uuidv7 } from '../../src/recorder/ids';
import { actionFor, judgeHttp, parseRetryAfter, serviceForHost } from '../../src/recorder/providers';
import { maskPiiString, payloadJson, redactHeaders, redactString, redactUrl, redactValue, REDACTED } from '../../src/recorder/redact';
import { lineOf, type Queued } from '../../src/recorder/queue';
import { judgeError, nextDelay, resolvePolicy } from '../../src/recorder/retry';
import type { LogRow } from '../../src/recorder/types';
import { logRow } from './helpers';

describe('redaction', () => {
  it('removes secret headers, keeps the rest', () => {
    const h = redactHeaders({ Authorization: 'Bearer abc123456789', Cookie: 'sid=1', 'X-Api-Key': 'k1', 'X-Auth-Token': 't', 'Content-Type': 'application/json' });
    expect(h).toEqual({ authorization: REDACTED, cookie: REDACTED, 'x-api-key': REDACTED, 'x-auth-token': REDACTED, 'content-type': 'application/json' });
  });

  it('removes the Telegram bot token from URL paths and Mobizon/Whapi keys from the query', () => {
    const tok = '123456789:AAH3kd93kdkKDJ39dkdk39dkDK39dkdk3kd';
    expect(redactUrl(`https://api.telegram.org/bot${tok}/sendMessage`)).toBe(`https://api.telegram.org/bot${REDACTED}/sendMessage`);
    const m = redactUrl('https://api.mobizon.kz/service/Message/SendSmsMessage?output=json&apiKey=kzSECRET123&recipient=77001234567');
    expect(m).not.toContain('kzSECRET123');
    expect(m).toContain('recipient=77001234567');
    expect(redactUrl('https://gate.whapi.cloud/messages/text?token=WHAPISECRET')).not.toContain('WHAPISECRET');
    expect(redactString(`connect failed for https://api.telegram.org/bot${tok}/getMe`)).not.toContain(tok);
    expect(redactString(`token is ${tok}`)).not.toContain(tok);
  });

  it('removes Resend keys and bearer credentials anywhere in a string', () => {
    const s = redactString('key re_AbCdEf123456_xyz was rejected; sent Authorization: Bearer zzzzzzzzzz9');
    expect(s).not.toContain('re_AbCdEf123456_xyz');
    expect(s).not.toContain('zzzzzzzzzz9');
  });

  it('redacts JSON keys named like secrets at any depth, including arrays', () => {
    const v = redactValue({ user: 'a', password: 'p1', nested: { apiKey: 'k', api_key: 'k2', access_token: 't', client_secret: 's', list: [{ Authorization: 'x' }] }, count: 3 });
    expect(v).toEqual({
      user: 'a',
      password: REDACTED,
      nested: { apiKey: REDACTED, api_key: REDACTED, access_token: REDACTED, client_secret: REDACTED, list: [{ Authorization: REDACTED }] },
      count: 3,
    });
  });

  it('survives cycles, BigInt, NUL bytes and lone surrogates (which Postgres would reject)', () => {
    const o: Record<string, unknown> = { n: 10n, s: 'a\u0000b', bad: 'x\uD800y' };
    o.self = o;
    const json = payloadJson(o, { maskPii: false, maxPayloadBytes: 1000 })!;
    const back = JSON.parse(json);
    expect(back).toEqual({ n: '10', s: 'ab', bad: 'x\uFFFDy', self: '[CIRCULAR]' });
  });

  it('truncates payloads over maxPayloadBytes into a valid JSON marker', () => {
    const big = { text: 'я'.repeat(5000) };
    const json = payloadJson(big, { maskPii: false, maxPayloadBytes: 1024 })!;
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(1024);
    const m = JSON.parse(json);
    expect(m._truncated).toBe(true);
    expect(m._original_bytes).toBe(Buffer.byteLength(JSON.stringify(big)));
    expect(typeof m._preview).toBe('string');
  });

  it('masks e-mails and phone numbers only when asked', () => {
    const s = 'send to john.doe@example.com and +7 (701) 123-45-67, order 12345';
    expect(redactString(s)).toBe(s);
    const m = maskPiiString(s);
    expect(m).not.toContain('john.doe');
    expect(m).toContain('j***@example.com');
    expect(m).not.toContain('123-45-67');
    expect(m).toMatch(/\*+67/);
    expect(m).toContain('order 12345');
  });
});

describe('providers', () => {
  it('recognises each provider by host', () => {
    expect(serviceForHost('api.telegram.org')).toBe('telegram');
    expect(serviceForHost('api.resend.com')).toBe('resend');
    for (const h of ['mycompany.amocrm.ru', 'x.amocrm.com', 'team.kommo.com']) expect(serviceForHost(h)).toBe('amocrm');
    for (const h of ['api.mobizon.kz', 'api.mobizon.ua', 'api.mobizon.com.br', 'api.mobizon.com']) expect(serviceForHost(h)).toBe('mobizon');
    expect(serviceForHost('gate.whapi.cloud')).toBe('whapi');
    expect(serviceForHost('example.com')).toBeUndefined();
    expect(serviceForHost('evilamocrm.ru')).toBeUndefined();
  });

  it('names actions from endpoints', () => {
    expect(actionFor('telegram', 'POST', '/bot123:abc/sendMessage')).toBe('send_message');
    expect(actionFor('resend', 'POST', '/emails')).toBe('send_email');
    expect(actionFor('mobizon', 'GET', '/service/Message/SendSmsMessage')).toBe('send_sms');
    expect(actionFor('amocrm', 'POST', '/api/v4/leads')).toBe('sync_lead');
    expect(actionFor('amocrm', 'GET', '/api/v4/leads/123')).toBe('get_lead');
    expect(actionFor('whapi', 'POST', '/messages/text')).toBe('send_message');
    expect(actionFor('whapi', 'POST', '/messages/image')).toBe('send_image');
  });

  it('reads each provider error body', () => {
    expect(judgeHttp('telegram', 400, { ok: false, error_code: 400, description: 'Bad Request: chat not found' })).toMatchObject({
      ok: false,
      errorCode: '400',
      errorMessage: 'Bad Request: chat not found',
      retryable: false,
    });
    expect(judgeHttp('telegram', 429, { ok: false, error_code: 429, description: 'Too Many Requests: retry after 7', parameters: { retry_after: 7 } })).toMatchObject({
      ok: false,
      retryable: true,
      retryAfterMs: 7000,
    });
    expect(judgeHttp('resend', 422, { statusCode: 422, name: 'validation_error', message: 'Missing `to` field.' })).toMatchObject({
      ok: false,
      errorCode: 'validation_error',
      errorMessage: 'Missing `to` field.',
    });
    const amo = judgeHttp('amocrm', 400, {
      title: 'Bad Request',
      type: 'https://httpstatus.es/400',
      status: 400,
      detail: 'Request validation failed',
      'validation-errors': [{ request_id: '0', errors: [{ code: 'InvalidType', path: 'price', detail: 'This value should be of type int.' }] }],
    });
    expect(amo).toMatchObject({ ok: false, errorCode: 'InvalidType' });
    expect(amo.errorMessage).toContain('price: This value should be of type int.');
    expect(judgeHttp('amocrm', 401, { title: 'Unauthorized', status: 401, detail: 'Unauthorized' })).toMatchObject({ ok: false, errorCode: '401', errorMessage: 'Unauthorized' });
    expect(judgeHttp('mobizon', 200, { code: 1, data: { recipient: 'bad number' }, message: '' })).toMatchObject({ ok: false, errorCode: '1', errorMessage: 'recipient: bad number' });
    expect(judgeHttp('mobizon', 200, { code: 0, data: {}, message: '' })).toEqual({ ok: true });
    expect(judgeHttp('whapi', 400, { error: { code: 400, message: "Parameter 'to' is required" } })).toMatchObject({ ok: false, errorCode: '400', errorMessage: "Parameter 'to' is required" });
    expect(judgeHttp('resend', 429, { statusCode: 429, name: 'rate_limit_exceeded', message: 'slow down' }, '3')).toMatchObject({ retryable: true, notExecuted: true, retryAfterMs: 3000 });
    expect(judgeHttp('whapi', 503, 'oops')).toMatchObject({ ok: false, retryable: true, errorCode: '503', errorMessage: 'oops' });
  });

  it('parses Retry-After as seconds or HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('retry decisions', () => {
  const p = resolvePolicy({ attempts: 3, baseDelayMs: 100, maxDelayMs: 1000 });
  it('retries only retryable failures, within attempts, with full jitter bounded by the cap', () => {
    expect(nextDelay(p, 1, { ok: false, retryable: false })).toBeNull();
    expect(nextDelay(p, 3, { ok: false, retryable: true, notExecuted: true })).toBeNull();
    expect(nextDelay(p, 1, { ok: false, retryable: true, notExecuted: true }, () => 0.999)).toBe(99);
    expect(nextDelay(p, 2, { ok: false, retryable: true, notExecuted: true }, () => 0.5)).toBe(100);
    expect(nextDelay(resolvePolicy({ attempts: 10, baseDelayMs: 100, maxDelayMs: 1000 }), 9, { ok: false, retryable: true, notExecuted: true }, () => 0.999)).toBe(999);
  });
  it('does not retry a possibly-executed failure of a non-idempotent call unless an idempotency key is given', () => {
    const maybe = { ok: false, retryable: true };
    expect(nextDelay(p, 1, maybe)).toBeNull();
    expect(nextDelay(resolvePolicy({ attempts: 3, idempotent: true }), 1, maybe)).not.toBeNull();
    expect(nextDelay(resolvePolicy({ attempts: 3, idempotencyKey: 'k' }), 1, maybe)).not.toBeNull();
  });
  it('honours Retry-After, and gives up when it is longer than maxRetryAfterMs', () => {
    expect(nextDelay(p, 1, { ok: false, retryable: true, notExecuted: true, retryAfterMs: 2500 }, () => 0)).toBe(2500);
    expect(nextDelay(resolvePolicy({ attempts: 3, maxRetryAfterMs: 1000 }), 1, { ok: false, retryable: true, notExecuted: true, retryAfterMs: 2500 })).toBeNull();
  });
  it('judges network errors, timeouts and HTTP-status errors', () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    expect(judgeError(refused)).toMatchObject({ retryable: true, notExecuted: true, errorCode: 'ECONNREFUSED' });
    expect(judgeError(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toMatchObject({ retryable: true, errorCode: 'TIMEOUT' });
    expect(judgeError(Object.assign(new Error('nope'), { status: 503 }))).toMatchObject({ retryable: true, errorCode: '503' });
    expect(judgeError(new Error('bug'))).toMatchObject({ retryable: false, errorCode: null, errorMessage: 'bug' });
  });
});

describe('COPY encoding and ids', () => {
  it('escapes backslash, tab, newline and CR, and writes NULL as \\N', () => {
    const row: LogRow = {
      id: uuidv7(),
      service_name: 'svc',
      action: 'a\tb',
      status: 'failed',
      related_entity_type: null,
      related_entity_id: null,
      request_payload: '{"x":"line\\nbreak"}',
      response_payload: null,
      error_message: 'two\nlines\r\\',
      error_code: '500',
      duration_ms: 12.6,
      retry_count: 0,
      created_at: 0,
      updated_at: 1,
    };
    const cols = encodeRow(row).slice(0, -1).split('\t');
    expect(cols).toHaveLength(14);
    expect(cols[2]).toBe('a\\tb');
    expect(cols[6]).toBe('{"x":"line\\\\nbreak"}');
    expect(cols[7]).toBe('\\N');
    expect(cols[8]).toBe('two\\nlines\\r\\\\');
    expect(cols[10]).toBe('13');
    expect(cols[12]).toBe('1970-01-01T00:00:00.000Z');
  });
  it('makes unique, time-ordered v7 UUIDs', () => {
    const ids = Array.from({ length: 10000 }, () => uuidv7());
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every(isUuid)).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0][14]).toBe('7');
  });
  it('gives a row queued without an id one id, at its first encoding, kept when encoded again', () => {
    const q: Queued = { row: { ...logRow(), id: '' }, merge: false };
    const first = lineOf(q);
    const id = first.split('\t')[0];
    expect(isUuid(id)).toBe(true);
    expect(q.row.id).toBe(id);
    expect(lineOf(q)).toBe(first); // a batch written again after a failure keeps its ids
    const given = uuidv7();
    expect(lineOf({ row: { ...logRow(), id: given }, merge: true }).split('\t')[0]).toBe(given);
  });
});

describe('clock', () => {
  it('derives wall time from a monotonic reading within a few ms of the wall clock', () => {
    const mono = performance.now();
    const wall = wallAt(mono);
    expect(Math.abs(wall - Date.now())).toBeLessThan(50);
    expect(Number.isInteger(wall)).toBe(true);
    // Later readings never give earlier times, and follow the monotonic clock.
    expect(wallAt(mono + 30)).toBeGreaterThanOrEqual(wall + 29);
    expect(Math.abs(wallAt(mono + 500) - (Date.now() + 500))).toBeLessThan(50);
  });
});
