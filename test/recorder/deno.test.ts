/**
 * Supabase Edge Functions run on Deno: the edge-function examples of docs/recorder.md, run as
 * written by Deno 2.9 (the `@deno/linux-x64-glibc` devDependency) with only --allow-net and
 * --allow-env, each process killed 50 ms after its last response, as an isolate may be.
 *
 * The function's folder is laid out as the docs say (package.json, node_modules holding the SDK
 * and its `pg`); the SDK files are the build of src/recorder (what `npm run pack:sdk` packs).
 * A harness stands in for Supabase's runtime around the function: Deno.serve on a free port, and
 * `EdgeRuntime.waitUntil`, which per Supabase's docs keeps the instance running until the promise
 * settles (https://supabase.com/docs/guides/functions/background-tasks) — so in that case the kill
 * comes 50 ms after the promise settled. Outgoing calls to api.resend.com are answered in-process
 * the way Resend documents a sent email (HTTP 200, `{"id": "<uuid>"}`,
 * https://resend.com/docs/api-reference/emails/send-email); nothing leaves the machine.
 */
import { ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tsBlocks } from '../helpers/doc-blocks';
import { createRecorder } from '../../src/index';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { removeTempDirs, tempDir } from './helpers';

const ROOT = path.resolve(__dirname, '../..');
const DENO = path.join(path.dirname(require.resolve('@deno/linux-x64-glibc/package.json')), 'deno');
const DOC = path.join(ROOT, 'docs/recorder.md');

const HARNESS = `
const serve = Deno.serve.bind(Deno);
// Supabase's runtime picks the port; here a free one, announced on stdout.
Object.defineProperty(Deno, 'serve', {
  value: (handler: (req: Request) => Response | Promise<Response>) =>
    serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => console.log('listening ' + port) }, handler),
});
let settled = 0;
Object.defineProperty(globalThis, 'EdgeRuntime', {
  value: { waitUntil: (p: Promise<unknown>) => void Promise.resolve(p).finally(() => console.log('settled ' + ++settled)) },
});
const realFetch = globalThis.fetch;
globalThis.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.hostname !== 'api.resend.com') return realFetch(input, init);
  return Promise.resolve(Response.json({ id: crypto.randomUUID() }));
};
await import('./' + Deno.args[0]);
`;

let db: TestDatabase;
let app: string;

beforeAll(async () => {
  db = await createTestDatabase();
  app = tempDir('intmon-edge-fn-');
  const pkg = path.join(app, 'node_modules/@integration-monitor/recorder');
  fs.mkdirSync(path.dirname(pkg), { recursive: true });
  fs.cpSync(path.join(ROOT, 'lib/src/recorder'), path.join(pkg, 'lib'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'packages/recorder/package.json'), path.join(pkg, 'package.json'));
  for (const dep of ['pg', 'pg-copy-streams']) fs.symlinkSync(path.join(ROOT, 'node_modules', dep), path.join(app, 'node_modules', dep));
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'send-email', private: true, dependencies: { '@integration-monitor/recorder': '0.1.0' } }));
  fs.writeFileSync(path.join(app, 'harness.ts'), HARNESS);
  const blocks = tsBlocks(DOC).filter((b) => b.kind === 'deno');
  for (const b of blocks) fs.writeFileSync(path.join(app, `${b.name}.ts`), b.code);
  expect(blocks.map((b) => b.name).sort()).toEqual(['edge-function', 'wait-until']);
});
afterAll(async () => {
  await db.drop();
  removeTempDirs();
});

interface Isolate {
  proc: ChildProcess;
  port(): Promise<number>;
  /** Resolves when `n` waitUntil promises have settled. */
  settled(n: number): Promise<void>;
  exited: Promise<number | null>;
  stderr: () => string;
}

function isolate(fn: string, env: Record<string, string> = {}, extra: string[] = []): Isolate {
  const proc = spawn(DENO, ['run', '--allow-net', '--allow-env', ...extra, 'harness.ts', fn], {
    cwd: app,
    env: { ...process.env, SUPABASE_DB_URL: db.url, RESEND_API_KEY: 're_test_123456789', NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const until = <T>(pick: () => T | undefined, what: string) =>
    new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`deno: no ${what}: ${out} ${err}`)), 30_000);
      const check = () => {
        const v = pick();
        if (v !== undefined) {
          clearTimeout(t);
          resolve(v);
        } else waiters.push(check);
      };
      check();
    });
  return {
    proc,
    port: () =>
      until(() => {
        const m = /listening (\d+)/.exec(out);
        return m ? Number(m[1]) : undefined;
      }, 'listening'),
    settled: (n) => until(() => ((out.match(/settled \d+/g) ?? []).length >= n ? true : undefined), `settled ${n}`).then(() => undefined),
    // 'close': after the child's output has all arrived ('exit' may come before the last of it).
    exited: new Promise((resolve) => proc.on('close', resolve)),
    stderr: () => err,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function count(service: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>("SELECT count(*) n FROM integration_logs WHERE service_name = $1 AND status = 'success'", [service]);
  return Number(rows[0].n);
}

/** `processes` isolates, `requests` each; every isolate killed 50 ms after its last response. */
async function serveAndKill(fn: string, processes: number, requests: number, waitUntil = false): Promise<number[]> {
  const times: number[] = [];
  for (let p = 0; p < processes; p++) {
    const iso = isolate(fn);
    const port = await iso.port();
    for (let r = 0; r < requests; r++) {
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: JSON.stringify({ to: `user${r}@example.com` }) });
      await res.arrayBuffer();
      times.push(performance.now() - t0);
      expect(res.status).toBeLessThan(300);
    }
    if (waitUntil) await iso.settled(requests);
    await sleep(50);
    iso.proc.kill('SIGKILL');
    await iso.exited;
  }
  return times;
}

