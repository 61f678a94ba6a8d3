/**
 * Short-lived handlers (Lambda/Vercel style), each child process one instance: it answers, and the
 * platform ends it at once — process.exit(0), SIGKILL, or SIGSTOP (frozen) and later SIGKILL. With
 * the documented pattern (recorder.wrapHandler, or `await recorder.flush()` before answering)
 * every call is a row; without it the rows die with the process and the recorder says so, once.
 * 200 calls per case: 5 instances × 40 calls, each ended right after its answer.
 */
import { ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { removeTempDirs, tempDir } from './helpers';

const CHILD = path.join(__dirname, 'fixtures/handler-child.js');
/** Bun 1.4 from npm (the `@oven/bun-linux-x64` devDependency ships the binary). */
const BUN = path.join(path.dirname(require.resolve('@oven/bun-linux-x64/package.json')), 'bin/bun');

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
  removeTempDirs();
});

interface Instance {
  proc: ChildProcess;
  /** Resolves with the `response …` line of the last invocation. */
  answered: Promise<string>;
  exited: Promise<number | null>;
  stderr: () => string;
  out: () => string;
}

function instance(env: Record<string, string>, argv: string[] = [process.execPath, CHILD], cwd?: string): Instance {
  const proc = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const last = Number(env.INVOCATIONS ?? 1);
  const answered = new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer: ${out} ${err}`)), 40_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith(`response ${last} `));
      if (line) {
        clearTimeout(t);
        resolve(line);
      }
    });
  });
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  // 'close', not 'exit': the child's stderr may still be arriving when 'exit' fires (a loaded
  // machine once read a Bun child's warning as missing); 'close' comes after its streams ended.
  const exited = new Promise<number | null>((resolve) => proc.on('close', resolve));
  return { proc, answered, exited, stderr: () => err, out: () => out };
}

async function rowsFor(entity: string): Promise<{ n: number; ok: number }> {
  const { rows } = await db.pool.query<{ n: string; ok: string }>("SELECT count(*) n, count(*) FILTER (WHERE status = 'success') ok FROM integration_logs WHERE related_entity_id = $1", [entity]);
  return { n: Number(rows[0].n), ok: Number(rows[0].ok) };
}

type End = 'exit' | 'sigkill' | 'freeze';

/** 5 instances × 40 calls, each ended the way `end` says right after its answer. */
async function runCase(mode: 'wrap' | 'flush' | 'none', end: End, runtime = process.execPath): Promise<{ stored: number; ok: number; stderr: string[] }> {
  const entity = crypto.randomUUID();
  const stderr: string[] = [];
  await Promise.all(
    Array.from({ length: 5 }, async () => {
      const i = instance({ DB_URL: db.url, MODE: mode, CALLS: '40', ENTITY: entity, END: end === 'exit' ? 'exit' : 'idle', SHORT_LIVED: 'true' }, [runtime, CHILD]);
      await i.answered;
      if (end === 'sigkill') i.proc.kill('SIGKILL');
      if (end === 'freeze') {
        i.proc.kill('SIGSTOP');
        await new Promise((r) => setTimeout(r, 300)); // frozen, as between invocations
        i.proc.kill('SIGKILL');
      }
      await i.exited;
      stderr.push(i.stderr());
    }),
  );
  const { n, ok } = await rowsFor(entity);
  return { stored: n, ok, stderr };
}

describe.each<End>(['exit', 'sigkill', 'freeze'])('handler answers, then the process is ended (%s)', (end) => {
  it('with recorder.wrapHandler: 200 / 200 rows', async () => {
    expect(await runCase('wrap', end)).toEqual({ stored: 200, ok: 200, stderr: ['', '', '', '', ''] });
  });
});

it('with `await recorder.flush()` before answering, then SIGKILL: 200 / 200 rows', async () => {
  expect(await runCase('flush', 'sigkill')).toEqual({ stored: 200, ok: 200, stderr: ['', '', '', '', ''] });
});

describe('Bun runs the same patterns', () => {
  it('wrapHandler, SIGKILL right after the answer: 200 / 200 rows', async () => {
    expect(await runCase('wrap', 'sigkill', BUN)).toEqual({ stored: 200, ok: 200, stderr: ['', '', '', '', ''] });
  });
  it('without it, process.exit() after the answer loses rows and warns once per process', async () => {
    const { stored, stderr } = await runCase('none', 'exit', BUN);
    expect(stored).toBeLessThan(200);
    for (const e of stderr) expect(e.match(/IntegrationMonitorRecorderWarning/g)).toHaveLength(1);
  });
});

it('without the pattern the rows die with the process, and each process warns once that the recorder was never flushed', async () => {
  const { stored, stderr } = await runCase('none', 'exit');
  expect(stored).toBeLessThan(200);
  for (const e of stderr) {
    const warnings = e.split('\n').filter((l) => l.includes('IntegrationMonitorRecorderWarning'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/not written.*not flushed.*await recorder\.flush\(\)/);
  }
});

it('the warning goes to onError when there is one, and a long-lived recorder that flushed says nothing', async () => {
  const entity = crypto.randomUUID();
  const unflushed = instance({ DB_URL: db.url, MODE: 'none', CALLS: '5', ENTITY: entity, END: 'exit', COLLECT_ERRORS: '1', SHORT_LIVED: 'false' });
  await unflushed.exited;
  expect(unflushed.stderr()).toBe('');
  expect(unflushed.out()).toMatch(/^problems \["unflushed"\]$/m);
  const flushedQuiet = instance({ DB_URL: db.url, MODE: 'flush', CALLS: '5', ENTITY: entity, END: 'exit', COLLECT_ERRORS: '1', SHORT_LIVED: 'false' });
  await flushedQuiet.exited;
  expect(flushedQuiet.out()).toMatch(/^problems \[\]$/m);
  const flushed = instance({ DB_URL: db.url, MODE: 'flush', CALLS: '5', ENTITY: entity, END: 'exit', INVOCATIONS: '3', SHORT_LIVED: 'false' });
  await flushed.exited;
  expect(flushed.stderr()).toBe('');
  expect((await rowsFor(entity)).n).toBeGreaterThanOrEqual(20);
});

it('a long-lived recorder (default options) warns when process.exit() cuts its queue short', async () => {
  const i = instance({ DB_URL: db.url, MODE: 'none', CALLS: '5', ENTITY: crypto.randomUUID(), END: 'exit' }, undefined, tempDir('intmon-cwd-'));
  await i.exited;
  expect(i.stderr().match(/IntegrationMonitorRecorderWarning/g)).toHaveLength(1);
  expect(i.stderr()).toMatch(/5 tracked row\(s\) not written/);
});
