/**
 * The recorder against the harness's real Postgres and local stand-ins of the five providers:
 * rows land with the right fields, secrets never land, pending → final stays one row, spooled and
 * replayed rows land exactly once.
 */
import fs from 'node:fs';
import net from 'node:net';
import { startProviderStandIns, ProviderStandIns } from '../../src/demo/providers';
import { createRecorder, instrumentFetch, Recorder } from '../../src/index';
import { decodeFrames, encodeFrame } from '../../src/recorder/spool-frame';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { allRows, removeTempDirs, rowTexts, tempDir, waitFor } from './helpers';

let db: TestDatabase;
let s: ProviderStandIns;
const recorders: Recorder[] = [];

function recorder(opts: Parameters<typeof createRecorder>[0] = {}): Recorder {
  const r = createRecorder({ databaseUrl: db.url, spoolDir: tempDir('intmon-spool-'), flushIntervalMs: 50, ...opts });
  recorders.push(r);
  return r;
}

beforeAll(async () => {
  db = await createTestDatabase();
  s = await startProviderStandIns();
});
afterAll(async () => {
  await Promise.all(recorders.map((r) => r.close()));
  await s.close();
  await db.drop();
  removeTempDirs();
});
beforeEach(async () => {
  await db.pool.query('DELETE FROM integration_logs');
});

