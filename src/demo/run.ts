/**
 * `npm run demo`: the embedded database, the API, local stand-ins for the five providers and the
 * recorder calling them, so a newcomer sees live numbers on a fresh machine. Kept in its own data
 * directory (`<dataDir>/demo`) so demo traffic never mixes with real data.
 */
import path from 'node:path';
import type { Config } from '../config';
import { startMonitor, RunningMonitor } from '../cli/start';
import { createRecorder, instrumentFetch, Recorder } from '../recorder/index';
import { API_PREFIX } from '../contract';
import { ProviderStandIns, startProviderStandIns } from './providers';
import { startTraffic, Traffic } from './traffic';

export interface DemoOptions {
  /** Calls per second to the stand-ins (default MONITOR_DEMO_RATE, else 20). */
  ratePerSecond?: number;
  /** Stop on SIGINT/SIGTERM (default true; tests pass false and call stop()). */
  handleSignals?: boolean;
  log?: (line: string) => void;
}

export interface RunningDemo {
  apiUrl: string;
  token: string;
  monitor: RunningMonitor;
  standIns: ProviderStandIns;
  recorder: Recorder;
  traffic: Traffic;
  stop(): Promise<void>;
}

export async function runDemo(config: Config, opts: DemoOptions = {}): Promise<RunningDemo> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const rate = opts.ratePerSecond ?? config.demoRate;
  if (config.databaseUrl) log('demo      DATABASE_URL is ignored: the demo always runs on its own embedded database');
  // Its own embedded database and secret: the demo's printed token must work whatever issuer or
  // read claim the real setup uses.
  const demoConfig: Config = { ...config, databaseUrl: undefined, jwksUrl: undefined, readClaim: undefined, dataDir: path.join(config.dataDir, 'demo') };

  const monitor = await startMonitor(demoConfig, { handleSignals: false, log });
  let standIns: ProviderStandIns | undefined;
  let recorder: Recorder | undefined;
  let traffic: Traffic | undefined;
  const stop = async () => {
    await traffic?.stop();
    await recorder?.close();
    await standIns?.close();
    await monitor.stop();
  };
  try {
    standIns = await startProviderStandIns({ latency: 'realistic', bursts: true });
    recorder = createRecorder({ databaseUrl: monitor.databaseUrl, spoolDir: path.join(demoConfig.dataDir, 'recorder-spool') });
    const fetch = instrumentFetch(recorder, { hosts: standIns.hosts, retry: { attempts: 3, baseDelayMs: 200, maxDelayMs: 2000, maxRetryAfterMs: 5000 } });
    traffic = startTraffic(fetch, standIns, { ratePerSecond: rate });
  } catch (err) {
    await stop();
    throw err;
  }
  const api = `${monitor.apiUrl}${API_PREFIX}`;
  const token = monitor.readToken ?? '';
  log(`providers stand-ins for ${Object.keys(standIns.urls).join(', ')} on 127.0.0.1 (realistic latency, failure bursts, 429s, Mobizon's HTTP-200 errors)`);
  log(`traffic   ${rate} calls/s through the recorder (MONITOR_DEMO_RATE to change)`);
  log('');
  log(`API URL   ${api}`);
  log(`token     ${token}`);
  log(`try       curl -s -H "Authorization: Bearer ${token}" ${api}/health`);
  log('stop      Ctrl+C');

  const demo: RunningDemo = { apiUrl: api, token, monitor, standIns, recorder: recorder!, traffic: traffic!, stop };
  if (opts.handleSignals !== false) {
    const onSignal = (sig: NodeJS.Signals) => {
      log(`${sig}: stopping (flushing the recorder)`);
      void stop().then(
        () => process.exit(0),
        (err: Error) => {
          log(`while stopping: ${err.message}`);
          process.exit(1);
        },
      );
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  return demo;
}
