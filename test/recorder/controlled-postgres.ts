/**
 * A PostgreSQL of one test file's own, run by a child process (fixtures/pg-control.ts) so the test
 * can stop, start or freeze it without touching the server every other test shares.
 */
import { ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './helpers';

type Reply = { ok: boolean; url?: string; error?: string };

export interface ControlledPostgres {
  url: string;
  /** The folder holding the server (its data directory is `<dir>/pg/data`). */
  dir: string;
  /** Sends `stop`, `start` or `quit` to the controller and waits for its answer. */
  command(cmd: 'stop' | 'start' | 'quit'): Promise<Reply>;
  close(): Promise<void>;
}

export async function startControlledPostgres(prefix: string): Promise<ControlledPostgres> {
  const dir = tempDir(prefix);
  fs.chmodSync(dir, 0o777); // the server runs as the postgres OS user when the tests run as root
  const ctl: ChildProcess = fork(path.join(__dirname, 'fixtures/pg-control.ts'), [], {
    execArgv: ['-r', path.join(__dirname, 'fixtures/ts-register.js')],
    env: { ...process.env, PG_DIR: path.join(dir, 'pg') },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const reply = (cmd?: string) =>
    new Promise<Reply>((resolve, reject) => {
      ctl.once('message', (m: Reply) => (m.ok ? resolve(m) : reject(new Error(m.error))));
      if (cmd) ctl.send(cmd);
    });
  const { url } = await reply(); // the controller's first message: the server is up
  return {
    url: url!,
    dir,
    command: reply,
    async close() {
      await reply('quit').catch(() => undefined);
      ctl.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
