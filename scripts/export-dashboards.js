#!/usr/bin/env node
/**
 * `npm run export:dashboards [-- --out <dir>]`: the provisioned dashboards in the form Grafana's
 * "Import dashboard" takes (what its "Export for sharing externally" writes): `__inputs` naming
 * each data source the dashboard needs, `__requires` (Grafana version, data source plugins, panel
 * types), no numeric `id`.
 *
 * Panels reach their data source only through the dashboards' data-source variables
 * (`${ds_postgres}`, `${ds_api}`), so the only place a data source is chosen is each variable's
 * default; the export turns that default into the input `${DS_…}`. On import Grafana replaces
 * every `${DS_…}` string with the data source the admin picked
 * (pkg/services/dashboardimport/utils/dash_template_evaluator.go: `${name}` patterns of declared
 * inputs; other `${…}`, like `${ds_postgres}`, stay for the frontend).
 */
'use strict';
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const DASHBOARDS = path.join(ROOT, 'provisioning', 'dashboards');
const PLUGIN_NAMES = { 'grafana-postgresql-datasource': 'PostgreSQL', 'intmon-integrations-datasource': 'Integration Monitor' };
const GRAFANA_DEPENDENCY = (() => {
  const p = JSON.parse(fs.readFileSync(path.join(ROOT, 'plugin.json'), 'utf8'));
  return p.dependencies.grafanaDependency.replace(/^>=\s*/, '');
})();

const panelsOf = (d) => (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);

/** One dashboard JSON → its shareable export. Pure. */
function exportDashboard(dashboard) {
  const d = JSON.parse(JSON.stringify(dashboard));
  delete d.id;
  const inputs = [];
  const requires = [{ type: 'grafana', id: 'grafana', name: 'Grafana', version: GRAFANA_DEPENDENCY }];
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'datasource') continue;
    const name = `DS_${v.name.replace(/^ds_/, '').toUpperCase()}`;
    inputs.push({ name, label: v.label ?? v.name, description: `Data source for \${${v.name}}`, type: 'datasource', pluginId: v.query, pluginName: PLUGIN_NAMES[v.query] ?? v.query });
    requires.push({ type: 'datasource', id: v.query, name: PLUGIN_NAMES[v.query] ?? v.query, version: '' });
    v.current = { selected: false, text: `\${${name}}`, value: `\${${name}}` };
  }
  for (const type of [...new Set(panelsOf(d).map((p) => p.type))].sort()) requires.push({ type: 'panel', id: type, name: type, version: '' });
  return { __inputs: inputs, __requires: requires, ...d };
}

function main(argv = process.argv.slice(2)) {
  const i = argv.indexOf('--out');
  const out = path.resolve(i >= 0 ? argv[i + 1] : path.join(ROOT, 'dist-dashboards'));
  fs.mkdirSync(out, { recursive: true });
  for (const f of fs
    .readdirSync(DASHBOARDS)
    .filter((x) => x.endsWith('.json'))
    .sort()) {
    const e = exportDashboard(JSON.parse(fs.readFileSync(path.join(DASHBOARDS, f), 'utf8')));
    fs.writeFileSync(path.join(out, f), `${JSON.stringify(e, null, 2)}\n`);
    process.stdout.write(`${path.relative(process.cwd(), path.join(out, f))}: ${e.title} (inputs: ${e.__inputs.map((x) => x.name).join(', ')})\n`);
  }
}

module.exports = { exportDashboard };

if (require.main === module) main();
