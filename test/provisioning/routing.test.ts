/**
 * Routing stays in its lane: Integration Monitor's nested policy is merged into an existing tree
 * (scripts/grafana-route.js) without touching the root or other teams' routes, it catches exactly
 * the product's alerts and splits them into page and ticket, and the compose stack says out loud
 * when the page or ticket webhook is unset.
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import YAML from 'yaml';

import { readYaml, ROOT } from './support/provisioning';
import { Route, routeFor } from './support/routing';

// scripts/ are plain CommonJS run by node directly (no build step), hence require.
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

  it('matches on the product label, never on severity alone (other teams\' severity=ticket stays theirs)', () => {
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
    return { stderr: r.stderr, env: Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) };
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
