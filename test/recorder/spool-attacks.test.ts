/**
 * The spool in a directory another local user can reach (issue 24, items 3–6). "Another user" is
 * uid 65534: the tests run as root and hand files and directories to it with chown, as that user
 * would have made them — a spool directory it created first with mode 0777, a symlink planted as
 * the dead-letter file, a world-readable dead-letter file, a forged segment, a 1.2 GB and a 3 GB
 * segment. Expected: the directory is refused as a whole with one clear error and recording goes
 * on in memory; in the recorder's own directory each file is still checked (no symlink followed,
 * only this user's files, bounded in size) and what is skipped is counted and named.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRecorder } from '../../src/index';
import { encodeRow } from '../../src/recorder/copy-format';
import { DEAD_LETTER_FILE } from '../../src/recorder/dead-letter';
import { uuidv7 } from '../../src/recorder/ids';
import type { RecorderError } from '../../src/recorder/report';
import { encodeFrame } from '../../src/recorder/spool-frame';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { logRow, removeTempDirs, tempDir } from './helpers';

const OTHER = 65534;
const DOWN = 'postgres://x:y@127.0.0.1:1/unreachable';
const asRoot = typeof process.geteuid === 'function' && process.geteuid() === 0;
const rootIt = asRoot ? it : it.skip;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  // A row the database refuses, so that a dead letter is written.
  await db.pool.query(`ALTER TABLE integration_logs ADD CONSTRAINT test_poison CHECK (action NOT LIKE 'poison%')`);
});
afterAll(async () => {
  await db.drop();
  removeTempDirs();
});
beforeEach(async () => {
  await db.pool.query('DELETE FROM integration_logs');
});

/** A directory as another user leaves it in /tmp: theirs, mode 0777. */
function sharedDir(): string {
  const dir = tempDir('intmon-shared-');
  fs.chownSync(dir, OTHER, OTHER);
  fs.chmodSync(dir, 0o777);
  return dir;
}

/** A file planted by the other user. */
function plant(file: string, content: string | Buffer, mode = 0o644): void {
  fs.writeFileSync(file, content);
  fs.chownSync(file, OTHER, OTHER);
  fs.chmodSync(file, mode);
}

/** A root-owned 0600 file, as the target of a planted symlink. */
function victim(): { file: string; content: string } {
  const file = path.join(tempDir('intmon-victim-'), 'shadow');
  const content = 'root:private:do-not-touch\n';
  fs.writeFileSync(file, content, { mode: 0o600 });
  return { file, content };
}

/** A forged `success` row for a service of the attacker's choosing, framed as a segment of a dead owner. */
function forgedSegment(service: string): Buffer {
  const line = encodeRow({ ...logRow(service), id: uuidv7(), action: 'forged', duration_ms: 1 });
  return encodeFrame(line, 1);
}
const FORGED_NAME = 'seg-1-000000-00000000000000ee.00000000000000ee.copy';

const services = async () => (await db.pool.query<{ s: string }>('SELECT service_name s FROM integration_logs ORDER BY 1')).rows.map((r) => r.s);

/** Tracks one call the database refuses and one it takes; returns the reports. */
async function poisonAndNormal(spoolDir: string): Promise<{ errors: RecorderError[]; stats: ReturnType<ReturnType<typeof createRecorder>['stats']> }> {
  const errors: RecorderError[] = [];
  const rec = createRecorder({ databaseUrl: db.url, spoolDir, onError: (e) => errors.push(e as RecorderError) });
  await rec.track('resend', 'poison_row', async () => 1, { request: { to: 'a@b.test' } });
  await rec.track('resend', 'send_email', async () => 2);
  await rec.flush();
  await rec.close();
  return { errors, stats: rec.stats() };
}

