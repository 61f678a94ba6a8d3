/**
 * `npm run export:dashboards` writes dashboards Grafana's "Import dashboard" takes: `__inputs`
 * for every data source, nothing naming a provisioned uid, and after the import's substitution
 * (pkg/services/dashboardimport/utils/dash_template_evaluator.go: each `${<input name>}` string
 * replaced by the picked data source) every panel resolves to the data sources the admin chose.
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';

import { datasourceRefs, listFiles, readJson, resolveDatasourceVariables, ROOT, uids } from './support/provisioning';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- scripts/ are plain CommonJS run by node directly (no build step)
const { exportDashboard } = require('../../scripts/export-dashboards.js') as { exportDashboard: (d: any) => any };

const U = uids();
const dashboards = listFiles('dashboards', '.json').map((f) => readJson(f));

/** What Grafana's import does with the inputs: replace `${NAME}` of each declared input, leave other `${…}`. */
function importWith(exported: any, picked: Record<string, string>): any {
  const names = new Set(exported.__inputs.map((i: any) => i.name));
  const walk = (v: any): any =>
    typeof v === 'string'
      ? v.replace(/\$\{(.+?)\}/g, (m, name) => (names.has(name) ? picked[name] : m))
      : Array.isArray(v)
        ? v.map(walk)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
          : v;
  const { __inputs, __requires, ...d } = exported;
  void __inputs;
  void __requires;
  return walk(d);
}

describe('exported dashboards', () => {
  it.each(dashboards.map((d) => [d.uid, d]))('%s: __inputs for its data sources, no provisioned uid left, imports onto other data sources', (_uid, d: any) => {
    const e = exportDashboard(d);
    expect(e.__inputs.length).toBeGreaterThan(0);
    for (const i of e.__inputs) expect(i).toMatchObject({ type: 'datasource', name: expect.stringMatching(/^DS_[A-Z_]+$/), pluginId: expect.any(String) });
    expect(e.__requires).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'grafana', id: 'grafana' })]));
    expect(e.id).toBeUndefined();
    const text = JSON.stringify(e);
    for (const uid of Object.values(U.datasources)) expect(text).not.toContain(`"${uid}"`);
    // An admin whose data sources have other uids imports it:
    const picked = Object.fromEntries(e.__inputs.map((i: any) => [i.name, `their-${i.pluginId}`]));
    const imported = resolveDatasourceVariables(importWith(e, picked));
    const refs = datasourceRefs(imported).filter((r) => r.uid !== '-- Grafana --');
    expect(refs.length).toBeGreaterThan(0);
    for (const r of refs) expect([r.where, r.uid]).toEqual([r.where, `their-${r.type}`]);
  });

  it('the main dashboards need only the PostgreSQL data source (core Grafana)', () => {
    for (const d of dashboards.filter((x) => x.uid !== U.dashboards.apiViews)) {
      expect(exportDashboard(d).__inputs.map((i: any) => i.pluginId)).toEqual(['grafana-postgresql-datasource']);
    }
  });

  it('npm run export:dashboards writes one file per dashboard', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-export-'));
    try {
      const r = spawnSync('node', [path.join(ROOT, 'scripts/export-dashboards.js'), '--out', out], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(fs.readdirSync(out).sort()).toEqual(
        listFiles('dashboards', '.json')
          .map((f) => path.basename(f))
          .sort(),
      );
      for (const f of fs.readdirSync(out)) expect(JSON.parse(fs.readFileSync(path.join(out, f), 'utf8')).__inputs.length).toBeGreaterThan(0);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
