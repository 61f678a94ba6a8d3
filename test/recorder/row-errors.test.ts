/**
 * Rows the database refuses never stop the writer: they are isolated, dead-lettered, counted and
 * reported; the rows around them — in memory or in a spool segment replayed by a new process —
 * are written. Caller-controlled text is capped before queueing, so the original poison
 * (a 3,000-character entity type, SQLSTATE 54000) is now an ordinary row.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRecorder } from '../../src/index';
import { DEAD_LETTER_FILE } from '../../src/recorder/dead-letter';
import { LIMITS } from '../../src/recorder/limits';
import type { RecorderError } from '../../src/recorder/report';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { startChild } from './children';
import { allRows, removeTempDirs, tempDir } from './helpers';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  // Two kinds of row the database refuses whatever the recorder does, as a stricter schema or a
  // trigger would: a CHECK (class 23) and a trigger raising "program limit exceeded" (class 54,
  // what an over-long index entry raises).
  await db.pool.query(`ALTER TABLE integration_logs ADD CONSTRAINT test_poison_check CHECK (action NOT LIKE 'poison_check%')`);
  await db.pool.query(`CREATE FUNCTION test_poison_limit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.action LIKE 'poison_limit%' THEN RAISE EXCEPTION 'index row size exceeds maximum' USING ERRCODE = '54000'; END IF; RETURN NEW; END $$`);
  await db.pool.query('CREATE TRIGGER test_poison_limit BEFORE INSERT OR UPDATE ON integration_logs FOR EACH ROW EXECUTE FUNCTION test_poison_limit()');
});
afterAll(async () => {
  await db.drop();
  removeTempDirs();
});
beforeEach(async () => {
  await db.pool.query('DELETE FROM integration_logs');
});

const deadLetters = (dir: string) =>
  fs.existsSync(path.join(dir, DEAD_LETTER_FILE))
    ? fs
        .readFileSync(path.join(dir, DEAD_LETTER_FILE), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
    : [];

it('two different poison rows, then 200 normal calls: 200 stored, the poison dead-lettered and counted, every value returned', async () => {
  const spoolDir = tempDir('intmon-spool-');
  const errors: RecorderError[] = [];
  const rec = createRecorder({ databaseUrl: db.url, spoolDir, flushIntervalMs: 20, onError: (e) => errors.push(e as RecorderError) });
  expect(await rec.track('whapi', 'poison_check', async () => 'p1')).toBe('p1');
  expect(await rec.track('whapi', 'poison_limit', async () => 'p2')).toBe('p2');
  const values = await Promise.all(Array.from({ length: 200 }, (_, i) => rec.track('whapi', 'send_message', async () => i)));
  expect(values).toEqual(Array.from({ length: 200 }, (_, i) => i));
  await rec.flush();
  await rec.close();
  const { rows } = await db.pool.query<{ action: string; n: string }>('SELECT action, count(*) n FROM integration_logs GROUP BY action');
  expect(rows).toEqual([{ action: 'send_message', n: '200' }]);
  expect(rec.stats()).toMatchObject({ tracked: 202, deadLettered: 2, dropped: 0, spooled: 0, databaseUp: true });
  expect(
    errors
      .filter((e) => e.kind === 'dead-letter')
      .map((e) => /SQLSTATE (\w+)/.exec(e.message)?.[1])
      .sort(),
  ).toEqual(['23514', '54000']);
  expect(errors.some((e) => e.kind === 'database-down')).toBe(false);
  expect(
    deadLetters(spoolDir)
      .map((d) => [d.source, d.sqlstate, d.columns.action])
      .sort(),
  ).toEqual([
    ['write', '23514', 'poison_check'],
    ['write', '54000', 'poison_limit'],
  ]);
});

it("the issue's poison — a 3,000-character entity type — and other oversized caller text is capped and stored", async () => {
  const rec = createRecorder({ databaseUrl: db.url, spoolDir: tempDir('intmon-spool-'), flushIntervalMs: 20 });
  const huge = (n: number) => Array.from({ length: n }, () => String.fromCharCode(33 + Math.floor(Math.random() * 90))).join('');
  const id = '2b1e6f1c-7b0a-4c1e-9a43-0f7c9c1b2d3e';
  await rec.track(huge(3000), huge(3000), async () => 1, { entity: { type: huge(3000), id } });
  const err = Object.assign(new Error(huge(100_000)), { code: huge(3000) });
  await rec
    .track('whapi', 'send_message', async () => {
      throw err;
    })
    .catch(() => undefined);
  let deep: unknown = 'bottom';
  for (let i = 0; i < 5000; i++) deep = { d: deep };
  await rec.track('whapi', 'send_message', async () => deep, { request: deep, captureResponse: true });
  for (let i = 0; i < 50; i++) await rec.track('whapi', 'send_message', async () => i);
  await rec.close();
  expect(rec.stats()).toMatchObject({ written: 53, deadLettered: 0, dropped: 0 });
  const rows = await allRows(db.pool);
  expect(rows).toHaveLength(53);
  expect(rows[0].service_name).toHaveLength(LIMITS.service);
  expect(rows[0].action).toHaveLength(LIMITS.action);
  expect(rows[0].related_entity_type).toHaveLength(LIMITS.entityType);
  expect(rows[1].error_code!.length).toBeLessThanOrEqual(LIMITS.errorCode);
  expect(rows[1].error_message!.length).toBeLessThan(LIMITS.errorMessage + 50);
  expect(JSON.stringify(rows[2].request_payload)).toContain('[TOO DEEP]');
});

it('a poison row in a spool segment replayed by a new process does not block the rows behind it', async () => {
  const spoolDir = tempDir('intmon-spool-');
  // A process spools 100 rows with 2 poison rows at positions 10 and 20, and dies.
  const child = startChild({ MODE: 'spool', DB_URL: 'postgres://x:y@127.0.0.1:1/none', SPOOL_DIR: spoolDir, CALLS: '100', POISON: '1' });
  await child.line(/^spooled /);
  child.proc.kill('SIGKILL');
  await child.exited;
  // A new process replays it against the database that refuses the poison.
  const next = startChild({ MODE: 'replay', DB_URL: db.url, SPOOL_DIR: spoolDir });
  const stats = JSON.parse(await next.line(/^\{/));
  await next.exited;
  expect(stats).toMatchObject({ replayed: 100, deadLettered: 2, dropped: 0 });
  const { rows } = await db.pool.query<{ n: string }>("SELECT count(*) n FROM integration_logs WHERE service_name = 'resend'");
  expect(rows[0].n).toBe('100');
  expect(
    deadLetters(spoolDir)
      .map((d) => [d.source, d.columns.action])
      .sort(),
  ).toEqual([
    ['replay', 'poison_check_10_0'],
    ['replay', 'poison_limit_20_0'],
  ]);
  expect(fs.readdirSync(spoolDir).filter((f) => f.endsWith('.copy'))).toEqual([]);
}, 60_000);
