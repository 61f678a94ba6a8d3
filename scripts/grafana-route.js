#!/usr/bin/env node
/**
 * Puts Integration Monitor's nested notification policy (provisioning/routes/integration-monitor.json)
 * into a Grafana's existing policy tree without touching the rest of it.
 *
 * Grafana keeps one policy tree per organisation and both its file provisioning (`policies:`) and
 * its HTTP API (PUT /api/v1/provisioning/policies) replace that tree whole
 * (pkg/services/ngalert/provisioning/notification_policies.go UpdatePolicyTree). So this reads the
 * tree, swaps in our route as the root's first child (dropping only an earlier child carrying the
 * same product matcher), and writes it back. The root's receiver, grouping, timings and every other
 * child stay exactly as they were. `X-Disable-Provenance: true` keeps the tree editable in the UI
 * (a provisioned tree would lock every other team's policies).
 *
 * Usage: GRAFANA_URL=http://localhost:3000 GRAFANA_USER=admin GRAFANA_PASSWORD=… node scripts/grafana-route.js
 *        (or GRAFANA_TOKEN=<service account token>); --dry-run prints the merged tree instead.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const ROUTE_FILE = path.join(__dirname, '..', 'provisioning', 'routes', 'integration-monitor.json');

/** Our route as Grafana's API takes it (the file's `$comment` dropped). */
function loadRoute(file = ROUTE_FILE) {
  const { $comment, ...route } = JSON.parse(fs.readFileSync(file, 'utf8'));
  void $comment;
  return route;
}

const sameMatchers = (a, b) => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

/** The tree with `route` as the root's first child; nothing else changes. Pure: returns a copy. */
function mergeRoute(tree, route) {
  const root = JSON.parse(JSON.stringify(tree));
  const others = (root.routes ?? []).filter((r) => !sameMatchers(r.object_matchers, route.object_matchers));
  root.routes = [route, ...others];
  return root;
}

async function main(argv = process.argv.slice(2), env = process.env) {
  const base = (env.GRAFANA_URL ?? 'http://localhost:3000').replace(/\/$/, '');
  const headers = { 'Content-Type': 'application/json', 'X-Disable-Provenance': 'true' };
  if (env.GRAFANA_TOKEN) headers.Authorization = `Bearer ${env.GRAFANA_TOKEN}`;
  else headers.Authorization = `Basic ${Buffer.from(`${env.GRAFANA_USER ?? 'admin'}:${env.GRAFANA_PASSWORD ?? 'admin'}`).toString('base64')}`;
  const url = `${base}/api/v1/provisioning/policies`;
  const get = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  if (!get.ok) throw new Error(`GET ${url}: HTTP ${get.status}`);
  const merged = mergeRoute(await get.json(), loadRoute());
  if (argv.includes('--dry-run')) {
    process.stdout.write(`${JSON.stringify(merged, null, 2)}\n`);
    return;
  }
  const put = await fetch(url, { method: 'PUT', headers, body: JSON.stringify(merged), signal: AbortSignal.timeout(10_000) });
  if (!put.ok) throw new Error(`PUT ${url}: HTTP ${put.status} ${(await put.text()).slice(0, 300)}`);
  process.stdout.write(`Integration Monitor route installed as the first nested policy (${merged.routes.length - 1} other nested policies kept)\n`);
}

module.exports = { loadRoute, mergeRoute, ROUTE_FILE };

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`grafana-route: ${e.message}\n`);
    process.exit(1);
  });
}
