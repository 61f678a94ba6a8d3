/**
 * 25 Lambda-style instances at once against a database that admits 20 connections, each with a
 * read-only working directory, each frozen (SIGSTOP) the moment it has answered — as a platform
 * freezes idle sandboxes — and killed later. With the documented pattern (wrapHandler; short-lived
 * mode detected from AWS_LAMBDA_FUNCTION_NAME) nothing is lost: while every connection is taken
 * ("too many connections", SQLSTATE 53300) the rows wait in memory and the flush retries, no
 * spool file is attempted on the read-only disk, and a frozen instance holds no connection.
 * The limit is the login role's CONNECTION LIMIT (same SQLSTATE as max_connections) so the shared
 * test server need not be restarted.
 */
import { ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { removeTempDirs, tempDir } from './helpers';

const CHILD = path.join(__dirname, 'fixtures/handler-child.js');
const INSTANCES = 25;
const LIMIT = 20;
const CALLS = 4;

let db: TestDatabase;
const role = `intmon_sandbox_${crypto.randomBytes(4).toString('hex')}`;
const password = crypto.randomBytes(12).toString('hex');
let roleUrl: string;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' CONNECTION LIMIT ${LIMIT}`);
  await db.pool.query(`GRANT service_role TO ${role}`);
  const u = new URL(db.url);
  u.username = role;
  u.password = password;
  roleUrl = u.toString();
});
afterAll(async () => {
  await db.pool.query(`DROP ROLE IF EXISTS ${role}`);
  await db.drop();
  removeTempDirs();
});

/** argv running the instance in a read-only working directory: a read-only bind mount as root (which ignores file modes), mode 0555 otherwise. */
function readOnlyCwd(dir: string): { argv: string[]; cwd: string } {
  if (process.getuid?.() === 0) {
    return { argv: ['unshare', '--mount', 'sh', '-c', `mount --bind -o ro "$0" "$0" && cd "$0" && exec "$1" "$2"`, dir, process.execPath, CHILD], cwd: dir };
  }
  fs.chmodSync(dir, 0o555);
  return { argv: [process.execPath, CHILD], cwd: dir };
}

interface Sandbox {
  proc: ChildProcess;
  started: Promise<void>;
  answered: Promise<string>;
  exited: Promise<number | null>;
}

function sandbox(entity: string, cwd: string): Sandbox {
  const { argv } = readOnlyCwd(cwd);
  const env = {
    ...process.env,
    DB_URL: roleUrl,
    MODE: 'wrap',
    CALLS: String(CALLS),
    ENTITY: entity,
    END: 'idle',
    COLLECT_ERRORS: '1',
    AWS_LAMBDA_FUNCTION_NAME: 'send-email',
    // what the flush may spend retrying past "too many connections" (default 10 s): 25 instances
    // connecting with SCRAM to one server under a loaded CI machine took longer (60 of 100 stored)
    WRITE_TIMEOUT_MS: '30000',
  };
  const proc = spawn(argv[0], argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const seen = (prefix: string) =>
    new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${prefix}: ${out} ${err}`)), 45_000);
      const check = () => {
        const line = out.split('\n').find((l) => l.startsWith(prefix));
        if (line !== undefined) {
          clearTimeout(t);
          resolve(line);
        }
      };
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        check();
      });
    });
  const started = seen('start').then(() => undefined);
  const answered = seen('response 1 ');
  // Frozen the moment it has answered, like an idle sandbox.
  void answered.then(
    () => proc.kill('SIGSTOP'),
    () => undefined,
  );
  return { proc, started, answered, exited: new Promise((resolve) => proc.on('exit', resolve)) };
}

it(`${INSTANCES} frozen instances, ${LIMIT} connections, read-only working directory: every call stored, no connection held`, async () => {
  const entity = crypto.randomUUID();
  // Every connection the role may open is taken while the instances start and answer.
  const hogs = await Promise.all(
    Array.from({ length: LIMIT }, async () => {
      const c = new Client({ connectionString: roleUrl });
      await c.connect();
      return c;
    }),
  );
  const dirs = Array.from({ length: INSTANCES }, () => tempDir('intmon-ro-cwd-'));
  const boxes = dirs.map((d) => sandbox(entity, d));
  try {
    await Promise.all(boxes.map((b) => b.started));
    await new Promise((r) => setTimeout(r, 300)); // their handlers run and meet the full server
    await Promise.all(hogs.map((c) => c.end()));
    const answers = await Promise.all(boxes.map((b) => b.answered));
    // Every instance answered `CALLS`, and some had to wait for a connection on the way.
    expect(answers.every((a) => a.startsWith(`response 1 ${CALLS} `))).toBe(true);
    const refused = answers.filter((a) => a.includes('database-down')).length;
    expect(refused).toBeGreaterThan(0);

    // All frozen now: none of them holds a connection.
    const { rows: held } = await db.pool.query<{ n: string }>('SELECT count(*) n FROM pg_stat_activity WHERE usename = $1', [role]);
    expect(held[0].n).toBe('0');
    const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) n FROM integration_logs WHERE related_entity_id = $1', [entity]);
    if (Number(rows[0].n) !== INSTANCES * CALLS) console.log(`what the instances answered:\n${answers.join('\n')}`);
    expect(Number(rows[0].n)).toBe(INSTANCES * CALLS);
    // Nothing was written on the read-only disk (a mode-0555 directory would have refused it).
    for (const d of dirs) expect(fs.readdirSync(d)).toEqual([]);
  } finally {
    for (const b of boxes) b.proc.kill('SIGKILL');
    await Promise.all(boxes.map((b) => b.exited));
    await Promise.all(hogs.map((c) => c.end().catch(() => undefined)));
  }
}, 120_000); // 25 processes on a loaded CI machine: margin, not the usual time (~30 s)
