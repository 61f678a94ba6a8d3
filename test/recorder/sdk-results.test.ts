/**
 * sdk-results.ts on its own: the shapes the SDK tests do not reach through the stand-ins — a Resend
 * network failure, an amocrm-js error on HTTP 200, a fetch Response, values that only look alike.
 */
import { judgeReturned, judgeThrown } from '../../src/recorder/sdk-results';

const refused = { ok: false, retryable: true, notExecuted: true, errorCode: 'ECONNREFUSED', errorMessage: 'connect ECONNREFUSED' };

test('Resend: a network failure (statusCode null) takes the refused connection instrumentHttp saw, else Resend’s words', () => {
  const value = { data: null, error: { name: 'application_error', statusCode: null, message: 'Unable to fetch data. The request could not be resolved.' }, headers: null };
  expect(judgeReturned('resend', value, refused)).toBe(refused);
  expect(judgeReturned('resend', value, undefined)).toMatchObject({ ok: false, errorCode: 'application_error', errorMessage: expect.stringMatching(/^Unable to fetch data/) });
});

test('Resend: 429 carries the Retry-After of the returned headers', () => {
  const value = { data: null, error: { name: 'rate_limit_exceeded', statusCode: 429, message: 'Too many requests.' }, headers: { 'retry-after': '2' } };
  expect(judgeReturned('resend', value, undefined)).toMatchObject({ ok: false, retryable: true, notExecuted: true, retryAfterMs: 2000, errorCode: 'rate_limit_exceeded' });
});

test('values that merely look alike are successes', () => {
  expect(judgeReturned('resend', { data: { id: 'x' }, error: null, headers: {} }, undefined)).toBeUndefined();
  expect(judgeReturned('whapi', { status: 500 }, undefined)).toBeUndefined(); // no config/headers/data: not an axios response
  expect(judgeReturned('whapi', 'text', undefined)).toBeUndefined();
  expect(judgeThrown('whapi', new Error('plain'), undefined)).toBeUndefined();
});

test('an axios response let through by validateStatus, and a Mobizon code ≠ 0 on HTTP 200', () => {
  const res = (status: number, data: unknown) => ({ status, data, headers: { 'retry-after': '1' }, config: {} });
  expect(judgeReturned('whapi', res(429, { error: { code: 429, message: 'Too Many Requests' } }), undefined)).toMatchObject({ errorCode: '429', retryAfterMs: 1000 });
  expect(judgeReturned('mobizon', res(200, { code: 12, data: null, message: 'Insufficient funds on the balance' }), undefined)).toMatchObject({
    ok: false,
    errorCode: '12',
    errorMessage: 'Insufficient funds on the balance',
  });
  expect(judgeReturned('mobizon', res(200, { code: 0, data: {}, message: '' }), undefined)).toBeUndefined();
});

test('a fetch Response: failed by its status, or in the words of the body instrumentHttp read', () => {
  const words = { ok: false, errorCode: 'validation_error', errorMessage: 'Missing `to` field.' };
  expect(judgeReturned('resend', new Response('{}', { status: 422 }), undefined)).toMatchObject({ ok: false, errorCode: '422' });
  expect(judgeReturned('resend', new Response('{}', { status: 422 }), words)).toBe(words);
  expect(judgeReturned('resend', new Response('{}', { status: 200 }), undefined)).toBeUndefined();
});

test('amocrm-js: an error body on HTTP 200 is judged by the status it carries', () => {
  const err = Object.assign(new Error('API_RESPONSE_ERROR'), {
    data: { title: 'Unauthorized', status: 401, detail: 'Unauthorized' },
    apiResponse: { response: { statusCode: 200, headers: {} }, data: '' },
  });
  expect(judgeThrown('amocrm', err, undefined)).toMatchObject({ ok: false, errorCode: '401', errorMessage: 'Unauthorized' });
});

test('node-telegram-bot-api 0.x: a body still in text is parsed', () => {
  const err = Object.assign(new Error('ETELEGRAM: 403 Forbidden: bot was blocked by the user'), {
    code: 'ETELEGRAM',
    response: { statusCode: 403, body: JSON.stringify({ ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' }) },
  });
  expect(judgeThrown('telegram', err, undefined)).toMatchObject({ ok: false, retryable: false, errorCode: '403', errorMessage: 'Forbidden: bot was blocked by the user' });
});
