/**
 * The built plugin's editors in a real browser, once per supported Grafana generation: Debian's
 * Chromium (via playwright-core) opens the harness page, which loads dist/module.js through an AMD
 * define handed the real @grafana packages and React of that generation (11.6 and 12.4 with
 * React 18 from the npm aliases grafana-runtime-11.6 / grafana-runtime-12.4 / react-18; 13.2 with
 * React 19) and renders ConfigEditor, QueryEditor and the variable query editor inside
 * @grafana/ui's theme. A person's moves — mouse for the metric, keyboard for the service and the
 * settings — must produce the exact query/settings objects. Screenshots go to test/artifacts/
 * (git-ignored).
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
const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');
// Grafana serves @grafana/ui's icons from public/build/img/icons/; the harness does the same.
const ICONS_URL = '/public/build/img/icons/';

/** Each Grafana generation the plugin supports: where its @grafana/ui lives, which React it runs. */
const GENERATIONS = [
  { grafana: '11.6', ui: path.join(ROOT, 'node_modules', 'grafana-runtime-11.6', 'node_modules', '@grafana', 'ui'), react: '18.' },
  { grafana: '12.4', ui: path.join(ROOT, 'node_modules', 'grafana-runtime-12.4', 'node_modules', '@grafana', 'ui'), react: '18.' },
  { grafana: '13.2', ui: path.join(ROOT, 'node_modules', '@grafana', 'ui'), react: '19.' },
];

if (!HAVE_CHROMIUM && !CI) {
  console.warn(`SKIPPED browser test: no Chromium at ${CHROMIUM} (install with apt-get install -y chromium). Under CI=true this is a failure.`);
}
const suite = HAVE_CHROMIUM || CI ? describe : describe.skip;

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.svg': 'image/svg+xml' };

function serve(HARNESS_OUT: string, ICONS_DIR: string): Promise<http.Server> {
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

suite.each(GENERATIONS)('plugin editors in Chromium with Grafana $grafana packages', ({ grafana, ui, react }) => {
  const HARNESS_OUT = path.join(os.tmpdir(), `intmon-harness-${grafana}-${process.pid}`);
  const ICONS_DIR = path.join(ui, 'dist', 'public', 'img', 'icons');
  const shot = (name: string) => path.join(ARTIFACTS, `${name}-grafana-${grafana}.png`);
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
      env: { ...process.env, INTMON_HARNESS_OUT: HARNESS_OUT, INTMON_GRAFANA: grafana },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    server = await serve(HARNESS_OUT, ICONS_DIR);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(
      () => (window as unknown as { __intmon?: { ready: boolean; errors: string[] } }).__intmon?.ready || (window as unknown as { __intmon?: { errors: string[] } }).__intmon?.errors.length,
      null,
      { timeout: 60_000 },
    );
    await page.getByRole('combobox', { name: 'Metric' }).waitFor({ timeout: 30_000 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    fs.rmSync(HARNESS_OUT, { recursive: true, force: true });
  });

  type Recorded = {
    queries: unknown[];
    options: unknown[];
    variableQueries: unknown[];
    errors: string[];
    built: { grafana: string; packages: Record<string, string>; reactRunning: string };
  };
  const recorded = () => page.evaluate(() => (window as unknown as { __intmon: Recorded }).__intmon);

  test("the plugin loaded from dist/module.js without errors, on that generation's packages and React", async () => {
    const r = await recorded();
    expect(r.errors).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(r.built.grafana).toBe(grafana);
    for (const p of ['@grafana/data', '@grafana/ui', '@grafana/runtime']) expect(r.built.packages[p].startsWith(`${grafana}.`)).toBe(true);
    expect(r.built.reactRunning.startsWith(react)).toBe(true);
  });

  test('metric by mouse and service by keyboard give the exact query', async () => {
    await page.getByRole('combobox', { name: 'Metric' }).click();
    await page.getByRole('option', { name: 'Latency p95' }).waitFor();
    await page.screenshot({ path: shot('query-editor-metric-menu') });
    await page.getByRole('option', { name: 'Latency p95' }).click();

    const services = page.getByRole('combobox', { name: 'Services' });
    // Click, then type key by key until the menu offers "telegram": on a loaded machine a burst of
    // keys could land before React 18's combobox had opened (seen once in CI), leaving nothing to pick.
    for (let attempt = 1; ; attempt++) {
      await services.click();
      await services.press('Control+A');
      await services.press('Backspace');
      await services.pressSequentially('tele', { delay: 40 });
      const offeredNow = await page
        .getByRole('option', { name: 'telegram' })
        .waitFor({ timeout: 10_000 })
        .then(
          () => true,
          () => false,
        );
      if (offeredNow) break;
      if (attempt === 3) throw new Error(`the services menu never offered "telegram" (input holds ${JSON.stringify(await services.inputValue())})`);
    }
    // The menu offers "tele" as a custom value too; walk down to the catalog's "telegram". The list
    // re-renders while the catalog's options arrive, so read it once it holds "telegram" exactly.
    await page.waitForFunction(() => Array.from(document.querySelectorAll('[role="option"]')).some((o) => o.textContent === 'telegram'));
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
    await page.screenshot({ path: shot('plugin-editors'), fullPage: true });
  });

  test('group by with the mouse, then back to none', async () => {
    await page.getByRole('radio', { name: 'Action', exact: true }).click({ force: true });
    let { queries } = await recorded();
    expect(queries[queries.length - 1]).toEqual({ refId: 'A', queryType: 'timeseries', metric: 'latency_p95', groupBy: 'action', services: ['telegram'] });
    await page.getByRole('radio', { name: 'None', exact: true }).click({ force: true });
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
    await page.locator('#config-editor').screenshot({ path: shot('config-editor') });
  });

  test('variable editor: actions of a service chosen with the mouse', async () => {
    const editor = page.locator('#variable-editor');
    await editor.getByRole('radio', { name: 'Actions' }).click({ force: true });
    let { variableQueries } = await recorded();
    expect(variableQueries[variableQueries.length - 1]).toEqual({ refId: 'variable', kind: 'actions' });
    // The editor's only combobox. From 12.x its label is linked to it; 11.6's MultiCombobox drops
    // the `id` prop (@grafana/ui 11.6.9 MultiCombobox.mjs), so there the label is not associated.
    if (grafana !== '11.6') await expect(editor.getByRole('combobox', { name: 'Of services' }).count()).resolves.toBe(1);
    // The options arrive from the catalog while the menu is open and the list re-renders then; a
    // click that lands during that render can be lost (CI saw it once), so the choice is retried
    // until the editor reports it. The assertion below still checks the exact query.
    for (let attempt = 1; ; attempt++) {
      if ((await page.getByRole('option', { name: 'resend' }).count()) === 0) await editor.getByRole('combobox').click();
      await page.getByRole('option', { name: 'resend' }).click();
      const chosen = await page
        .waitForFunction(
          () => {
            const q = (window as unknown as { __intmon: { variableQueries: Array<{ services?: string[] }> } }).__intmon.variableQueries;
            return q.length > 0 && q[q.length - 1].services !== undefined;
          },
          undefined,
          { timeout: 5_000 },
        )
        .then(
          () => true,
          () => false,
        );
      if (chosen) break;
      if (attempt === 3) throw new Error('choosing "resend" in the variable editor never reached onChange');
    }
    await page.keyboard.press('Escape');
    ({ variableQueries } = await recorded());
    expect(variableQueries[variableQueries.length - 1]).toEqual({ refId: 'variable', kind: 'actions', services: ['resend'] });
    await editor.screenshot({ path: shot('variable-editor') });
  });
});
