import fs from 'node:fs';
import path from 'node:path';
import { isRole, ROLES } from '../store/role-transaction';
import { claimsCarrying, parseReadClaim } from '../store/read-claim';
import { resolveJwtSecret, signToken } from '../secret';
import { CONFIG_SCHEMA, loadConfig, parseSpanSeconds } from '../config';
import { API_PASSWORD_FILE, DEFAULT_API_ROLE, urlWithLogin } from '../db/api-role';
import { describeConnectionError, isConnectionError } from '../db/connection-error';
import { migrate } from '../db/migrate';
import { writeReadClaim } from '../db/read-claim';
import { runDemo } from '../demo/run';
import { Client } from 'pg';
import { ensureDayZone } from '../db/day-zones';
import { withDatabase } from './database';
import { runDayZones } from './day-zones';
import { runDoctor } from './doctor';
import { serveApi } from './serve';
import { startMonitor } from './start';

/** Names joined by commas, in lines of at most `width` characters, indented by two. */
function wrap(names: string[], width: number): string {
  const lines = [''];
  for (const name of names) {
    const last = lines.length - 1;
    if (lines[last] && lines[last].length + name.length + 2 > width) lines.push('');
    lines[lines.length - 1] += lines[lines.length - 1] ? ` ${name},` : `  ${name},`;
  }
  return lines.join('\n').replace(/,$/, '');
}

const USAGE = `usage: integration-monitor <command>

commands:
  start     database (embedded unless DATABASE_URL) + migrations + scheduler + API
  serve     the API only (no migrations, no maintenance), as DATABASE_URL's least-privileged role
  demo      start, plus local provider stand-ins and traffic through the recorder
  migrate   apply pending migrations to DATABASE_URL (or the embedded database)
  doctor    check a database against the seed's checklist (exit 1 on any failure); print its size
            per table and what 90 days at the current rate will take
  day-zones list | add <zone> | remove <zone>
            the time zones whose days are kept whole (MONITOR_TIMEZONE's is added by start/migrate)
  token [role] [ttl]
            print an API token signed with the API's secret (default: authenticated, 365d)
  help      this text

environment (see README.md):
${wrap(Object.keys(CONFIG_SCHEMA.properties), 100)}`;

/**
 * Resolves to the exit code of a one-shot command (0 ok, 1 a check or migration failed, 2 the
 * database cannot be used or bad usage), or to undefined for the long-running ones.
 */
export async function main(argv: string[]): Promise<number | undefined> {
  const [command = 'help'] = argv;
  // Named in the catch below, which must not read the environment a second time.
  let databaseUrl: string | undefined;
  try {
    if (['help', '--help', '-h'].includes(command)) {
      console.log(USAGE);
      return 0;
    }
    const config = loadConfig();
    databaseUrl = config.databaseUrl;
    switch (command) {
      case 'migrate': {
        return await withDatabase(config, async (url) => {
          const { applied, skipped } = await migrate(url, { log: (l) => console.log(l) });
          console.log(applied.length ? `migrated: ${applied.length} applied, ${skipped.length} already applied` : `up to date (${skipped.length} migrations)`);
          const c = new Client({ connectionString: url, application_name: 'integration-monitor migrate' });
          await c.connect();
          try {
            const claim = await writeReadClaim(c, config.readClaim);
            if (claim) (claim.level === 'warn' ? console.error : console.log)(claim.line);
            const zone = await ensureDayZone(c, config.timeZone);
            if (zone) (zone.level === 'warn' ? console.error : console.log)(zone.line);
          } finally {
            await c.end();
          }
          return 0;
        });
      }
      case 'doctor':
        return await withDatabase(config, (url) => {
          // On the embedded database the API's role is the one `start` made (when it has run).
          const apiPasswordFile = path.join(config.dataDir, API_PASSWORD_FILE);
          const target = !config.databaseUrl && fs.existsSync(apiPasswordFile) ? urlWithLogin(url, DEFAULT_API_ROLE, fs.readFileSync(apiPasswordFile, 'utf8').trim()) : url;
          return runDoctor(
            target,
            (l) => console.log(l),
            (l) => console.error(`integration-monitor doctor: ${l}`),
          );
        });
      case 'day-zones':
        return await withDatabase(config, (url) =>
          runDayZones(
            url,
            argv.slice(1),
            (l) => console.log(l),
            (l) => console.error(l),
          ),
        );
      case 'start':
        await startMonitor(config, { handleSignals: true });
        return undefined;
      case 'serve':
        await serveApi(config, { handleSignals: true });
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
        const seconds = parseSpanSeconds(ttl);
        if (seconds === undefined || seconds > config.jwt.maxTtlSeconds) {
          console.error(`integration-monitor token: ttl must be seconds or a span like 12h, 30d, 365d, at most MONITOR_JWT_MAX_TTL (${config.jwt.maxTtlSeconds} s); got ${JSON.stringify(ttl)}`);
          return 2;
        }
        // An authenticated token carries MONITOR_READ_CLAIM's claim, so the API and the database let it read.
        const readClaim = role === 'authenticated' ? parseReadClaim(config.readClaim) : undefined;
        const claims = readClaim ? claimsCarrying(readClaim) : {};
        console.log(await signToken(resolveJwtSecret(config).secret, role, seconds, { ...claims, iss: config.jwt.issuer, aud: config.jwt.audience }));
        return 0;
      }
      default:
        console.error(`integration-monitor: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (databaseUrl && isConnectionError(err)) {
      console.error(`integration-monitor ${command}: ${describeConnectionError(databaseUrl, err)}`);
      return 2;
    }
    console.error(`integration-monitor ${command}: ${(err as Error).message}`);
    return (err as { exitCode?: number }).exitCode ?? 1;
  }
}