describe('track', () => {
  it('returns the value untouched and rethrows the error untouched, and writes a row for each', async () => {
    const rec = recorder();
    const value = { answer: 42 };
    await expect(rec.track('amocrm', 'sync_lead', async () => value)).resolves.toBe(value);
    const err = new Error('boom');
    (err as Error & { code: string }).code = 'E_CUSTOM';
    await expect(
      rec.track('resend', 'send_email', async () => {
        throw err;
      }),
    ).rejects.toBe(err);
    const syncErr = new RangeError('sync');
    await expect(
      rec.track('resend', 'send_email', () => {
        throw syncErr;
      }),
    ).rejects.toBe(syncErr);
    const entityId = '2b1e6f1c-7b0a-4c1e-9a43-0f7c9c1b2d3e';
    await rec.track('telegram', 'send_message', () => 'sync value', { entity: { type: 'lead', id: entityId }, request: { chat_id: 1, text: 'hi' } });
    await rec.flush();
    expect(rec.stats()).toMatchObject({ tracked: 4, written: 4, spooled: 0, dropped: 0 });
    const rows = await allRows(db.pool);
    expect(rows).toHaveLength(4);
    const [ok, failed, failedSync, withEntity] = rows;
    expect(ok).toMatchObject({ service_name: 'amocrm', action: 'sync_lead', status: 'success', error_message: null, error_code: null, retry_count: 0, request_payload: null, response_payload: null });
    expect(failed).toMatchObject({ service_name: 'resend', status: 'failed', error_message: 'boom', error_code: 'E_CUSTOM' });
    expect(failedSync).toMatchObject({ status: 'failed', error_message: 'sync' });
    expect(withEntity).toMatchObject({ related_entity_type: 'lead', related_entity_id: entityId, request_payload: { chat_id: 1, text: 'hi' } });
    for (const r of rows) {
      expect(r.duration_ms).toBeGreaterThanOrEqual(0);
      expect(r.updated_at.getTime()).toBeGreaterThanOrEqual(r.created_at.getTime());
    }
  });

  it('measures duration on the monotonic clock', async () => {
    const rec = recorder();
    await rec.track('whapi', 'send_message', () => new Promise((r) => setTimeout(r, 120)));
    await rec.flush();
    const [row] = await allRows(db.pool);
    expect(row.duration_ms).toBeGreaterThanOrEqual(115);
    expect(row.duration_ms).toBeLessThan(1000);
  });

  it('never awaits the database on the caller path and never throws its own errors', async () => {
    // A database nobody listens on: track must still return promptly with the caller's value.
    const port = await closedPort();
    const errors: Error[] = [];
    const rec = createRecorder({ databaseUrl: `postgres://x:y@127.0.0.1:${port}/none`, spoolDir: tempDir('intmon-spool-'), onError: (e) => errors.push(e) });
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) await expect(rec.track('telegram', 'send_message', async () => i)).resolves.toBe(i);
    expect(performance.now() - t0).toBeLessThan(500);
    await rec.close();
    expect(errors.some((e) => /database unavailable/.test(e.message))).toBe(true);
  });

  it('writes a call running past pendingAfterMs as pending, then updates the same row', async () => {
    const rec = recorder({ pendingAfterMs: 100 });
    let release!: () => void;
    const done = rec.track('amocrm', 'sync_lead', () => new Promise<void>((r) => (release = r)));
    const pending = await waitFor(async () => (await allRows(db.pool)).find((r) => r.status === 'pending'), 5000);
    expect(pending.duration_ms).toBeGreaterThanOrEqual(100);
    release();
    await done;
    await rec.flush();
    const rows = await allRows(db.pool);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: pending.id, status: 'success' });
    expect(rows[0].created_at.getTime()).toBe(pending.created_at.getTime());
    expect(rows[0].updated_at.getTime()).toBeGreaterThan(pending.updated_at.getTime());
  });

  it('retries by policy: retrying while attempts remain, one row, retry_count = attempts - 1', async () => {
    const rec = recorder();
    let n = 0;
    let interim: Awaited<ReturnType<typeof allRows>>[number] | undefined;
    const refused = () => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    const p = rec.track(
      'mobizon',
      'send_sms',
      async () => {
        n++;
        if (n < 3) throw refused();
        // Last attempt: by now the row must already say `retrying` (written while the call waited).
        interim = await waitFor(async () => (await allRows(db.pool)).find((r) => r.status === 'retrying' && r.retry_count === 2), 5000);
        return 'sent';
      },
      { retry: { attempts: 5, baseDelayMs: 20, maxDelayMs: 20 } },
    );
    await expect(p).resolves.toBe('sent');
    expect(interim!.error_code).toBe('ECONNREFUSED');
    await rec.flush();
    const rows = await allRows(db.pool);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: interim!.id, status: 'success', retry_count: 2, error_code: null });

    // Out of attempts: failed, the last error kept, the error itself rethrown.
    const last = refused();
    let m = 0;
    await expect(
      rec.track(
        'mobizon',
        'send_sms',
        async () => {
          m++;
          throw m === 3 ? last : refused();
        },
        { retry: { attempts: 3, baseDelayMs: 1 } },
      ),
    ).rejects.toBe(last);
    // Not retryable: one attempt only.
    let k = 0;
    await expect(
      rec.track(
        'mobizon',
        'send_sms',
        async () => {
          k++;
          throw new Error('bug');
        },
        { retry: { attempts: 3, baseDelayMs: 1 } },
      ),
    ).rejects.toThrow('bug');
    expect(k).toBe(1);
    await rec.flush();
    const after = await allRows(db.pool);
    expect(after.map((r) => [r.status, r.retry_count])).toEqual([
      ['success', 2],
      ['failed', 2],
      ['failed', 0],
    ]);
  });
});

