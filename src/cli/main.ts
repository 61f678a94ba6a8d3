import { isRole, ROLES } from '../api/auth';
import { claimsCarrying, parseReadClaim } from '../api/read-claim';
import { resolveJwtSecret, signToken } from '../api/secret';
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
  token [role] [ttl]
            print an API token signed with the API's secret (default: authenticated, 365d)
  help      this text

environment: DATABASE_URL, HOST, PORT, MONITOR_JWT_SECRET, MONITOR_JWKS_URL, MONITOR_READ_CLAIM, MONITOR_DATA_DIR (see README.md)`;

/**
 * Resolves to the exit code of a one-shot command (0 ok, 1 a check or migration failed, 2 the
 * database cannot be used or bad usage), or to undefined for the long-running ones.
 */
export async function main(argv: string[]): Promise<number | undefined> {
  const [command = 'help'] = argv;
  try {
    const config = loadConfig();
    switch (command) {
      case 'migrate': {
        return await withDatabase(config, async (url) => {
          const { applied, skipped } = await migrate(url, { log: (l) => console.log(l) });
          console.log(applied.length ? `migrated: ${applied.length} applied, ${skipped.length} already applied` : `up to date (${skipped.length} migrations)`);
          return 0;
        });
      }
      case 'doctor':
        return await withDatabase(config, (url) => runDoctor(url, (l) => console.log(l), (l) => console.error(`integration-monitor doctor: ${l}`)));
      case 'start':
        await startMonitor(config, { handleSignals: true });
        return undefined;
      case 'demo':
        await runDemo(config);
        return undefined;
      case 'token': {
        const [, role = 'authenticated', ttl = '365d'] = argv;
        if (!isRole(role)) {
          console.error(`integration-monitor token: role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(role)}`);
          return 2;
        }
        // An authenticated token carries MONITOR_READ_CLAIM's claim, so the API and the database let it read.
        const readClaim = role === 'authenticated' ? parseReadClaim(config.readClaim) : undefined;
        console.log(await signToken(resolveJwtSecret(config).secret, role, ttl, readClaim ? claimsCarrying(readClaim) : {}));
        return 0;
      }
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return 0;
      default:
        console.error(`integration-monitor: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    const url = process.env.DATABASE_URL;
    if (url && isConnectionError(err)) {
      console.error(`integration-monitor ${command}: ${describeConnectionError(url, err)}`);
      return 2;
    }
    console.error(`integration-monitor ${command}: ${(err as Error).message}`);
    return (err as { exitCode?: number }).exitCode ?? 1;
  }
}
