/**
 * The spool is bounded and verifiable: past maxSpoolBytes new rows are refused (counted, reported)
 * while what is on disk is kept and replayed; a damaged segment loses only its damaged batches,
 * and says how many rows. Without onError, problems surface as process warnings, once per kind
 * per minute.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRecorder } from '../../src/index';
import type { RecorderError } from '../../src/recorder/report';
import { decodeFrames, encodeFrame } from '../../src/recorder/spool-frame';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { removeTempDirs, tempDir } from './helpers';

const DOWN = 'postgres://x:y@127.0.0.1:1/unreachable';
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
  removeTempDirs();
});
beforeEach(async () => {
  await db.pool.query('DELETE FROM integration_logs');
});

const count = async () => Number((await db.pool.query<{ n: string }>('SELECT count(*) n FROM integration_logs')).rows[0].n);
const segments = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.copy'));

it('honours maxSpoolBytes: keeps the oldest rows, refuses and counts the rest, reports it', async () => {
  const spoolDir = tempDir('intmon-spool-');
  const errors: RecorderError[] = [];
  const cap = 40_000;
  const rec = createRecorder({ databaseUrl: DOWN, spoolDir, maxSpoolBytes: cap, flushIntervalMs: 10, onError: (e) => errors.push(e as RecorderError) });
  for (let i = 0; i < 1000; i++) {
    await rec.track('telegram', 'send_message', async () => i);
    if (i % 20 === 19) await rec.flush(); // batches of 20 rows: ~4 KB frames
  }
  await rec.close();
  const s = rec.stats();
  expect(s.spooled).toBeGreaterThan(0);
  expect(s.droppedSpoolFull).toBeGreaterThan(0);
  expect(s.spooled + s.droppedSpoolFull).toBe(1000);
  expect(s.dropped).toBe(s.droppedSpoolFull);
  const onDisk = segments(spoolDir).reduce((n, f) => n + fs.statSync(path.join(spoolDir, f)).size, 0);
  expect(onDisk).toBeLessThanOrEqual(cap);
  expect(errors.some((e) => e.kind === 'spool-full')).toBe(true);

  // What was kept is the oldest rows, and all of it replays.
  const next = createRecorder({ databaseUrl: db.url, spoolDir });
  await next.flush();
  await next.close();
  expect(next.stats().replayed).toBe(s.spooled);
  expect(await count()).toBe(s.spooled);
});

it('a damaged segment loses only its damaged batches, and counts their rows', async () => {
  const spoolDir = tempDir('intmon-spool-');
  const rec = createRecorder({ databaseUrl: DOWN, spoolDir, flushIntervalMs: 10, onError: () => undefined });
  for (let i = 0; i < 100; i++) {
    await rec.track('mobizon', 'send_sms', async () => i);
    if (i % 20 === 19) await rec.flush(); // five frames of 20 rows
  }
  await rec.close();
  expect(rec.stats().spooled).toBe(100);
  // Each failed probe sealed a segment: join them, in order, into one segment of five frames
  // under a dead owner's name.
  const parts = segments(spoolDir).sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1]) || a.localeCompare(b));
  const buf = Buffer.concat(parts.map((f) => fs.readFileSync(path.join(spoolDir, f))));
  for (const f of parts) fs.rmSync(path.join(spoolDir, f));
  const file = path.join(spoolDir, 'seg-1-000000-00000000000000cc.00000000000000cc.copy');
  const frames = [...buf.toString('latin1').matchAll(/#frame /g)].map((m) => m.index!);
  expect(frames).toHaveLength(5);
  // Flip one byte inside the second frame's rows, and cut the file in the middle of the last frame.
  buf[frames[1] + 200] ^= 0x01;
  fs.writeFileSync(file, buf.subarray(0, frames[4] + 300));

  const errors: RecorderError[] = [];
  const next = createRecorder({ databaseUrl: db.url, spoolDir, onError: (e) => errors.push(e as RecorderError) });
  await next.flush();
  await next.close();
  expect(next.stats()).toMatchObject({ replayed: 60, lostCorrupt: 40, dropped: 40 });
  expect(await count()).toBe(60);
  const report = errors.find((e) => e.kind === 'spool-corrupt');
  expect(report?.message).toMatch(/2 batch\(es\) unreadable, 40 row\(s\) lost/);
  expect(segments(spoolDir)).toEqual([]);
});

it('a stray `\\.` line (which ends a COPY early) costs only itself: the rows after it land', async () => {
  const spoolDir = tempDir('intmon-spool-');
  const rec = createRecorder({ databaseUrl: DOWN, spoolDir, onError: () => undefined });
  for (let i = 0; i < 30; i++) await rec.track('whapi', 'send_message', async () => i);
  await rec.close();
  const [seg] = segments(spoolDir);
  const lines = (await decodeFrames(fs.readFileSync(path.join(spoolDir, seg)))).batches.join('').split('\n').filter(Boolean);
  fs.writeFileSync(path.join(spoolDir, seg), encodeFrame([...lines.slice(0, 5), '\\.', ...lines.slice(5)].join('\n') + '\n', 31));
  const next = createRecorder({ databaseUrl: db.url, spoolDir, onError: () => undefined });
  await next.flush();
  await next.close();
  expect(next.stats()).toMatchObject({ replayed: 30, deadLettered: 1 });
  expect(await count()).toBe(30);
});

it('without onError, problems become process warnings, once per kind per minute', async () => {
  // jest gives each test file a process object of its own; the warning is seen where it is emitted.
  const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    const rec = createRecorder({ databaseUrl: DOWN, spoolDir: tempDir('intmon-spool-'), flushIntervalMs: 10, maxSpoolBytes: 2_000 });
    for (let i = 0; i < 200; i++) {
      await rec.track('resend', 'send_email', async () => i);
      if (i % 10 === 0) await rec.flush();
    }
    await rec.close();
    // Each problem happened many times (every flush failed, every spill past the cap was refused)…
    expect(rec.stats().droppedSpoolFull).toBeGreaterThan(50);
    // …and was warned about once.
    const kinds = warn.mock.calls.map((c) => c[1] as { code: string; type: string }).map((o) => [o.type, o.code]);
    expect(kinds.sort()).toEqual([
      ['IntegrationMonitorRecorderWarning', 'database-down'],
      ['IntegrationMonitorRecorderWarning', 'spool-full'],
    ]);
    expect(String(warn.mock.calls[0][0])).toMatch(/^integration-monitor recorder: database unavailable/);
  } finally {
    warn.mockRestore();
  }
});
