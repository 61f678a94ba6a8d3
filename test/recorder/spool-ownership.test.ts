/**
 * Spool ownership survives PID reuse: what a recorder spooled is replayed by whoever comes next —
 * a restarted container app that is PID 1 again, a later recorder in the same process — and two
 * live recorders sharing a spool directory never replay the same segment twice.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRecorder } from '../../src/index';
import { decodeFrames } from '../../src/recorder/spool-frame';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { canUnsharePid, startChild } from './children';
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

async function counts(): Promise<{ n: number; d: number }> {
  const { rows } = await db.pool.query<{ n: string; d: string }>('SELECT count(*) n, count(DISTINCT id) d FROM integration_logs');
  return { n: Number(rows[0].n), d: Number(rows[0].d) };
}

const segments = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.copy'));

/** A child spools `calls` rows with the database down and is SIGKILLed; returns the pid it had. */
async function spoolAndKill(spoolDir: string, calls: number, pidNamespace: boolean): Promise<number> {
  const child = startChild({ MODE: 'spool', DB_URL: DOWN, SPOOL_DIR: spoolDir, CALLS: String(calls) }, { pidNamespace });
  const pid = Number((await child.line(/^spooled /)).split(' ')[1]);
  child.proc.kill('SIGKILL');
  await child.exited;
  return pid;
}

const unshare = canUnsharePid();
(unshare ? it : it.skip)(
  'a restarted PID 1 (fresh PID namespace, as in a container) replays 100 % of what PID 1 spooled',
  async () => {
    const spoolDir = tempDir('intmon-spool-');
    expect(await spoolAndKill(spoolDir, 100, true)).toBe(1);
    expect(segments(spoolDir)).toHaveLength(1);
    // The "restarted" app: PID 1 again, in a namespace of its own.
    const next = startChild({ MODE: 'replay', DB_URL: db.url, SPOOL_DIR: spoolDir }, { pidNamespace: true });
    const stats = JSON.parse(await next.line(/^\{/));
    await next.exited;
    expect(stats).toMatchObject({ pid: 1, replayed: 100, dropped: 0 });
    expect(await counts()).toEqual({ n: 100, d: 100 });
    expect(segments(spoolDir)).toEqual([]);
  },
  60_000,
);

it('PID reuse without namespaces: a dead owner whose PID is now a live process (ours) is still replayed, and so is an old-format segment named with our PID', async () => {
  const spoolDir = tempDir('intmon-spool-');
  await spoolAndKill(spoolDir, 100, false);
  // Make the dead owner's lock claim a PID that is alive — this very process — as after PID reuse.
  const [lock] = fs.readdirSync(spoolDir).filter((f) => f.startsWith('owner-') && f.endsWith('.json'));
  const info = JSON.parse(fs.readFileSync(path.join(spoolDir, lock), 'utf8'));
  fs.writeFileSync(path.join(spoolDir, lock), JSON.stringify({ ...info, pid: process.pid }));
  // And a segment of the earlier, PID-named format whose PID is this process's.
  const old = createRecorder({ databaseUrl: DOWN, spoolDir: tempDir('intmon-spool-'), onError: () => undefined });
  const oldDir = (old as unknown as { shipper: { spool: { dir: string } } }).shipper.spool.dir;
  for (let i = 0; i < 100; i++) await old.track('telegram', 'send_message', async () => i);
  await old.close();
  const lines = (await decodeFrames(fs.readFileSync(path.join(oldDir, segments(oldDir)[0])))).batches.join('');
  fs.writeFileSync(path.join(spoolDir, `spool-${process.pid}-1-0-000000.copy`), lines);

  const rec = createRecorder({ databaseUrl: db.url, spoolDir });
  await rec.flush();
  await rec.close();
  expect(rec.stats()).toMatchObject({ replayed: 200, dropped: 0 });
  expect(await counts()).toEqual({ n: 200, d: 200 });
  expect(segments(spoolDir)).toEqual([]);
}, 60_000);

it('a later recorder in the same process adopts what a closed one left; a live one is never adopted', async () => {
  const spoolDir = tempDir('intmon-spool-');
  const first = createRecorder({ databaseUrl: DOWN, spoolDir, onError: () => undefined });
  for (let i = 0; i < 100; i++) await first.track('amocrm', 'sync_lead', async () => i);
  await first.close();
  const second = createRecorder({ databaseUrl: db.url, spoolDir });
  await second.flush();
  await second.close();
  expect(second.stats()).toMatchObject({ replayed: 100, dropped: 0 });
  expect(await counts()).toEqual({ n: 100, d: 100 });

  const live = createRecorder({ databaseUrl: DOWN, spoolDir, onError: () => undefined });
  for (let i = 0; i < 30; i++) await live.track('amocrm', 'sync_lead', async () => i);
  await live.flush(); // spooled (database down), its owner still running
  expect(live.stats().spooled).toBe(30);
  const third = createRecorder({ databaseUrl: db.url, spoolDir });
  await third.flush();
  await third.close();
  expect(third.stats().replayed).toBe(0);
  expect(segments(spoolDir)).toHaveLength(1); // still the live recorder's, on disk
  await live.close();
  const fourth = createRecorder({ databaseUrl: db.url, spoolDir });
  await fourth.flush();
  await fourth.close();
  expect(fourth.stats().replayed).toBe(30);
  expect(await counts()).toEqual({ n: 130, d: 130 });
  expect(segments(spoolDir)).toEqual([]);
}, 60_000);

it('two live processes on one spool store every row exactly once and never replay a segment twice', async () => {
  const spoolDir = tempDir('intmon-spool-');
  // Orphans for both to race for: three dead owners' segments.
  for (let k = 0; k < 3; k++) await spoolAndKill(spoolDir, 100, false);
  expect(segments(spoolDir)).toHaveLength(3);
  const env = { MODE: 'load', DB_URL: db.url, SPOOL_DIR: spoolDir, CALLS: '3000' };
  const a = startChild(env);
  const b = startChild(env);
  const [sa, sb] = await Promise.all([a.line(/^\{/, 60_000), b.line(/^\{/, 60_000)]).then((l) => l.map((x) => JSON.parse(x)));
  await Promise.all([a.exited, b.exited]);
  expect(sa.spooled).toBeGreaterThan(0); // both really spilled to their own segments while live
  expect(sb.spooled).toBeGreaterThan(0);
  // Each row replayed by exactly one of them: replays = own spooled rows + the 300 orphans.
  expect(sa.replayed + sb.replayed).toBe(sa.spooled + sb.spooled + 300);
  expect(sa.dropped + sb.dropped).toBe(0);
  expect(await counts()).toEqual({ n: 6300, d: 6300 });
  expect(segments(spoolDir)).toEqual([]);
}, 120_000);
