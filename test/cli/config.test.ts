import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { CONFIG_SCHEMA, ConfigError, loadConfig } from '../../src/config';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin/integration-monitor.js');

/** README.md's configuration table: variable → its default cell (a row may name several variables, "`A` / `B`"). */
function readmeTable(): Map<string, string> {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Configuration\n'));
  if (!section) throw new Error('README.md has no "## Configuration" section');
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  const table = new Map<string, string>();
  for (const row of rows) {
    const [names, defaults] = row.split(' | ').map((c) => c.replace(/^\| /, ''));
    const nameList = [...names.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]);
    const defaultList = defaults.split(' / ');
    nameList.forEach((name, i) => table.set(name, (defaultList.length === nameList.length ? defaultList[i] : defaults).trim()));
  }
  return table;
}

describe('configuration schema', () => {
  const properties = CONFIG_SCHEMA.properties as Record<string, TSchema>;

  it('README.md documents exactly the schema variables, with the schema defaults', () => {
    const table = readmeTable();
    expect([...table.keys()].sort()).toEqual(Object.keys(properties).sort());
    for (const [name, schema] of Object.entries(properties)) {
      const cell = table.get(name)!;
      // A default is the cell's first `code`; a variable without one says so in words ("unset", …).
      const documented = /^`([^`]*)`/.exec(cell)?.[1];
      expect([name, documented]).toEqual([name, schema.default === undefined ? undefined : String(schema.default)]);
    }
  });

  it('unset and empty variables take the defaults', () => {
    const empty = Object.fromEntries(Object.keys(properties).map((k) => [k, '']));
    expect(loadConfig(empty)).toEqual(loadConfig({}));
    expect(loadConfig({})).toMatchObject({ host: '127.0.0.1', port: 3100, timeZone: 'UTC', cacheTtlMs: 1000, demoRate: 20, databaseUrl: undefined });
  });

  it('numbers are read whole: no truncation of 1.5 to 1, no hex, no Infinity', () => {
    expect(loadConfig({ PORT: ' 8080 ', MONITOR_DEMO_RATE: '2.5', MONITOR_HEALTH_DEGRADED_P95_MS: '1e3' })).toMatchObject({
      port: 8080,
      demoRate: 2.5,
      health: expect.objectContaining({ degradedP95Ms: 1000 }),
    });
    for (const [name, bad] of [
      ['PORT', '1.5'],
      ['PORT', '0x10'],
      ['PORT', '70000'],
      ['MONITOR_DEMO_RATE', 'Infinity'],
      ['MONITOR_DEMO_RATE', '0'],
    ]) {
      expect(() => loadConfig({ [name]: bad })).toThrow(new RegExp(`^${name} must be .*, got "${bad}"$`));
    }
  });

  it('every bad value is named, on one line, as a ConfigError (exit code 2)', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
    expect((error as Error).message).toBe('PORT must be an integer 0-65535, got "abc"; LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"');
  });

  it('free text is taken as given, blanks included (a secret is not trimmed)', () => {
    expect(loadConfig({ MONITOR_JWT_SECRET: ' s e c r e t ' }).jwtSecret).toBe(' s e c r e t ');
  });

  it('the CLI: PORT=abc is one line naming the variable, exit 2, no stack trace', () => {
    const r = spawnSync(process.execPath, [BIN, 'start'], { env: { ...process.env, PORT: 'abc' }, encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('integration-monitor start: PORT must be an integer 0-65535, got "abc"\n');
    expect(r.stdout).toBe('');
    expect(r.status).toBe(2);
  });

  it('the CLI help names every variable, and needs no valid environment to print', () => {
    const r = spawnSync(process.execPath, [BIN, 'help'], { env: { ...process.env, PORT: 'abc' }, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    const listed = r.stdout.slice(r.stdout.indexOf('README.md):') + 10).match(/[A-Z][A-Z0-9_]+/g);
    expect(listed).toEqual(Object.keys(properties));
  });

  // The recorder SDK is a package of its own: only its zero-code entry (`--import …/register`, configured
  // from the environment by design) and its runtime detection (serverless platforms' own variables) read it.
  const RECORDER_ENV = ['src/recorder/register.ts', 'src/recorder/runtime.ts'];

  it("only src/config.ts (and the recorder package's two documented readers) read the environment", () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.tsx?$/.test(e.name) && p !== path.join(ROOT, 'src/config.ts')) {
          fs.readFileSync(p, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              // The embedded Postgres child gets the allow-listed part of the environment (locale, PATH, TZ); it reads no setting from it.
              if (/process\.env/.test(line) && !/serverEnvironment\(from: NodeJS\.ProcessEnv = process\.env\)/.test(line) && !RECORDER_ENV.includes(path.relative(ROOT, p))) {
                offenders.push(`${path.relative(ROOT, p)}:${i + 1}`);
              }
            });
        }
      }
    };
    walk(path.join(ROOT, 'src'));
    expect(offenders).toEqual([]);
  });
});
