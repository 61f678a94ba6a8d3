/** Pure rules added for issue 11: write-error classes, spool frames, the leaks listed in the issue, taint, actions, warnings. */
import { crc32 } from 'node:zlib';
import { cap } from '../../src/recorder/limits';
import { actionFor, judgeHttp } from '../../src/recorder/providers';
import { looksLikeSecret, payloadJson, redactString, redactUrl, redactValue, REDACTED } from '../../src/recorder/redact';
import { RecorderError, Reporter, WARNING_INTERVAL_MS } from '../../src/recorder/report';
import { decodeFrames, encodeFrame, encodeFrames, isRowLine } from '../../src/recorder/spool-frame';
import { CredentialSet, makeScrubber } from '../../src/recorder/taint';
import { classifyWriteError } from '../../src/recorder/write-errors';

const err = (code?: string) => Object.assign(new Error('x'), code ? { code } : {});

describe('write errors by SQLSTATE class', () => {
  it('row content or size (22, 23, 54) isolates the row; conflicts retry; everything else is "down"', () => {
    for (const c of ['22001', '22P02', '22021', '22P04', '23502', '23514', '23503', '54000', '54001']) expect([c, classifyWriteError(err(c))]).toEqual([c, 'row']);
    for (const c of ['23505', '40001', '40P01']) expect([c, classifyWriteError(err(c))]).toEqual([c, 'retry']);
    for (const c of ['08006', '08001', '57P01', '57P03', '53300', '53200', '58030', 'XX000', '42501', '42P01', '28P01', '0A000', '25P02']) expect([c, classifyWriteError(err(c))]).toEqual([c, 'down']);
    for (const c of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'INTMON_WRITE_TIMEOUT', undefined]) expect(classifyWriteError(err(c))).toBe('down');
    expect(classifyWriteError(new Error('Connection terminated unexpectedly'))).toBe('down');
  });
});

describe('spool frames', () => {
  const line = (i: number) => `0190d3f0-0000-7000-8000-${String(i).padStart(12, '0')}\tx\ty\tsuccess\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t1\t0\t2026-01-01T00:00:00.000Z\t2026-01-01T00:00:00.000Z\n`;
  const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => line(from + i)).join('');

  it('a big batch is cut between lines into frames of bounded size, each with its own row count', async () => {
    const big = batch(0, 1000);
    const max = Math.floor(big.length / 7);
    const frames = encodeFrames(big, 1000, max);
    expect(frames.length).toBeGreaterThanOrEqual(7);
    for (const f of frames) expect(f.length).toBeLessThan(max + 64);
    const decoded = await decodeFrames(Buffer.concat(frames));
    expect(decoded.batches.join('')).toBe(big);
    expect(decoded.batches.map((b) => b.split('\n').length - 1)).toEqual(frames.map((f) => Number(f.toString('latin1').split(' ')[1])));
    // A line longer than the bound goes alone, whole.
    expect(await Promise.all(encodeFrames(big, 1000, 10).map(async (f) => (await decodeFrames(f)).batches[0]))).toEqual(Array.from({ length: 1000 }, (_, i) => line(i)));
    expect(encodeFrames(batch(0, 3), 3, 1e6)).toEqual([encodeFrame(batch(0, 3), 3)]);
  });

  it('finds the next frame after damage longer than a read chunk, also when its marker straddles two chunks', async () => {
    const good = encodeFrame(batch(0, 2), 2);
    for (const at of [(1 << 20) - 3, (1 << 20) + 5, 3 * (1 << 20) - 1]) {
      // `at` bytes of damage without a header, five of its lines in it, then a newline and a good frame.
      const damage = Buffer.alloc(at, 0x78);
      for (const k of [10, 500_000, at - 10, at - 200, at - 400]) damage[k] = 0x0a;
      const decoded = await decodeFrames(Buffer.concat([damage, Buffer.from('\n'), good]));
      expect(decoded).toEqual({ batches: [batch(0, 2)], lostBatches: 1, lostRows: 6 });
    }
  });

  it('round-trips batches and skips only a damaged one, counting its rows', async () => {
    const frames = [encodeFrame(batch(0, 3), 3), encodeFrame(batch(3, 4), 4), encodeFrame(batch(7, 2), 2)];
    expect(await decodeFrames(Buffer.concat(frames))).toEqual({ batches: [batch(0, 3), batch(3, 4), batch(7, 2)], lostBatches: 0, lostRows: 0 });
    const bad = Buffer.from(frames[1]);
    bad[bad.length - 20] ^= 0x20;
    expect(await decodeFrames(Buffer.concat([frames[0], bad, frames[2]]))).toEqual({ batches: [batch(0, 3), batch(7, 2)], lostBatches: 1, lostRows: 4 });
    // Cut short in the last frame; and a damaged header (its row count unknown: its lines are counted).
    const all = Buffer.concat(frames);
    expect(await decodeFrames(all.subarray(0, all.length - 10))).toMatchObject({ lostBatches: 1, lostRows: 2 });
    const hdr = Buffer.from(frames[1]);
    hdr[2] = 0x58;
    expect(await decodeFrames(Buffer.concat([frames[0], hdr, frames[2]]))).toMatchObject({ batches: [batch(0, 3), batch(7, 2)], lostBatches: 1, lostRows: 4 });
    expect(frames[0].toString().split('\n')[0]).toBe(`#frame 3 ${Buffer.byteLength(batch(0, 3))} ${crc32(Buffer.from(batch(0, 3))).toString(16)}`);
  });

  it('recognises row lines; a stray end-of-data marker or a torn line is not one', () => {
    expect(isRowLine(line(1))).toBe(true);
    expect(isRowLine('\\.\n')).toBe(false);
    expect(isRowLine(line(1).slice(0, 60))).toBe(false);
    expect(isRowLine(line(1).replace('\tx\t', '\tx\tz\t'))).toBe(false);
  });
});