describe('a directory another user owns, mode 0777, is refused as a whole', () => {
  rootIt('(3) a symlink planted as dead-letter.jsonl: its target is untouched; one clear error; the good row is written', async () => {
    const dir = sharedDir();
    const target = victim();
    fs.symlinkSync(target.file, path.join(dir, DEAD_LETTER_FILE));
    const { errors, stats } = await poisonAndNormal(dir);
    expect(fs.readFileSync(target.file, 'utf8')).toBe(target.content);
    expect(stats).toMatchObject({ written: 1, deadLettered: 0, dropped: 1 });
    expect(await services()).toEqual(['resend']);
    const refusals = errors.filter((e) => e.kind === 'spool-unsafe');
    expect(refusals).toHaveLength(1);
    expect(refusals[0].message).toContain(`spool directory ${dir} is owned by uid ${OTHER}`);
    expect(refusals[0].message).toMatch(/mode 0700/);
  });

  rootIt('(4) a pre-made world-readable dead-letter.jsonl is never written to', async () => {
    const dir = sharedDir();
    const file = path.join(dir, DEAD_LETTER_FILE);
    plant(file, '', 0o666);
    const { stats } = await poisonAndNormal(dir);
    expect(fs.readFileSync(file, 'utf8')).toBe('');
    expect(stats).toMatchObject({ written: 1, deadLettered: 0 });
  });

  rootIt('(5) a planted segment is not adopted: no forged row reaches integration_logs, and the file is left alone', async () => {
    const dir = sharedDir();
    plant(path.join(dir, FORGED_NAME), forgedSegment('attacker_bank'));
    const { stats } = await poisonAndNormal(dir);
    expect(await services()).toEqual(['resend']);
    expect(stats).toMatchObject({ replayed: 0 });
    expect(fs.readdirSync(dir)).toEqual([FORGED_NAME]); // nothing of ours was written there either
  });

  rootIt('recording goes on in memory: with the database down rows wait in the queue, none reach the directory; close() counts them lost', async () => {
    const dir = sharedDir();
    const errors: RecorderError[] = [];
    const rec = createRecorder({ databaseUrl: DOWN, spoolDir: dir, flushIntervalMs: 10, onError: (e) => errors.push(e as RecorderError) });
    for (let i = 0; i < 50; i++) await rec.track('mobizon', 'send_sms', async () => i);
    await rec.flush();
    expect(rec.stats()).toMatchObject({ queuedRows: 50, spooled: 0, dropped: 0, databaseUp: false });
    await rec.close();
    expect(rec.stats()).toMatchObject({ spooled: 0, dropped: 50 });
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(errors.filter((e) => e.kind === 'spool-unsafe' && e.message.includes('refused, nothing is read'))).toHaveLength(1);
  });

  rootIt('a directory of this user that others may write to (0777) is refused too', async () => {
    const dir = tempDir('intmon-open-');
    fs.chmodSync(dir, 0o777);
    plant(path.join(dir, FORGED_NAME), forgedSegment('attacker_bank'));
    const { errors } = await poisonAndNormal(dir);
    expect(await services()).toEqual(['resend']);
    expect(errors.find((e) => e.kind === 'spool-unsafe')?.message).toMatch(/writable by other users \(mode 0777\)/);
  });
});

