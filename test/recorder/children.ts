/** Starting recorder child processes (fixtures/spool-child.ts) and reading what they print. */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

const REGISTER = path.join(__dirname, 'fixtures/ts-register.js');
const CHILD = path.join(__dirname, 'fixtures/spool-child.ts');

export interface Child {
  proc: ChildProcess;
  out: () => string;
  /** Resolves with the first stdout line matching `re`. */
  line(re: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

/**
 * `pidNamespace`: run under `unshare --pid --fork --kill-child=SIGKILL`, so the recorder is PID 1
 * of a fresh PID namespace, as an application is in a container; killing the returned process
 * kills it too.
 */
export function startChild(env: Record<string, string>, opts: { pidNamespace?: boolean } = {}): Child {
  const node = [process.execPath, '-r', REGISTER, CHILD];
  const argv = opts.pidNamespace ? ['unshare', '--pid', '--fork', '--kill-child=SIGKILL', ...node] : node;
  const proc = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  return {
    proc,
    out: () => out,
    exited,
    line: (re, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = out.split('\n').find((l) => re.test(l));
          if (m !== undefined) {
            clearTimeout(t);
            proc.stdout!.off('data', check);
            resolve(m);
          }
        };
        const t = setTimeout(() => reject(new Error(`child printed no ${re}: ${out} ${err}`)), timeoutMs);
        proc.stdout!.on('data', check);
        check();
      }),
  };
}

/** Whether `unshare --pid` works here (it needs root or user namespaces). */
export function canUnsharePid(): boolean {
  const r = spawnSync('unshare', ['--pid', '--fork', 'sh', '-c', 'echo $$'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === '1';
}