describe('instrumentFetch against the provider stand-ins', () => {
  it('logs each provider success with service and action from host and endpoint', async () => {
    const rec = recorder();
    const f = instrumentFetch(rec, { hosts: s.hosts });
    const c = s.credentials;
    const json = { 'content-type': 'application/json' };
    expect((await f(`${s.urls.telegram}/bot${c.telegramBotToken}/sendMessage`, { method: 'POST', headers: json, body: JSON.stringify({ chat_id: 42, text: 'hi' }) })).status).toBe(200);
    expect(
      (
        await f(`${s.urls.resend}/emails`, {
          method: 'POST',
          headers: { ...json, authorization: `Bearer ${c.resendApiKey}` },
          body: JSON.stringify({ from: 'a@b.test', to: 'c@d.test', subject: 's' }),
        })
      ).status,
    ).toBe(200);
    expect(
      (await f(`${s.urls.amocrm}/api/v4/leads`, { method: 'POST', headers: { ...json, authorization: `Bearer ${c.amocrmAccessToken}` }, body: JSON.stringify([{ name: 'Deal', price: 100 }]) })).status,
    ).toBe(200);
    const mob = await f(`${s.urls.mobizon}/service/Message/SendSmsMessage?output=json&api=v1&apiKey=${c.mobizonApiKey}&recipient=77011234567&text=hello`);
    expect((await mob.json()).code).toBe(0); // the caller can still read the body we inspected
    expect(
      (await f(`${s.urls.whapi}/messages/text`, { method: 'POST', headers: { ...json, authorization: `Bearer ${c.whapiToken}` }, body: JSON.stringify({ to: '77011234567', body: 'hi' }) })).status,
    ).toBe(200);
    await rec.flush();
    const rows = await allRows(db.pool);
    expect(rows.map((r) => [r.service_name, r.action, r.status, r.error_code])).toEqual([
      ['telegram', 'send_message', 'success', null],
      ['resend', 'send_email', 'success', null],
      ['amocrm', 'sync_lead', 'success', null],
      ['mobizon', 'send_sms', 'success', null],
      ['whapi', 'send_message', 'success', null],
    ]);
  });

  it("reads each provider's error shape into error_code and error_message", async () => {
    const rec = recorder();
    const f = instrumentFetch(rec, { hosts: s.hosts });
    const c = s.credentials;
    const json = { 'content-type': 'application/json' };
    const tg = await f(`${s.urls.telegram}/bot${c.telegramBotToken}/sendMessage`, { method: 'POST', headers: json, body: JSON.stringify({ chat_id: 'blocked', text: 'x' }) });
    expect(tg.status).toBe(403); // the response is returned to the caller, not turned into a throw
    await f(`${s.urls.resend}/emails`, { method: 'POST', headers: { ...json, authorization: `Bearer ${c.resendApiKey}` }, body: JSON.stringify({ from: 'a@b.test' }) });
    await f(`${s.urls.amocrm}/api/v4/leads`, { method: 'POST', headers: { ...json, authorization: `Bearer ${c.amocrmAccessToken}` }, body: JSON.stringify([{ name: 'Deal', price: 'a lot' }]) });
    const mob = await f(`${s.urls.mobizon}/service/Message/SendSmsMessage?output=json&apiKey=${c.mobizonApiKey}&recipient=12&text=hello`);
    expect(mob.status).toBe(200); // Mobizon's HTTP 200 error
    await f(`${s.urls.whapi}/messages/text`, { method: 'POST', headers: { ...json, authorization: `Bearer ${c.whapiToken}` }, body: JSON.stringify({ body: 'hi' }) });
    await f(`${s.urls.resend}/emails`, { method: 'POST', headers: { ...json, authorization: 'Bearer re_wrongwrongwrong' }, body: '{}' });
    await rec.flush();
    const rows = await allRows(db.pool);
    expect(rows.map((r) => [r.service_name, r.status, r.error_code, r.error_message])).toEqual([
      ['telegram', 'failed', '403', 'Forbidden: bot was blocked by the user'],
      ['resend', 'failed', 'validation_error', 'Missing `to` field.'],
      ['amocrm', 'failed', 'InvalidType', 'Bad Request; Request validation failed; price: This value should be of type int. (InvalidType)'],
      ['mobizon', 'failed', '1', 'recipient: Recipient is not a valid phone number'],
      ['whapi', 'failed', '400', "Parameter 'to' is required"],
      ['resend', 'failed', 'invalid_api_key', 'API key is invalid'],
    ]);
  });

  it('retries 429 after Retry-After (Resend header) and Telegram retry_after, as one row', async () => {
    const rec = recorder();
    const f = instrumentFetch(rec, { hosts: s.hosts, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    const c = s.credentials;
    s.script('resend', { kind: 'rate_limit', retryAfterSec: 1 });
    const t0 = Date.now();
    const res = await f(`${s.urls.resend}/emails`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${c.resendApiKey}` },
      body: JSON.stringify({ from: 'a@b.test', to: 'c@d.test' }),
    });
    expect(res.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950); // waited as told, not the 1–5 ms backoff
    s.script('telegram', { kind: 'rate_limit', retryAfterSec: 1 });
    const t1 = Date.now();
    await f(`${s.urls.telegram}/bot${c.telegramBotToken}/sendMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chat_id: 1, text: 'x' }) });
    expect(Date.now() - t1).toBeGreaterThanOrEqual(950);
    // Still limited after the last attempt: failed with the provider's code.
    s.script('whapi', 'rate_limit', 'rate_limit', 'rate_limit');
    const w = await f(`${s.urls.whapi}/messages/text`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${c.whapiToken}` },
      body: JSON.stringify({ to: '1', body: 'x' }),
    });
    expect(w.status).toBe(429);
    await rec.flush();
    const rows = await allRows(db.pool);
    expect(rows.map((r) => [r.service_name, r.status, r.retry_count, r.error_code])).toEqual([
      ['resend', 'success', 1, null],
      ['telegram', 'success', 1, null],
      ['whapi', 'failed', 2, '429'],
    ]);
  }, 20_000);

  it('does not retry a non-idempotent POST after a 5xx unless it carries an Idempotency-Key', async () => {
    const rec = recorder();
    const f = instrumentFetch(rec, { hosts: s.hosts, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    const c = s.credentials;
    const send = (headers: Record<string, string>) =>
      f(`${s.urls.resend}/emails`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${c.resendApiKey}`, ...headers },
        body: JSON.stringify({ from: 'a@b.test', to: 'c@d.test' }),
      });
    s.script('resend', 'server_error');
    expect((await send({})).status).toBe(500);
    s.script('resend', 'server_error');
    expect((await send({ 'idempotency-key': 'order-1' })).status).toBe(200);
    await rec.flush();
    const rows = await allRows(db.pool);
    expect(rows.map((r) => [r.status, r.retry_count, r.error_code])).toEqual([
      ['failed', 0, 'application_error'],
      ['success', 1, null],
    ]);
  });

  it('records timeouts and refused connections, rethrowing the fetch error', async () => {
    const rec = recorder();
    const port = await closedPort();
    const f = instrumentFetch(rec, { hosts: { ...s.hosts, [`127.0.0.1:${port}`]: 'whapi' }, timeoutMs: 300 });
    s.script('amocrm', 'hang');
    const e1 = await f(`${s.urls.amocrm}/api/v4/leads`, { headers: { authorization: `Bearer ${s.credentials.amocrmAccessToken}` } }).catch((e: unknown) => e);
    expect((e1 as Error).name).toBe('TimeoutError');
    const e2 = await f(`http://127.0.0.1:${port}/messages/text`, { method: 'POST', body: '{}' }).catch((e: unknown) => e);
    expect((e2 as Error).name).toBe('TypeError'); // fetch's own error, not ours
    await rec.flush();
    const rows = await allRows(db.pool);
    expect(rows.map((r) => [r.service_name, r.action, r.status, r.error_code])).toEqual([
      ['amocrm', 'list_leads', 'failed', 'TIMEOUT'],
      ['whapi', 'send_message', 'failed', 'ECONNREFUSED'],
    ]);
    expect(rows[0].duration_ms).toBeGreaterThanOrEqual(290);
    expect(rows[1].error_message).toContain('ECONNREFUSED');
  });

  it('passes unknown hosts through unlogged, unless logUnknown', async () => {
    const rec = recorder();
    const url = `${s.urls.whapi}/messages/text`;
    const plain = instrumentFetch(rec, {});
    expect((await plain(url, { method: 'POST' })).status).toBe(401);
    const all = instrumentFetch(rec, { logUnknown: true });
    await all(url, { method: 'POST' });
    await rec.flush();
    const rows = await allRows(db.pool);
    expect(rows.map((r) => [r.service_name, r.action, r.status])).toEqual([['127.0.0.1', 'post_text', 'failed']]);
  });

  it('stores no literal secret in any column of any row, even with payload capture on', async () => {
    const rec = recorder({ maxPayloadBytes: 64 * 1024 });
    const f = instrumentFetch(rec, { hosts: s.hosts, captureRequest: true, captureResponse: true });
    const c = s.credentials;
    const json = { 'content-type': 'application/json' };
    const secrets = [c.telegramBotToken, c.resendApiKey, c.amocrmAccessToken, c.mobizonApiKey, c.whapiToken, 'hunter2-password', 'sess-cookie-value'];
    await f(`${s.urls.telegram}/bot${c.telegramBotToken}/sendMessage`, { method: 'POST', headers: json, body: JSON.stringify({ chat_id: 1, text: 'hello' }) });
    await f(`${s.urls.telegram}/bot${c.telegramBotToken}/sendMessage`, { method: 'POST', headers: json, body: JSON.stringify({ chat_id: 'unknown', text: 'x' }) });
    await f(`${s.urls.resend}/emails`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${c.resendApiKey}`, cookie: 'sid=sess-cookie-value' },
      body: JSON.stringify({ from: 'a@b.test', to: 'c@d.test', text: `your key is ${c.resendApiKey}` }),
    });
    await f(`${s.urls.amocrm}/api/v4/leads`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${c.amocrmAccessToken}` },
      body: JSON.stringify([{ name: 'x', password: 'hunter2-password' }]),
    });
    await f(`${s.urls.mobizon}/service/Message/SendSmsMessage?output=json&apiKey=${c.mobizonApiKey}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ recipient: '77011234567', text: 'hi', apiKey: c.mobizonApiKey }).toString(),
    });
    await f(`${s.urls.whapi}/messages/text?token=${c.whapiToken}`, { method: 'POST', headers: json, body: JSON.stringify({ to: '1', body: 'x', token: c.whapiToken }) });
    await f(`${s.urls.whapi}/messages/text`, { method: 'POST', headers: { ...json, 'x-api-key': c.whapiToken }, body: '{}' });
    // An error whose message quotes the URL with the token in it.
    await rec
      .track('telegram', 'send_message', async () => {
        throw new Error(`request to https://api.telegram.org/bot${c.telegramBotToken}/sendMessage failed`);
      })
      .catch(() => undefined);
    await rec.flush();
    const texts = await rowTexts(db.pool);
    expect(texts).toHaveLength(8);
    for (const t of texts) for (const secret of secrets) expect(t).not.toContain(secret);
    // Capture did happen (the test would be vacuous otherwise).
    const rows = await allRows(db.pool);
    expect(rows.every((r) => r.request_payload !== null)).toBe(false);
    expect(rows.filter((r) => r.request_payload !== null)).toHaveLength(7);
    expect(JSON.stringify(rows[0].request_payload)).toContain('/bot[REDACTED]/sendMessage');
    expect(rows.filter((r) => r.response_payload !== null)).toHaveLength(7);
  });
});