describe("in the recorder's own directory, each file is still checked", () => {
  it('creates a missing spool directory with mode 0700', async () => {
    const dir = path.join(tempDir('intmon-parent-'), 'spool');
    const rec = createRecorder({ databaseUrl: DOWN, spoolDir: dir, onError: () => undefined });
    await rec.track('whapi', 'send_message', async () => 1);
    await rec.close();
    expect(rec.stats().spooled).toBe(1);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of fs.readdirSync(dir)) expect(fs.statSync(path.join(dir, f)).mode & 0o077).toBe(0);
  });

  it('(3) a symlink as dead-letter.jsonl is not followed (O_NOFOLLOW): the target is untouched, the row counted lost', async () => {
    const dir = tempDir('intmon-own-');
    const target = victim();
    fs.symlinkSync(target.file, path.join(dir, DEAD_LETTER_FILE));
    const { errors, stats } = await poisonAndNormal(dir);
    expect(fs.readFileSync(target.file, 'utf8')).toBe(target.content);
    expect(stats).toMatchObject({ written: 1, deadLettered: 0, dropped: 1 });
    expect(errors.map((e) => e.message).join('\n')).toMatch(/dead-letter\.jsonl is a symbolic link: not followed/);
  });

  rootIt("(4) a dead-letter file of another user is not written to; one of this user's that others may read is made 0600 first", async () => {
    const theirs = tempDir('intmon-own-');
    plant(path.join(theirs, DEAD_LETTER_FILE), '', 0o644);
    expect((await poisonAndNormal(theirs)).stats).toMatchObject({ deadLettered: 0, dropped: 1 });
    expect(fs.readFileSync(path.join(theirs, DEAD_LETTER_FILE), 'utf8')).toBe('');

    const mine = tempDir('intmon-own-');
    fs.writeFileSync(path.join(mine, DEAD_LETTER_FILE), '', { mode: 0o644 });
    fs.chmodSync(path.join(mine, DEAD_LETTER_FILE), 0o644);
    expect((await poisonAndNormal(mine)).stats).toMatchObject({ deadLettered: 1, dropped: 0 });
    expect(fs.statSync(path.join(mine, DEAD_LETTER_FILE)).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(mine, DEAD_LETTER_FILE), 'utf8')).toMatch(/poison_row/);
  });

  rootIt("(5) a segment of another user is skipped — counted, named, left in place; the same file as this user's is adopted", async () => {
    const dir = tempDir('intmon-own-');
    const seg = path.join(dir, FORGED_NAME);
    plant(seg, forgedSegment('attacker_bank'));
    const { errors, stats } = await poisonAndNormal(dir);
    expect(await services()).toEqual(['resend']);
    expect(stats).toMatchObject({ replayed: 0, spoolSkipped: 1 });
    expect(errors.filter((e) => e.kind === 'spool-unsafe').map((e) => e.message)).toEqual([expect.stringContaining(`spool segment ${seg} not adopted: owned by uid ${OTHER}`)]);
    expect(fs.existsSync(seg)).toBe(true);

    // Control: the very same bytes, owned by this user, are adopted (the check above is what kept them out).
    await db.pool.query('DELETE FROM integration_logs');
    fs.chownSync(seg, 0, 0);
    expect((await poisonAndNormal(dir)).stats).toMatchObject({ replayed: 1, spoolSkipped: 0 });
    expect(await services()).toEqual(['attacker_bank', 'resend']);
  });

  it('a symlink or a FIFO named like a segment is skipped, not opened', async () => {
    const dir = tempDir('intmon-own-');
    const target = victim();
    fs.symlinkSync(target.file, path.join(dir, FORGED_NAME));
    const fifo = path.join(dir, 'seg-2-000000-00000000000000ef.00000000000000ef.copy');
    execFileSync('mkfifo', [fifo]);
    const { errors, stats } = await poisonAndNormal(dir);
    expect(stats).toMatchObject({ replayed: 0, spoolSkipped: 2 });
    const text = errors.map((e) => e.message).join('\n');
    expect(text).toContain(`${path.join(dir, FORGED_NAME)} not adopted: a symbolic link`);
    expect(text).toContain(`${fifo} not adopted: not a regular file`);
    expect(fs.readFileSync(target.file, 'utf8')).toBe(target.content);
  });

  it('maxSpoolBytes bounds adopted segments too: what does not fit waits on disk', async () => {
    const dir = tempDir('intmon-own-');
    const seg = forgedSegment('orphan');
    for (let k = 0; k < 3; k++) fs.writeFileSync(path.join(dir, `seg-${k + 1}-000000-00000000000000a${k}.00000000000000a${k}.copy`), forgedSegment(`orphan_${k}`));
    const cap = Math.floor(seg.length * 2.5); // room for two
    const rec = createRecorder({ databaseUrl: DOWN, spoolDir: dir, maxSpoolBytes: cap, onError: () => undefined });
    await rec.flush();
    expect(rec.stats().spoolBytes).toBeGreaterThan(0);
    expect(rec.stats().spoolBytes).toBeLessThanOrEqual(cap);
    expect(rec.stats().spoolSkipped).toBe(0); // it can fit later: not an error
    await rec.close();
    const next = createRecorder({ databaseUrl: db.url, spoolDir: dir, onError: () => undefined });
    await next.flush();
    await next.close();
    expect(await services()).toEqual(['orphan_0', 'orphan_1', 'orphan_2']);
  });
});

