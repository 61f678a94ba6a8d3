import { loadConfig } from '../config';
import { describeConnectionError, isConnectionError } from '../db/connection-error';
import { migrate } from '../db/migrate';
import { runDemo } from '../demo/run';
import { withDatabase } from './database';
import { runDoctor } from './doctor';
import { startMonitor } from './start';

const USAGE = `usage: integration-monitor <command>

commands:
  start     database (embedded unless DATABASE_URL) + migrations + scheduler + API
  demo      start, plus local provider stand-ins and traffic through the recorder
  migrate   apply pending migrations to DATABASE_URL (or the embedded database)
  doctor    check a database against the seed's checklist (exit 1 on any failure)
  help      this text

environment: DATABASE_URL, HOST, PORT, MONITOR_JWT_SECRET, MONITOR_DATA_DIR (see README.md)`;

/** Exit codes: 0 ok, 1 a check or migration failed, 2 the database cannot be used or bad usage. */
export async function main(argv: string[]): Promise<void> {
  const [command = 'help'] = argv;
  try {
    const config = loadConfig();
    switch (command) {
      case 'migrate': {
        const code = await withDatabase(config, async (url) => {
          const { applied, skipped } = await migrate(url, { log: (l) => console.log(l) });
          console.log(applied.length ? `migrated: ${applied.length} applied, ${skipped.length} already applied` : `up to date (${skipped.length} migrations)`);
          return 0;
        });
        process.exitCode = code;
        return;
      }
      case 'doctor':
        process.exitCode = await withDatabase(config, (url) => runDoctor(url, (l) => console.log(l)));
        return;
      case 'start':
        await startMonitor(config, { handleSignals: true });
        return;
      case 'demo':
        await runDemo(config);
        return;
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return;
      default:
        console.error(`integration-monitor: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        process.exitCode = 2;
    }
  } catch (err) {
    const url = process.env.DATABASE_URL;
    if (url && isConnectionError(err)) {
      console.error(`integration-monitor ${command}: ${describeConnectionError(url, err)}`);
      process.exitCode = 2;
    } else {
      console.error(`integration-monitor ${command}: ${(err as Error).message}`);
      process.exitCode = (err as { exitCode?: number }).exitCode ?? 1;
    }
  }
}