describe('spool and replay', () => {
  it('past the memory bound rows spill to the spool and are replayed exactly once', async () => {
    const dir = tempDir('intmon-spool-');
    const rec = recorder({ spoolDir: dir, maxMemoryBytes: 20_000, flushIntervalMs: 10_000 });
    const n = 2000;
    await Promise.all(Array.from({ length: n }, (_, i) => rec.track('resend', 'send_email', async () => i)));
    expect(rec.stats().spooled).toBeGreaterThan(0);
    expect(fs.readdirSync(dir).length).toBeGreaterThan(0);
    await rec.flush();
    const { rows } = await db.pool.query<{ n: string; d: string }>('SELECT count(*) n, count(DISTINCT id) d FROM integration_logs');
    expect(rows[0]).toEqual({ n: String(n), d: String(n) });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.copy'))).toEqual([]);
  });

  it("adopts a dead process's spool and replays it idempotently (a segment replayed twice lands once)", async () => {
    const dir = tempDir('intmon-spool-');
    // Make a spool segment the way a crashed recorder would have left it.
    const first = createRecorder({ databaseUrl: 'postgres://x:y@127.0.0.1:1/none', spoolDir: dir, onError: () => undefined });
    for (let i = 0; i < 50; i++) await first.track('whapi', 'send_message', async () => i);
    await first.close();
    const [seg] = fs.readdirSync(dir);
    expect(seg).toMatch(/^seg-\d+-\d+-[0-9a-f]{16}\.[0-9a-f]{16}\.copy$/);
    const framed = fs.readFileSync(`${dir}/${seg}`);
    const lines = (await decodeFrames(framed)).batches.join('');
    // Pretend two dead processes left the same rows (a replay interrupted before the delete): one
    // in today's framed format under a dead owner, one in the unframed format of earlier versions.
    fs.rmSync(`${dir}/${seg}`);
    fs.writeFileSync(`${dir}/seg-1-000000-00000000000000aa.00000000000000aa.copy`, framed);
    fs.writeFileSync(`${dir}/spool-999999992-1-0-000000.copy`, lines + lines.slice(0, 40)); // + a torn last line
    const rec = recorder({ spoolDir: dir });
    await rec.flush();
    const { rows } = await db.pool.query<{ n: string; d: string }>('SELECT count(*) n, count(DISTINCT id) d FROM integration_logs');
    expect(rows[0]).toEqual({ n: '50', d: '50' });
    expect(rec.stats()).toMatchObject({ replayed: 100, lostCorrupt: 1, deadLettered: 0 });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.copy'))).toEqual([]);
  });
});