/** A recorder in a child process adopts and replays `dir`; its stats, peak RSS (MiB) and reports. */
function adoptInChild(dir: string, env: Record<string, string> = {}): { stats: Record<string, number>; peakMiB: number; errors: string[] } {
  const out = execFileSync(process.execPath, ['-r', path.join(__dirname, 'fixtures/ts-register.js'), path.join(__dirname, 'fixtures/adopt-child.ts')], {
    env: { ...process.env, ...env, DB_URL: db.url, SPOOL_DIR: dir },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('(6) huge planted segments', () => {
  it('a 1.2 GB and a 3 GB segment are refused by size — named, counted, kept — and replay stays small in memory', async () => {
    const dir = tempDir('intmon-own-');
    // Sparse: the size is real to the recorder, the disk holds nothing. Each starts with a valid frame.
    const big = path.join(dir, 'seg-1-000000-00000000000000b1.00000000000000b1.copy');
    const huge = path.join(dir, 'seg-2-000000-00000000000000b2.00000000000000b2.copy');
    const sizes = { [big]: 1.2e9, [huge]: 3e9 };
    for (const [file, size] of Object.entries(sizes)) {
      fs.writeFileSync(file, forgedSegment('big_segment'));
      fs.truncateSync(file, size);
    }
    const { stats, peakMiB, errors } = adoptInChild(dir, { MAX_SPOOL_BYTES: String(4 * 1024 ** 3) });
    expect(stats).toMatchObject({ replayed: 0, spoolSkipped: 2, spoolBytes: 0 });
    expect(errors.find((e) => e.includes(big))).toMatch(/not adopted: 1200000000 bytes, more than the 67108864 a segment may have here/);
    expect(errors.find((e) => e.includes(huge))).toMatch(/not adopted: 3000000000 bytes/);
    for (const [file, size] of Object.entries(sizes)) expect(fs.statSync(file).size).toBe(size);
    expect(await services()).toEqual([]);
    expect(peakMiB).toBeLessThan(200);
  }, 60_000);

  it('a segment within the bound is read a frame at a time: 60 MB of damage between two frames costs no more memory than a frame', async () => {
    const dir = tempDir('intmon-own-');
    const file = path.join(dir, 'seg-1-000000-00000000000000b3.00000000000000b3.copy');
    const size = 60e6;
    fs.writeFileSync(file, forgedSegment('before_damage'));
    const tail = Buffer.concat([Buffer.from('\n'), forgedSegment('after_damage')]);
    fs.truncateSync(file, size - tail.length); // a sparse hole: damage with no frame header
    fs.appendFileSync(file, tail);
    const baseline = adoptInChild(tempDir('intmon-own-')).peakMiB;
    const { stats, peakMiB } = adoptInChild(dir);
    expect(stats).toMatchObject({ replayed: 2, spoolSkipped: 0 });
    expect(stats.lostCorrupt).toBeGreaterThan(0);
    expect(await services()).toEqual(['after_damage', 'before_damage']);
    expect(fs.existsSync(file)).toBe(false);
    // Reading the segment whole would take its 57 MiB on top of what the same process needs with nothing to read.
    expect(peakMiB - baseline).toBeLessThan(25);
  }, 60_000);
});