it('the edge function of the docs (wrapHandler), killed 50 ms after each last response: 20 / 20 rows', async () => {
  const times = await serveAndKill('edge-function.ts', 10, 2);
  expect(await count('resend')).toBe(20);
  if (process.env.INTMON_TIMINGS) console.log('deno edge response ms (cold, warm):', times.map((t) => t.toFixed(1)).join(' '));
}, 60_000);

it('handing the flush to EdgeRuntime.waitUntil: every row once the runtime lets the promise settle', async () => {
  await serveAndKill('wait-until.ts', 3, 2, true);
  expect(await count('whapi')).toBe(6);
}, 60_000);

it('without the pattern, the kill loses the rows (what the pattern is for)', async () => {
  const fn = path.join(app, 'bare.ts');
  fs.writeFileSync(
    fn,
    `import { createRecorder } from '@integration-monitor/recorder';
const recorder = createRecorder({ databaseUrl: Deno.env.get('SUPABASE_DB_URL') });
Deno.serve(async () => Response.json({ id: await recorder.track('amocrm', 'sync_lead', async () => crypto.randomUUID()) }));
`,
  );
  await serveAndKill('bare.ts', 2, 2);
  expect(await count('amocrm')).toBeLessThan(4);
}, 60_000);

it('a Deno script that exits with unwritten rows warns once, with no --allow-sys; one that flushed, or ran out of work, writes them and does not', async () => {
  const script = (end: string) => `import { createRecorder } from '@integration-monitor/recorder';
const recorder = createRecorder({ databaseUrl: Deno.env.get('SUPABASE_DB_URL') });
for (let i = 0; i < 3; i++) await recorder.track('mobizon', 'send_sms', async () => i);
${end === 'flush' ? 'await recorder.flush();' : ''}
${end === 'natural' ? '' : 'Deno.exit(0);'}
`;
  const results: { stderr: string; code: number | null }[] = [];
  // Exit with rows queued; flush then exit; run out of work (beforeunload writes the rows).
  for (const flush of ['exit', 'flush', 'natural']) {
    const name = `exit-${flush}-${crypto.randomBytes(3).toString('hex')}.ts`;
    fs.writeFileSync(path.join(app, name), script(flush));
    const iso = isolate(name);
    results.push({ code: await iso.exited, stderr: iso.stderr() });
  }
  expect(results[0].code).toBe(0);
  expect(results[0].stderr.match(/IntegrationMonitorRecorderWarning/g)).toHaveLength(1);
  expect(results[0].stderr).toMatch(/3 tracked row\(s\) not written/);
  expect(results[1]).toEqual({ code: 0, stderr: '' });
  expect(results[2]).toEqual({ code: 0, stderr: '' });
  expect(await count('mobizon')).toBe(6);
}, 60_000);

it('with a spoolDir and the database down, Deno spools every row without --allow-sys; Node replays them', async () => {
  const spool = tempDir('intmon-deno-spool-');
  fs.writeFileSync(
    path.join(app, 'spooling.ts'),
    `import { createRecorder } from '@integration-monitor/recorder';
const recorder = createRecorder({ databaseUrl: 'postgres://x:y@127.0.0.1:1/down', spoolDir: Deno.env.get('SPOOL'), onError: () => {} });
for (let i = 0; i < 5; i++) await recorder.track('telegram', 'send_message', async () => i);
await recorder.close();
console.log('stats ' + JSON.stringify(recorder.stats()));
`,
  );
  const iso = isolate('spooling.ts', { SPOOL: spool }, [`--allow-read=${spool}`, `--allow-write=${spool}`]);
  expect(await iso.exited).toBe(0);
  expect(iso.stderr()).toBe('');
  const rec = createRecorder({ databaseUrl: db.url, spoolDir: spool });
  await rec.flush();
  await rec.close();
  expect(rec.stats()).toMatchObject({ replayed: 5, dropped: 0 });
  expect(await count('telegram')).toBe(5);
}, 60_000);