describe('the leaks listed in issue 11', () => {
  const tok = '7012345678:AAEhBP0av28CdMzJpQk9YtGvBsS6Wdfx_Ak';
  const X = 'Zq8v2kLm4Np6Rs9Tu1Wx3Yz5';
  it.each([
    [`invalid token: ${X}`],
    [`request failed and token=${X}`],
    [`Authorization:\tBearer\t${X}`],
    [`for bot${tok}`],
    [`Request cannot be constructed from a URL that includes credentials: http://user:${X}@api.test/x`],
    [`{"detail":"client_secret=${X}&code=${X}"}`],
    [`client_secret=${X}&code=${X}`],
    [`https://app.test/cb#access_token=${X}&token_type=bearer`],
    [`https://app.test/cb?code=${X}&state=1`],
    [`"apiKey":"${X}"`],
    [`apiKey: ${X}`],
  ])('%s', (text) => {
    const out = redactString(text);
    expect(out).not.toContain(X);
    expect(out).not.toContain(tok);
    expect(out).toContain(REDACTED);
  });

  it('URL fragments and OAuth bodies', () => {
    expect(redactUrl(`https://app.test/cb#access_token=${X}&state=1`)).not.toContain(X);
    expect(redactUrl(`https://app.test/cb?code=${X}`)).not.toContain(X);
    expect(redactValue({ client_id: 'a', grant_type: 'authorization_code', code: X })).toEqual({ client_id: 'a', grant_type: 'authorization_code', code: REDACTED });
    // `code` outside an OAuth body is an ordinary field (Mobizon's result code, an error code).
    expect(redactValue({ code: 0, data: { code: 'ok' } })).toEqual({ code: 0, data: { code: 'ok' } });
  });

  it('Mobizon messages built from `data` keep a credential-named field name only', () => {
    const o = judgeHttp('mobizon', 200, { code: 1, data: { apiKey: X, recipient: 'bad number' }, message: 'Validation' });
    expect(o.errorMessage).toBe(`Validation; apiKey: ${REDACTED}; recipient: bad number`);
  });

  it('error codes that look like credentials are recognised; real codes are not', () => {
    for (const c of [X, 'a1b2c3d4e5f6a7b8c9d0e1f2', 'def50200aa11bb22cc33dd44ee55']) expect([c, looksLikeSecret(c)]).toEqual([c, true]);
    for (const c of ['ECONNREFUSED', 'UND_ERR_HEADERS_TIMEOUT', 'validation_error', 'InvalidType', '429', 'missing_required_field', 'ERR_INVALID_ARG_TYPE', 'TIMEOUT']) {
      expect([c, looksLikeSecret(c)]).toEqual([c, false]);
    }
  });

  it('Telegram URLs without a method, and token-like path segments anywhere, give no action from the token', () => {
    expect(actionFor('telegram', 'GET', `/bot${tok}`)).toBe('get');
    expect(actionFor('telegram', 'GET', `/bot${tok}/`)).toBe('get');
    expect(actionFor('telegram', 'POST', `/bot${tok}/sendMessage`)).toBe('send_message');
    expect(actionFor('whapi', 'POST', `/messages/${X}`)).toBe('post_messages');
    expect(actionFor('mobizon', 'GET', `/service/Message/${X}`)).toBe('get_message');
    expect(actionFor('amocrm', 'GET', '/api/v4/constructor')).toBe('get_constructor');
    expect(actionFor('resend', 'GET', `/emails/${X}/x`)).toBe('get_x');
  });
});

