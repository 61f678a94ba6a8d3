/**
 * The SDK takes its spool directory from its options only: an application that happens to set the
 * server's MONITOR_DATA_DIR must not have its spool moved there.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './helpers';

const LIB = path.resolve(__dirname, '../../lib/src/recorder');

test('without spoolDir the spool is ./.data/recorder-spool of the working directory, whatever MONITOR_DATA_DIR says', () => {
  const cwd = tempDir('intmon-spooldir-');
  const elsewhere = path.join(cwd, 'server-data');
  // Nothing listens on port 1: the call is spooled, which creates the spool directory.
  const script = `
    const { createRecorder } = require(${JSON.stringify(LIB)});
    const r = createRecorder({ databaseUrl: 'postgres://u:p@127.0.0.1:1/db', onError: () => {} });
    r.track('resend', 'send_email', () => 1).then(() => r.close());`;
  execFileSync(process.execPath, ['-e', script], { cwd, env: { ...process.env, MONITOR_DATA_DIR: elsewhere }, timeout: 30_000 });
  expect(fs.existsSync(elsewhere)).toBe(false);
  const spooled = fs.readdirSync(path.join(cwd, '.data', 'recorder-spool'));
  expect(spooled.some((f) => f.endsWith('.copy'))).toBe(true);
  fs.rmSync(cwd, { recursive: true, force: true });
});
