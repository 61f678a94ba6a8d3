/**
 * The built plugin's editors in a real browser: Debian's Chromium (via playwright-core) opens the
 * harness page, which loads dist/module.js through an AMD define handed the real @grafana
 * packages and renders ConfigEditor and QueryEditor inside @grafana/ui's theme. A person's moves
 * — mouse for the metric, keyboard for the service and the settings — must produce the exact
 * query/settings objects. Screenshots go to test/artifacts/ (git-ignored).
 *
 * No Chromium: skipped with a message locally, a failure under CI=true.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';

import type { Browser, Page } from 'playwright-core';

import { DIST, ensurePluginBuilt, ROOT } from './dist';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CI = process.env.CI === 'true';
const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
const HARNESS_SRC = path.join(__dirname, 'harness');
const HARNESS_OUT = path.join(os.tmpdir(), `intmon-harness-${process.pid}`);
const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');
// Grafana serves @grafana/ui's icons from public/build/img/icons/; the harness does the same.
const ICONS_URL = '/public/build/img/icons/';
const ICONS_DIR = path.join(ROOT, 'node_modules', '@grafana', 'ui', 'dist', 'public', 'img', 'icons');

if (!HAVE_CHROMIUM && !CI) {
  console.warn(`SKIPPED browser test: no Chromium at ${CHROMIUM} (install with apt-get install -y chromium). Under CI=true this is a failure.`);
}
const suite = HAVE_CHROMIUM || CI ? describe : describe.skip;

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.svg': 'image/svg+xml' };

function serve(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const file =
      url.pathname === '/'
        ? path.join(HARNESS_SRC, 'index.html')
        : url.pathname.startsWith('/dist/')
          ? path.join(DIST, url.pathname.slice('/dist/'.length))
          : url.pathname.startsWith(ICONS_URL)
            ? path.join(ICONS_DIR, url.pathname.slice(ICONS_URL.length))
            : path.join(HARNESS_OUT, url.pathname.slice(1));
    const inside = [HARNESS_SRC, DIST, HARNESS_OUT, ICONS_DIR].some((dir) => path.resolve(file).startsWith(dir + path.sep));
    if (!inside || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

suite('plugin editors in Chromium', () => {
  let browser: Browser | undefined;
  let server: http.Server | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!HAVE_CHROMIUM) {
      throw new Error(`CI=true and no Chromium at ${CHROMIUM}: the browser test must run in CI (apt-get install -y chromium)`);
    }
    ensurePluginBuilt();
    execFileSync(process.execPath, [require.resolve('webpack-cli/bin/cli.js'), '--config', path.join(HARNESS_SRC, 'webpack.harness.js')], {
      cwd: ROOT,
      env: { ...process.env, INTMON_HARNESS_OUT: HARNESS_OUT },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    server = await serve();
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => (window as unknown as { __intmon?: { ready: boolean; errors: string[] } }).__intmon?.ready || (window as unknown as { __intmon?: { errors: string[] } }).__intmon?.errors.length, null, { timeout: 60_000 });
    await page.getByRole('combobox', { name: 'Metric' }).waitFor({ timeout: 30_000 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    fs.rmSync(HARNESS_OUT, { recursive: true, force: true });
  });

  const recorded = () => page.evaluate(() => (window as unknown as { __intmon: { queries: unknown[]; options: unknown[]; errors: string[] } }).__intmon);

  test('the plugin loaded from dist/module.js without errors', async () => {
    expect((await recorded()).errors).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  test('metric by mouse and service by keyboard give the exact query', async () => {
    await page.getByRole('combobox', { name: 'Metric' }).click();
    await page.getByRole('option', { name: 'Latency p95' }).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'query-editor-metric-menu.png') });
    await page.getByRole('option', { name: 'Latency p95' }).click();

    const services = page.getByRole('combobox', { name: 'Services' });
    await services.focus();
    await page.keyboard.type('tele');
    await page.getByRole('option', { name: 'telegram' }).waitFor();
    // The menu offers "tele" as a custom value too; walk down to the catalog's "telegram".
    const offered = await page.getByRole('option').allTextContents();
    const index = offered.indexOf('telegram');
    expect(index).toBeGreaterThanOrEqual(0);
    for (let i = 0; i <= index; i++) {
      await page.keyboard.press('ArrowDown');
    }
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => {
      const q = (window as unknown as { __intmon: { queries: Array<{ services?: string[] }> } }).__intmon.queries;
      return q.length > 0 && q[q.length - 1].services !== undefined;
    });
    await page.keyboard.press('Escape');

    const { queries } = await recorded();
    expect(queries[queries.length - 1]).toEqual({ refId: 'A', queryType: 'timeseries', metric: 'latency_p95', groupBy: 'service', services: ['telegram'] });
    await expect(page.locator('#query-json').textContent()).resolves.toBe(JSON.stringify(queries[queries.length - 1]));
    await page.screenshot({ path: path.join(ARTIFACTS, 'plugin-editors.png'), fullPage: true });
  });

  test('group by with the mouse, then back to none', async () => {
    await page.getByRole('radio', { name: 'Action' }).click({ force: true });
    let { queries } = await recorded();
    expect(queries[queries.length - 1]).toEqual({ refId: 'A', queryType: 'timeseries', metric: 'latency_p95', groupBy: 'action', services: ['telegram'] });
    await page.getByRole('radio', { name: 'None' }).click({ force: true });
    ({ queries } = await recorded());
    expect(queries[queries.length - 1]).toEqual({ refId: 'A', queryType: 'timeseries', metric: 'latency_p95', services: ['telegram'] });
  });

  test('settings typed with the keyboard: URL in jsonData, token in secureJsonData', async () => {
    await page.getByLabel(/^API URL/).click();
    await page.keyboard.type('http://api:3100');
    await page.getByLabel(/^API token/).click();
    await page.keyboard.type('token-123');
    const { options } = await recorded();
    const last = options[options.length - 1] as { jsonData: Record<string, unknown>; secureJsonData: Record<string, unknown> };
    expect(last.jsonData).toEqual({ apiUrl: 'http://api:3100' });
    expect(last.secureJsonData).toEqual({ apiToken: 'token-123' });
    await expect(page.getByLabel(/^API token/).getAttribute('type')).resolves.toBe('password');
    await page.locator('#config-editor').screenshot({ path: path.join(ARTIFACTS, 'config-editor.png') });
  });
});