describe('credential taint', () => {
  it('collects what a request carries and scrubs it in every encoding', () => {
    const set = new CredentialSet();
    set.url(`https://u5er-name:p4ss-w0rd@api.test/bot${'123456:'.padEnd(30, 'A')}/x?apiKey=key-123456&q=1#access_token=frag-123456`);
    set.headers(new Headers({ authorization: 'Bearer bearer-123456', 'proxy-authorization': `Basic ${Buffer.from('proxyuser:proxypass9').toString('base64')}`, cookie: 'sid=cookie-123456; x=1' }));
    set.value({ client_id: 'app', grant_type: 'authorization_code', code: 'oauth-code-123456', nested: { refresh_token: 'refresh-123456' }, list: [{ password: 'pw-123456' }] });
    set.value('apiKey=form-123456&text=hi');
    const values = [...set.values];
    for (const v of [
      'u5er-name',
      'p4ss-w0rd',
      'key-123456',
      'frag-123456',
      'bearer-123456',
      'proxyuser',
      'proxypass9',
      'cookie-123456',
      'oauth-code-123456',
      'refresh-123456',
      'pw-123456',
      'form-123456',
    ]) {
      expect(values).toContain(v);
    }
    expect(values).not.toContain('app');
    const scrub = set.scrubber()!;
    const s = 'a secret/with space';
    const both = makeScrubber(['bearer-123456', s]);
    expect(both(`x bearer-123456 ${encodeURIComponent(s)} ${JSON.stringify(s)} a+secret%2Fwith+space`)).toBe(`x ${REDACTED} ${REDACTED} "${REDACTED}" ${REDACTED}`);
    expect(scrub('echo: key-123456 / oauth-code-123456')).toBe(`echo: ${REDACTED} / ${REDACTED}`);
    // Payloads are scrubbed value by value, so the JSON stays valid.
    expect(JSON.parse(payloadJson({ note: 'got key-123456', 'key-123456': 1 }, { maskPii: false, maxPayloadBytes: 1000 }, scrub)!)).toEqual({ note: `got ${REDACTED}`, [REDACTED]: 1 });
  });
});

describe('warnings', () => {
  it('without onError: one process warning per kind per minute; with onError every report goes there', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      let now = 1_000_000_000;
      const r = new Reporter(undefined, () => now);
      r.report('spool-io', 'a');
      r.report('spool-io', 'b');
      r.report('dead-letter', 'c');
      now += WARNING_INTERVAL_MS - 1;
      r.report('spool-io', 'd');
      now += 1;
      r.report('spool-io', 'e');
      expect(warn.mock.calls.map((c) => String(c[0]).slice(-1))).toEqual(['a', 'c', 'e']);
      const got: Error[] = [];
      const withHandler = new Reporter((e) => got.push(e));
      withHandler.report('spool-io', 'x');
      withHandler.report('spool-io', 'y');
      expect(got.map((e) => [(e as RecorderError).kind, e.message])).toEqual([
        ['spool-io', 'integration-monitor recorder: x'],
        ['spool-io', 'integration-monitor recorder: y'],
      ]);
      expect(warn).toHaveBeenCalledTimes(3);
    } finally {
      warn.mockRestore();
    }
  });

  it('caps cut at a character boundary', () => {
    expect(cap('ab😀', 3)).toBe('ab');
    expect(cap('abc', 3)).toBe('abc');
  });
});
