/**
 * Runs `npm run build:plugin` when dist/module.js is missing or older than any plugin source.
 * Called under flock by the tests that need dist/ (several jest workers may ask at once; the
 * second one finds the build fresh and does nothing).
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const target = path.join(root, 'dist', 'module.js');
const inputs = ['src/plugin', 'plugin.json', 'webpack.config.js', 'CHANGELOG.md'];

function newest(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return fs.readdirSync(p).reduce((m, name) => Math.max(m, newest(path.join(p, name))), st.mtimeMs);
}

const built = fs.existsSync(target) ? fs.statSync(target).mtimeMs : 0;
const source = Math.max(...inputs.map((p) => newest(path.join(root, p))));
if (built < source) {
  process.stderr.write('dist/ is missing or stale: running npm run build:plugin\n');
  execFileSync('npm', ['run', '--silent', 'build:plugin'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
