/**
 * `integration-monitor serve` (or `start`) as a child process, the way an operator runs it: the
 * built launcher, env vars only. Collects stdout (banner lines and the JSON request log) and
 * stderr, and finds the API's URL in the banner.
 */
import { ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';

export const BIN = path.resolve(__dirname, '../../bin/integration-monitor.js');

export interface ApiProcess {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  /** The stdout lines that are JSON (the pino log). */
  logs(): Array<Record<string, unknown>>;
  alive(): boolean;
  stop(): Promise<number | null>;
}

export async function startApiProcess(command: 'serve' | 'start', env: Record<string, string>, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<ApiProcess> {
  const child = spawn(process.execPath, [BIN, command], {
    cwd: opts.cwd,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no API line within ${opts.timeoutMs ?? 30_000} ms; stdout: ${out.slice(-2000)} stderr: ${err.slice(-2000)}`)), opts.timeoutMs ?? 30_000);
    const look = () => {
      const m = /^api +(http:\/\/\S+?)\/api\/admin/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', look);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before listening; stdout: ${out.slice(-2000)} stderr: ${err.slice(-2000)}`));
    });
  });
  return {
    child,
    url,
    stdout: () => out,
    stderr: () => err,
    logs: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface Answer {
  status: number;
  body: string;
  ms: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

/** One GET; resolves with status 0 and the error message in `body` when the connection fails. */
export function get(url: string, token?: string, timeoutMs = 30_000): Promise<Answer> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const req = http.get(url, { agent, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - t0 }));
      res.on('error', (e) => resolve({ status: 0, body: e.message, ms: Date.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => resolve({ status: 0, body: e.message, ms: Date.now() - t0 }));
  });
}