describe('rows the database rejects', () => {
  it('isolates and dead-letters only the bad lines of a batch, reporting them; the rest lands', async () => {
    const dir = tempDir('intmon-spool-');
    const first = createRecorder({ databaseUrl: 'postgres://x:y@127.0.0.1:1/none', spoolDir: dir, onError: () => undefined });
    for (let i = 0; i < 20; i++) await first.track('amocrm', 'sync_lead', async () => i);
    await first.close();
    const [seg] = fs.readdirSync(dir);
    const lines = (await decodeFrames(fs.readFileSync(`${dir}/${seg}`))).batches.join('').split('\n').filter(Boolean);
    // Two bad lines with a valid checksum (a hand edit): not a row at all, and a status the CHECK refuses.
    const bad1 = lines[3].replace(/^[^\t]+/, 'not-a-uuid');
    const bad2 = lines[11].replace('\tsuccess\t', '\texploded\t');
    fs.rmSync(`${dir}/${seg}`);
    const text = [...lines.slice(0, 3), bad1, ...lines.slice(4, 11), bad2, ...lines.slice(12)].join('\n') + '\n';
    fs.writeFileSync(`${dir}/seg-1-000000-00000000000000bb.00000000000000bb.copy`, encodeFrame(text, 20));
    const errors: string[] = [];
    const rec = recorder({ spoolDir: dir, onError: (e) => errors.push(e.message) });
    await rec.flush();
    expect(rec.stats()).toMatchObject({ replayed: 18, deadLettered: 2, dropped: 0 });
    expect(errors.filter((m) => m.includes('refused a row'))).toHaveLength(2);
    expect(errors.some((m) => m.includes('SQLSTATE 23514'))).toBe(true);
    const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) n FROM integration_logs');
    expect(rows[0].n).toBe('18');
    const dead = fs
      .readFileSync(`${dir}/dead-letter.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(dead.map((d) => [d.source, d.sqlstate, d.columns.id.slice(0, 10), d.columns.status])).toEqual([
      ['replay', null, 'not-a-uuid', 'success'],
      ['replay', '23514', bad2.slice(0, 10), 'exploded'],
    ]);
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
