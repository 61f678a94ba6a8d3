/** Makes sure dist/ holds a build of the current plugin sources (builds under a lock if not). */
import { execFileSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const DIST = path.join(ROOT, 'dist');

export function ensurePluginBuilt(): void {
  const lock = path.join(os.tmpdir(), 'intmon-build-plugin.lock');
  execFileSync('flock', [lock, process.execPath, path.join(__dirname, 'build-if-stale.js')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}
