/**
 * Zero-code form: `node --import @integration-monitor/recorder/register app.js` (or `-r`) records
 * every request the application makes to a known provider host, configured from the environment:
 *  - DATABASE_URL (or INTEGRATION_MONITOR_DATABASE_URL, which wins): where rows go;
 *  - INTEGRATION_MONITOR_SPOOL_DIR: spool directory (default `.data/recorder-spool`);
 *  - INTEGRATION_MONITOR_HOSTS: extra hosts, `host[:port]=service` separated by commas.
 * Without a database URL it warns once and records nothing; it never stops the application.
 */
import { instrumentHttp } from './instrument-http';
import { createRecorder } from './recorder';

function hostsFrom(spec: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (spec ?? '').split(',')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

const databaseUrl = process.env.INTEGRATION_MONITOR_DATABASE_URL || process.env.DATABASE_URL;
if (!databaseUrl) {
  process.emitWarning('@integration-monitor/recorder/register: set DATABASE_URL (or INTEGRATION_MONITOR_DATABASE_URL); nothing is recorded', 'IntegrationMonitorWarning');
} else {
  try {
    const recorder = createRecorder({ databaseUrl, spoolDir: process.env.INTEGRATION_MONITOR_SPOOL_DIR || undefined });
    instrumentHttp(recorder, { hosts: hostsFrom(process.env.INTEGRATION_MONITOR_HOSTS) });
  } catch (e) {
    process.emitWarning(`@integration-monitor/recorder/register: not recording (${e instanceof Error ? e.message : String(e)})`, 'IntegrationMonitorWarning');
  }
}
