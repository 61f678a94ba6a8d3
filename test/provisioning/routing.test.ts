/**
 * Routing stays in its lane: Integration Monitor's nested policy is merged into an existing tree
 * (scripts/grafana-route.js) without touching the root or other teams' routes, it catches exactly
 * the product's alerts and splits them into page and ticket, and the compose stack says out loud
 * when the page or ticket webhook is unset.
 */
import { spawn, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import YAML from 'yaml';

import { readYaml, ROOT } from './support/provisioning';
import { Route, routeFor } from './support/routing';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- scripts/ are plain CommonJS run by node directly (no build step)
const { loadRoute, mergeRoute } = require('../../scripts/grafana-route.js') as { loadRoute: () => Route; mergeRoute: (tree: Route, r: Route) => Route };

const rules: any[] = readYaml('alerting/rules.yaml').groups.flatMap((g: any) => g.rules);
const ours = loadRoute();

/** A tree another team already runs. */
const EXISTING: Route = {
  receiver: 'org default email',
  group_by: ['grafana_folder', 'alertname'],
  group_wait: '45s',
  repeat_interval: '3h',
  routes: [
    { receiver: 'payments pager', object_matchers: [['team', '=', 'payments']], group_by: ['alertname'] },
    { receiver: 'db tickets', object_matchers: [['severity', '=', 'ticket']] },
  ],
};

describe('the nested route', () => {
  const merged = mergeRoute(EXISTING, ours);

  it('leaves the root policy and every other route exactly as they were', () => {
    const { routes, ...root } = merged;
    const { routes: before, ...rootBefore } = EXISTING;
    expect(root).toEqual(rootBefore);
    expect(routes!.slice(1)).toEqual(before);
    expect(routes![0]).toEqual(ours);
    expect(EXISTING.routes).toHaveLength(2); // the input is not modified
  });

  it('installing twice replaces our route instead of adding a second one', () => {
    const twice = mergeRoute(merged, ours);
    expect(twice).toEqual(merged);
  });

  it("matches on the product label, never on severity alone (other teams' severity=ticket stays theirs)", () => {
    expect(ours.object_matchers).toEqual([['product', '=', 'integration-monitor']]);
    expect(routeFor(merged, { severity: 'ticket', alertname: 'Disk full' })!.receiver).toBe('db tickets');
    expect(routeFor(merged, { team: 'payments', severity: 'page' })!.receiver).toBe('payments pager');
    expect(routeFor(merged, { alertname: 'anything else' })!.receiver).toBe('org default email');
  });

  it.each(rules.map((r) => [r.uid, r]))('%s goes to the %s contact point, grouped by service_name', (_uid, r: any) => {
    const to = routeFor(merged, { ...r.labels, service_name: 'resend', alertname: r.title })!;
    expect(to.receiver).toBe(r.labels.severity === 'page' ? 'Integration Monitor page' : 'Integration Monitor ticket');
    expect(to.groupBy).toEqual(['service_name']);
  });

  it('an alert of ours with an unexpected severity still lands on our ticket contact point, not the org default', () => {
    expect(routeFor(merged, { product: 'integration-monitor', severity: 'info' })!.receiver).toBe('Integration Monitor ticket');
  });

  it('pages are sent fast and repeated hourly; tickets wait and repeat daily', () => {
    const page = routeFor(merged, { product: 'integration-monitor', severity: 'page' })!;
    const ticket = routeFor(merged, { product: 'integration-monitor', severity: 'ticket' })!;
    expect([page.groupWaitMs, page.repeatIntervalMs]).toEqual([30_000, 3_600_000]);
    expect([ticket.groupWaitMs, ticket.repeatIntervalMs]).toEqual([300_000, 86_400_000]);
  });
});

describe('docker-compose start-up', () => {
  const compose = YAML.parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'));
  const grafana = compose.services.grafana;
  /** Grafana's entrypoint script as the container's sh runs it (compose's `$$` is a literal `$`), without starting Grafana. */
  const entrypoint = (grafana.entrypoint[2] as string).replace(/\$\$/g, '$').replace('exec /run.sh', 'env');
  const run = (env: Record<string, string>) => {
    const r = spawnSync('sh', ['-c', entrypoint], { env: { PATH: process.env.PATH!, INTMON_API_TOKEN: 't', ...env }, encoding: 'utf8' });
    return {
      stderr: r.stderr,
      env: Object.fromEntries(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      ),
    };
  };

  it('warns about each unset webhook, and starts anyway (the contact point posts to a black hole)', () => {
    const r = run({});
    expect(r.stderr).toMatch(/WARNING: INTMON_PAGE_WEBHOOK_URL is unset/);
    expect(r.stderr).toMatch(/WARNING: INTMON_TICKET_WEBHOOK_URL is unset/);
    expect(r.stderr).toMatch(/WARNING: INTMON_RUNBOOK_BASE_URL is unset/);
    expect(r.env.INTMON_PAGE_WEBHOOK_URL).toMatch(/^http:\/\/127\.0\.0\.1:9\//);
  });

  it('says nothing when they are set, and passes them through untouched', () => {
    const set = { INTMON_PAGE_WEBHOOK_URL: 'https://pager.example/x', INTMON_TICKET_WEBHOOK_URL: 'https://tickets.example/y', INTMON_RUNBOOK_BASE_URL: 'https://git.example/b' };
    const r = run(set);
    expect(r.stderr).toBe('');
    for (const [k, v] of Object.entries(set)) expect(r.env[k]).toBe(v);
  });

  it('compose hands the variables to Grafana, and a one-shot installs the nested route once Grafana is healthy', () => {
    for (const v of ['INTMON_PAGE_WEBHOOK_URL', 'INTMON_TICKET_WEBHOOK_URL', 'INTMON_RUNBOOK_BASE_URL']) expect(grafana.environment[v]).toBe(`\${${v}:-}`);
    const route = compose.services['grafana-route'];
    expect(route.depends_on.grafana.condition).toBe('service_healthy');
    expect(route.entrypoint).toEqual(['node', '/opt/intmon/scripts/grafana-route.js']);
    expect(route.volumes).toEqual(expect.arrayContaining(['./scripts:/opt/intmon/scripts:ro', './provisioning/routes:/opt/intmon/provisioning/routes:ro']));
  });
});

describe("scripts/grafana-route.js against an HTTP endpoint shaped like Grafana's provisioning API", () => {
  it('reads the tree, writes back the merged one with X-Disable-Provenance, and fails loudly on an HTTP error', async () => {
    const http = await import('http');
    const seen: Array<{ method: string; url: string; headers: Record<string, unknown>; body: string }> = [];
    let failPut = false;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        if (req.url !== '/api/v1/provisioning/policies') return void res.writeHead(404).end();
        if (req.method === 'GET') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(EXISTING));
        res.writeHead(failPut ? 400 : 202, { 'content-type': 'application/json' }).end(failPut ? '{"message":"invalid route"}' : '{"message":"policies updated"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const runScript = () =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn('node', [path.join(ROOT, 'scripts/grafana-route.js')], {
          env: { PATH: process.env.PATH, GRAFANA_URL: `http://127.0.0.1:${port}`, GRAFANA_TOKEN: 'sa-token' },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c));
        child.stderr.on('data', (c: Buffer) => (stderr += c));
        child.on('close', (code: number | null) => resolve({ code, stdout, stderr }));
      });
    try {
      const ok = await runScript();
      expect(ok.code).toBe(0);
      const put = seen.find((r) => r.method === 'PUT')!;
      expect(put.headers['x-disable-provenance']).toBe('true');
      expect(put.headers.authorization).toBe('Bearer sa-token');
      expect(JSON.parse(put.body)).toEqual(mergeRoute(EXISTING, ours));
      failPut = true;
      const bad = await runScript();
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^grafana-route: PUT .* HTTP 400 .*invalid route/);
    } finally {
      server.close();
    }
  });
});
