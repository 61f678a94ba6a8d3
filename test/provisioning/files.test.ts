/**
 * Every provisioning file parses and has what Grafana requires; uids are the ones in
 * provisioning/uids.json and every reference resolves; dashboards use Grafana 11.6's schemaVersion
 * and only panel options 11.6 and 13 both declare,
 * sensible units and panels that do not overlap; `$` is escaped exactly where Grafana would expand it.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { METRICS, QUERY_TYPES } from '../../src/plugin/types';
import { parseGrafanaInterval } from '../helpers/grafana-macros';
import { declaredKeys } from './support/grafana-schema';
import { datasourceRefs, grafanaInterpolate, listFiles, PROVISIONING, readJson, readYaml, ROOT, uids } from './support/provisioning';

const U = uids();
const dsFile = readYaml('datasources/integration-monitor.yaml');
const dashboards = listFiles('dashboards', '.json').map((f) => ({ file: f, json: readJson(f) }));
const rulesFile = readYaml('alerting/rules.yaml');
const rules: any[] = rulesFile.groups.flatMap((g: any) => g.rules);
const contactPoints = readYaml('alerting/contact-points.yaml');

/**
 * @grafana/schema of the oldest supported Grafana (11.6, from the npm alias grafana-runtime-11.6)
 * and of the newest (13.x, the repository's own): the dashboards must be what 11.6 writes and
 * only use panel options both declare.
 */
const SCHEMAS: Record<string, string> = {
  '11.6': path.join(ROOT, 'node_modules', 'grafana-runtime-11.6', 'node_modules', '@grafana', 'schema'),
  '13.2': path.dirname(require.resolve('@grafana/schema/package.json')),
};
function schemaVersionOf(dir: string): number {
  // The package index is CommonJS; only defaultDashboard is needed.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(dir) as { defaultDashboard: { schemaVersion: number } }).defaultDashboard.schemaVersion;
}

const allPanels = (d: any): any[] => (d.panels ?? []).flatMap((p: any) => (p.type === 'row' ? [p, ...(p.panels ?? [])] : [p]));

describe("Grafana's provisioning interpolation (values.interpolateValue) as reproduced here", () => {
  it('$$ is a literal $, $NAME and ${NAME} expand, unknown names expand to nothing', () => {
    expect(grafanaInterpolate('a$$b $X ${X} $', { X: '1' })).toBe('a$b 1 1 $');
    expect(grafanaInterpolate('{{ $labels.service_name }}', {})).toBe('{{ .service_name }}');
    expect(grafanaInterpolate('{{ $$labels.service_name }}', { labels: 'oops' })).toBe('{{ $labels.service_name }}');
  });
});

describe('files parse', () => {
  it('every YAML and JSON file under provisioning/ parses', () => {
    const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    const files = walk(PROVISIONING);
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      if (f.endsWith('.json')) expect(() => JSON.parse(text)).not.toThrow();
      else if (/\.ya?ml$/.test(f)) {
        const doc = YAML.parseDocument(text);
        expect(doc.errors).toEqual([]);
        expect(doc.toJS().apiVersion).toBe(1);
      } else throw new Error(`unexpected file ${f}`);
    }
  });
});

describe('data sources', () => {
  const byUid = new Map<string, any>(dsFile.datasources.map((d: any) => [d.uid, d]));

  it('the PostgreSQL data source: fixed uid, database/sslmode/postgresVersion, reader role, password from the environment', () => {
    const pg = byUid.get(U.datasources.postgres);
    expect(pg).toMatchObject({ type: 'grafana-postgresql-datasource', access: 'proxy', user: 'integration_monitor_reader' });
    expect(pg.jsonData).toEqual(expect.objectContaining({ database: expect.any(String), sslmode: expect.any(String), postgresVersion: expect.any(Number) }));
    expect(pg.secureJsonData.password).toMatch(/^\$[A-Z_]+$/);
    expect(pg.password).toBeUndefined(); // never in plain jsonData
    expect(parseGrafanaInterval(pg.jsonData.timeInterval)).toBe(60_000);
    const env = { INTMON_PG_HOST: 'postgres:5432', INTMON_PG_DATABASE: 'integration_monitor', INTMON_PG_SSLMODE: 'disable', INTMON_READER_PASSWORD: 's3cret' };
    expect(grafanaInterpolate(pg.url, env)).toBe('postgres:5432');
    expect(grafanaInterpolate(pg.jsonData.database, env)).toBe('integration_monitor');
    expect(grafanaInterpolate(pg.secureJsonData.password, env)).toBe('s3cret');
  });

  it('the plugin data source: fixed uid, API URL, token in secureJsonData from the environment', () => {
    const api = byUid.get(U.datasources.api);
    expect(api).toMatchObject({ type: U.pluginId, access: 'proxy' });
    expect(api.jsonData.apiUrl).toMatch(/^\$[A-Z_]+$/);
    expect(api.secureJsonData.apiToken).toMatch(/^\$[A-Z_]+$/);
    // The plugin's own id, as plugin.json declares it.
    const pluginJson = path.join(ROOT, 'plugin.json');
    if (fs.existsSync(pluginJson)) expect(JSON.parse(fs.readFileSync(pluginJson, 'utf8')).id).toBe(U.pluginId);
  });

  it('every data source has the fields Grafana requires, and uids are unique', () => {
    for (const d of dsFile.datasources) {
      expect(d).toEqual(expect.objectContaining({ name: expect.any(String), type: expect.any(String), uid: expect.any(String) }));
    }
    expect(new Set(dsFile.datasources.map((d: any) => d.uid)).size).toBe(dsFile.datasources.length);
    expect([...byUid.keys()].sort()).toEqual(Object.values(U.datasources).sort());
  });
});

describe('dashboards', () => {
  it('the provider points at the directory the dashboards are mounted in, in the uids.json folder', () => {
    const provider = readYaml('dashboards/provider.yaml').providers[0];
    expect(provider).toMatchObject({ type: 'file', folderUid: U.folder, options: { path: '/etc/grafana/provisioning/dashboards' } });
    const compose = YAML.parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'));
    const mounts: string[] = compose.services.grafana.volumes;
    expect(mounts.some((m) => /^\.\/provisioning:\/etc\/grafana\/provisioning(:ro)?$/.test(m))).toBe(true);
  });

  it("the dashboards exist with their uids.json uids and Grafana 11.6's schemaVersion", () => {
    expect(dashboards.map((d) => d.json.uid).sort()).toEqual(Object.values(U.dashboards).sort());
    const oldest = schemaVersionOf(SCHEMAS['11.6']);
    expect(oldest).toBe(41);
    expect(schemaVersionOf(SCHEMAS['13.2'])).toBeGreaterThanOrEqual(oldest);
    for (const { json } of dashboards) {
      expect(json.schemaVersion).toBe(oldest);
      expect(json.title).toEqual(expect.any(String));
      expect(json.id).toBeUndefined(); // provisioned dashboards are matched by uid
    }
  });

  it('panels: unique ids, inside the 24-column grid, no two overlap', () => {
    for (const { file, json } of dashboards) {
      const panels = allPanels(json);
      expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
      for (const p of panels) {
        const g = p.gridPos;
        expect(g.x >= 0 && g.y >= 0 && g.w > 0 && g.h > 0 && g.x + g.w <= 24).toBe(true);
      }
      for (let i = 0; i < panels.length; i++) {
        for (let j = i + 1; j < panels.length; j++) {
          const a = panels[i].gridPos;
          const b = panels[j].gridPos;
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          if (overlap) throw new Error(`${file}: panels ${panels[i].id} and ${panels[j].id} overlap`);
        }
      }
    }
  });

  it('newer Grafana migrates them unchanged: nothing that schema migration 42 rewrites (custom.hideFrom with viz)', () => {
    // apps/dashboard/pkg/migration/schemaversion/v42.go: only custom.hideFrom overrides change.
    for (const { json } of dashboards) expect(JSON.stringify(json)).not.toContain('hideFrom');
  });

  it.each(Object.keys(SCHEMAS))('every panel option and custom field option is declared by @grafana/schema %s', (version) => {
    for (const { file, json } of dashboards) {
      for (const p of allPanels(json).filter((x) => x.type !== 'row')) {
        if (p.type === 'alertlist') {
          // The alert list has no composable schema in @grafana/schema; its options are
          // UnifiedAlertListOptions of public/app/plugins/panel/alertlist/types.ts (unchanged 11.6–13).
          const known = [
            'maxItems',
            'sortOrder',
            'dashboardAlerts',
            'groupMode',
            'groupBy',
            'alertName',
            'showInstances',
            'folder',
            'stateFilter',
            'alertInstanceLabelFilter',
            'datasource',
            'viewMode',
          ];
          for (const k of Object.keys(p.options ?? {})) expect([p.id, k, known.includes(k)]).toEqual([p.id, k, true]);
          continue;
        }
        // Schema directories drop the dash of the panel id (state-timeline → statetimeline).
        const options = declaredKeys(SCHEMAS[version], p.type.replace(/-/g, ''), 'Options');
        for (const k of Object.keys(p.options ?? {})) if (!options.has(k)) throw new Error(`${file}: panel ${p.id} (${p.type}) option ${k} unknown to ${version}`);
        const custom = Object.keys(p.fieldConfig?.defaults?.custom ?? {});
        if (custom.length) {
          const fields = declaredKeys(SCHEMAS[version], p.type.replace(/-/g, ''), 'FieldConfig');
          for (const k of custom) if (!fields.has(k)) throw new Error(`${file}: panel ${p.id} (${p.type}) custom field option ${k} unknown to ${version}`);
        }
      }
    }
  });

  it('tables carry no options.footer (gone from the table panel in Grafana 13.2; off by default in 11.6/12)', () => {
    for (const { json } of dashboards) {
      for (const p of allPanels(json).filter((x) => x.type === 'table')) expect(p.options?.footer).toBeUndefined();
    }
  });

  it('units: percent for failure rates, ms for latency, short for counts', () => {
    for (const { json } of dashboards) {
      for (const p of allPanels(json).filter((x) => x.type === 'timeseries')) {
        const unit = p.fieldConfig.defaults.unit;
        if (/failure rate/i.test(p.title)) expect([p.title, unit]).toEqual([p.title, 'percent']);
        else if (/latency/i.test(p.title)) expect([p.title, unit]).toEqual([p.title, 'ms']);
        else expect([p.title, unit]).toEqual([p.title, 'short']);
        expect(p.maxDataPoints).toBeGreaterThan(0);
      }
      for (const p of allPanels(json).filter((x) => x.type === 'table')) {
        for (const o of p.fieldConfig.overrides) {
          const name: string = o.matcher.options;
          const unit = o.properties.find((x: any) => x.id === 'unit')?.value;
          if (/duration|avg|^p\d\d/i.test(name)) expect([name, unit]).toEqual([name, 'ms']);
          if (/rate/i.test(name)) expect([name, unit]).toEqual([name, 'percent']);
        }
      }
    }
  });

  it('no panel, query, variable or annotation names a data source uid: each goes through a data-source variable of its type, which defaults to the provisioned one', () => {
    const known = new Map<string, string>(dsFile.datasources.map((d: any) => [d.uid, d.type]));
    for (const { file, json } of dashboards) {
      const refs = datasourceRefs(json, file);
      expect(refs.length).toBeGreaterThan(0);
      const dsVars = new Map<string, any>(json.templating.list.filter((v: any) => v.type === 'datasource').map((v: any) => [v.name, v]));
      for (const r of refs) {
        if (r.uid === '-- Grafana --') continue; // the built-in annotations
        const m = /^\$\{(\w+)\}$/.exec(r.uid);
        expect([r.where, r.uid, Boolean(m && dsVars.has(m[1]))]).toEqual([r.where, r.uid, true]);
        const v = dsVars.get(m![1]);
        expect([r.where, v.query]).toEqual([r.where, r.type]);
        expect([r.where, known.get(v.current.value)]).toEqual([r.where, r.type]);
      }
      // Nor anywhere else (data links, descriptions): a literal uid would break an import.
      // (The variables' own default, `current`, is the one place the provisioned uid may appear.)
      const rest = { ...json, templating: { list: json.templating.list.map((v: any) => (v.type === 'datasource' ? { ...v, current: undefined } : v)) } };
      for (const uid of known.keys()) expect([file, JSON.stringify(rest).includes(`"${uid}"`)]).toEqual([file, false]);
    }
  });

  it('the main dashboards need only core Grafana: plugin panels live in a dashboard of their own', () => {
    for (const { json } of dashboards.filter((d) => d.json.uid !== U.dashboards.apiViews)) {
      expect(JSON.stringify(json)).not.toContain(U.pluginId);
    }
    const api = dashboards.find((d) => d.json.uid === U.dashboards.apiViews)!.json;
    expect(allPanels(api).length).toBeGreaterThan(0);
    for (const p of allPanels(api)) expect(p.datasource.type).toBe(U.pluginId);
  });

  it('the overview\'s top row is "now": the last 15 minutes per service, the alert list, the state timeline', () => {
    const overview = dashboards.find((d) => d.json.uid === U.dashboards.overview)!.json;
    const top = allPanels(overview).filter((p) => p.gridPos.y === 0);
    expect(top.map((p) => p.type).sort()).toEqual(['alertlist', 'state-timeline', 'table']);
    const now = top.find((p) => p.type === 'table');
    const sql: string = now.targets[0].rawSql;
    expect(sql).toContain("$__timeTo()::timestamptz - interval '15 minutes'");
    expect(sql).toMatch(/ORDER BY CASE s\.state WHEN 'down' THEN 0 WHEN 'degraded' THEN 1/);
    for (const col of ['"Failure %"', '"Calls/min"', '"p95"', '"State"']) expect(sql).toContain(col);
    const alerts = top.find((p) => p.type === 'alertlist');
    expect(alerts.options.alertInstanceLabelFilter).toBe('{product="integration-monitor"}');
    // No panel sits above the top row.
    expect(Math.min(...allPanels(overview).map((p) => p.gridPos.y))).toBe(0);
  });

  it("links all the way down: health and now rows → Service detail with the service; failures → service and action, the entity, the entity's calls through the plugin", () => {
    const overview = dashboards.find((d) => d.json.uid === U.dashboards.overview)!.json;
    const linksOf = (p: any, field: string) => p.fieldConfig.overrides.find((o: any) => o.matcher.options === field)?.properties.find((x: any) => x.id === 'links')?.value ?? [];
    for (const p of allPanels(overview).filter((x) => x.type === 'table' && /now|health/i.test(x.title))) {
      expect(linksOf(p, 'Service').map((l: any) => l.url)).toEqual([expect.stringContaining(`/d/${U.dashboards.serviceDetail}?var-service=\${__data.fields.Service:percentencode}`)]);
    }
    const failures = allPanels(overview).find((p) => /recent failures/i.test(p.title));
    expect(linksOf(failures, 'Service')[0].url).toContain('&var-action=${__data.fields.Action:percentencode}');
    expect(linksOf(failures, 'Entity id')[0].url).toContain('var-entity_id=');
    expect(linksOf(failures, 'Id')[0].url).toContain(`/d/${U.dashboards.apiViews}?`);
  });

  it('the overview has failure rate, volume, p50/p95/p99, a coloured health table, failures and failure annotations; health and failures also via the plugin', () => {
    const overview = dashboards.find((d) => d.json.uid === U.dashboards.overview)!.json;
    const titles = allPanels(overview).map((p) => p.title);
    for (const t of [/failure rate/i, /volume/i, /p50/i, /p95/i, /p99/i, /health/i, /failures/i]) expect(titles.some((x) => t.test(x))).toBe(true);
    const health = allPanels(overview).filter((p) => /health/i.test(p.title));
    expect(health.map((p) => p.datasource.uid)).toEqual(['${ds_postgres}']);
    for (const p of health) {
      const state = p.fieldConfig.overrides.find((o: any) => /^state$/i.test(o.matcher.options));
      const mappings = state.properties.find((x: any) => x.id === 'mappings').value[0].options;
      expect(Object.keys(mappings).sort()).toEqual(['degraded', 'down', 'ok']);
      expect(mappings.down.color).toBe('red');
      expect(state.properties.find((x: any) => x.id === 'custom.cellOptions').value.type).toBe('color-background');
    }
    const failures = allPanels(overview).filter((p) => /failures/i.test(p.title));
    expect(failures.map((p) => p.datasource.uid)).toEqual(['${ds_postgres}']);
    expect(overview.annotations.list.some((a: any) => a.datasource.uid === '${ds_postgres}' && /fail/i.test(a.name))).toBe(true);
  });

  it('the service detail has multi-value $service and $action variables with All, and the panels the issue names', () => {
    const detail = dashboards.find((d) => d.json.uid === U.dashboards.serviceDetail)!.json;
    const vars = new Map<string, any>(detail.templating.list.map((v: any) => [v.name, v]));
    for (const name of ['service', 'action']) {
      expect(vars.get(name)).toMatchObject({ type: 'query', multi: true, includeAll: true, datasource: { uid: '${ds_postgres}' } });
    }
    expect(vars.get('action').query).toContain('$service');
    const titles = allPanels(detail).map((p) => p.title);
    for (const t of [/action/i, /status mix/i, /retries/i, /slowest/i, /entity/i]) expect(titles.some((x) => t.test(x))).toBe(true);
  });

  it('plugin queries are valid members of the plugin query union', () => {
    for (const { json } of dashboards) {
      const targets = [...allPanels(json).flatMap((p) => p.targets ?? []), ...json.annotations.list.map((a: any) => a.target).filter(Boolean)];
      for (const t of targets.filter((x: any) => x.datasource?.type === U.pluginId)) {
        expect(QUERY_TYPES).toContain(t.queryType);
        if (t.queryType === 'timeseries') expect(METRICS).toContain(t.metric);
        if (t.limit !== undefined) expect(t.limit >= 1 && t.limit <= 1000).toBe(true);
      }
    }
  });

  it('Postgres panels use Grafana macros, raw-row lists filter on the partition key', () => {
    for (const { json } of dashboards) {
      for (const p of allPanels(json)) {
        for (const t of (p.targets ?? []).filter((x: any) => x.datasource.uid === U.datasources.postgres)) {
          // time series: buckets in the dashboard's zone (constant `tz`), taken as the function made them
          if (t.format === 'time_series') {
            expect(t.rawSql).toContain('extract(epoch FROM bucket) AS "time"');
            expect(t.rawSql).toMatch(/integration_(range_agg|hist_range|hist_percentile_series)(_service)?_zone\([^;]*, '\$tz'\)/);
          }
          if (/\bintegration_logs\b/.test(t.rawSql)) expect(t.rawSql).toMatch(/\$__timeFilter\((\w+\.)?created_at\)/);
          if (!/\bFROM integration_logs\b/.test(t.rawSql)) {
            expect(t.rawSql).toMatch(/integration_(range_agg|hist_range|hist_percentile_series)(_service)?(_zone)?\(\$__timeFrom\(\)::timestamptz, \$__timeTo\(\)::timestamptz/);
          }
        }
      }
    }
  });
});

describe('alerting', () => {
  const VALID_NODATA = ['NoData', 'Alerting', 'OK', 'KeepLast'];
  const VALID_ERR = ['Error', 'Alerting', 'OK', 'KeepLast'];

  it('rule groups have the fields Grafana requires', () => {
    for (const g of rulesFile.groups) {
      expect(g).toEqual(expect.objectContaining({ orgId: 1, name: expect.any(String), folder: expect.any(String), interval: expect.any(String) }));
      expect(parseGrafanaInterval(g.interval)).toBeGreaterThanOrEqual(10_000);
    }
    expect(rules.map((r) => r.uid).sort()).toEqual(Object.values(U.alertRules).sort());
  });

  it('rules use only fields and expression types that Grafana 11.6 file provisioning reads', () => {
    // pkg/services/provisioning/alerting/rules_types.go AlertRuleV1: these fields predate 11.6;
    // keepFiringFor and missing_series_evals_to_resolve came later and are not used.
    const KNOWN_11_6 = new Set(['uid', 'title', 'condition', 'data', 'dashboardUid', 'panelId', 'noDataState', 'execErrState', 'for', 'annotations', 'labels', 'isPaused']);
    for (const r of rules) for (const k of Object.keys(r)) expect([r.uid, k, KNOWN_11_6.has(k)]).toEqual([r.uid, k, true]);
    for (const g of rulesFile.groups) expect(Object.keys(g).sort()).toEqual(['folder', 'interval', 'name', 'orgId', 'rules']);
  });

  it.each(rules.map((r) => [r.uid, r]))('%s: complete rule: data, condition, for, states, annotations, severity', (_uid, r: any) => {
    expect(r.title).toEqual(expect.any(String));
    const refs = r.data.map((d: any) => d.refId);
    expect(new Set(refs).size).toBe(refs.length);
    expect(refs).toContain(r.condition);
    expect(VALID_NODATA).toContain(r.noDataState);
    expect(VALID_ERR).toContain(r.execErrState);
    expect(parseGrafanaInterval(r.for)).toBeGreaterThan(0);
    for (const k of ['summary', 'description', 'runbook_url']) expect(r.annotations[k]).toEqual(expect.any(String));
    expect(r.annotations.runbook_url).toMatch(/^\{\{ \$labels\.runbook_base \}\}\/docs\/runbooks\/[a-z-]+\.md$/);
    expect(r.labels.product).toBe('integration-monitor');
    // The notification links to the panel that shows the problem.
    expect([r.uid, r.dashboardUid, typeof r.panelId]).toEqual([r.uid, U.dashboards.overview, 'number']);
    expect(['page', 'ticket']).toContain(r.labels.severity);
    for (const d of r.data) {
      expect(d.model.refId).toBe(d.refId);
      if (d.datasourceUid === '__expr__') {
        expect(['math', 'reduce', 'threshold']).toContain(d.model.type);
        if (d.model.type === 'reduce') {
          // Every query here is a table (numbers); a reduce over a number is a no-op Grafana warns about.
          const input = r.data.find((x: any) => x.refId === d.model.expression);
          expect(input.datasourceUid).toBe('__expr__');
        }
        const inputs = d.model.type === 'math' ? [...d.model.expression.matchAll(/\$\{?([A-Z][A-Za-z0-9]*)\}?/g)].map((m) => m[1]) : [d.model.expression];
        for (const i of inputs) expect(refs).toContain(i);
      } else {
        expect(d.datasourceUid).toBe(U.datasources.postgres);
        expect(d.model.datasource).toEqual({ type: U.postgresType, uid: U.datasources.postgres });
        expect(d.model.format).toBe('table'); // one instance per row, labelled by service_name
        expect(d.relativeTimeRange.from).toBeGreaterThan(d.relativeTimeRange.to);
      }
    }
    const cond = r.data.find((d: any) => d.refId === r.condition);
    expect(cond.datasourceUid).toBe('__expr__');
    if (r.dashboardUid) {
      const dash = dashboards.find((d) => d.json.uid === r.dashboardUid);
      expect(dash).toBeDefined();
      expect(allPanels(dash!.json).map((p) => p.id)).toContain(r.panelId);
    }
  });

  it('labels escape `$` so that Grafana expansion leaves the template intact; annotations and queries are used raw', () => {
    const env = { labels: 'EXPANDED', values: 'EXPANDED', A: 'EXPANDED' };
    for (const r of rules) {
      for (const [k, v] of Object.entries<string>(r.labels)) {
        const after = grafanaInterpolate(v, env);
        expect([k, after.includes('EXPANDED')]).toEqual([k, false]);
        if (v.includes('$') && k !== 'runbook_base') expect(after).toBe(v.replace(/\$\$/g, '$'));
      }
      expect(grafanaInterpolate(r.labels.service, env)).toBe('{{ $labels.service_name }}');
      // The one environment variable the labels read on purpose: the runbooks' base URL.
      expect(grafanaInterpolate(r.labels.runbook_base, { INTMON_RUNBOOK_BASE_URL: 'https://git.example/intmon/blob/main' })).toBe('https://git.example/intmon/blob/main');
      for (const v of Object.values<string>(r.annotations)) expect(v).not.toContain('$$');
      for (const d of r.data) expect(JSON.stringify(d.model)).not.toContain('$$');
    }
  });

  it('every runbook_url names a runbook in docs/runbooks/ of this repository', () => {
    for (const r of rules) {
      const file = /docs\/runbooks\/[a-z-]+\.md$/.exec(r.annotations.runbook_url)![0];
      expect([r.uid, fs.existsSync(path.join(ROOT, file))]).toEqual([r.uid, true]);
    }
  });

  it('a page and a ticket contact point, each with its webhook URL from the environment', () => {
    const byName = Object.fromEntries(contactPoints.contactPoints.map((c: any) => [c.name, c.receivers[0]]));
    expect(byName['Integration Monitor page']).toMatchObject({ uid: U.contactPoints.page, type: 'webhook', disableResolveMessage: false });
    expect(byName['Integration Monitor ticket']).toMatchObject({ uid: U.contactPoints.ticket, type: 'webhook', disableResolveMessage: false });
    expect(grafanaInterpolate(byName['Integration Monitor page'].settings.url, { INTMON_PAGE_WEBHOOK_URL: 'https://hooks.example/p' })).toBe('https://hooks.example/p');
    expect(grafanaInterpolate(byName['Integration Monitor ticket'].settings.url, { INTMON_TICKET_WEBHOOK_URL: 'https://hooks.example/t' })).toBe('https://hooks.example/t');
  });

  it('no notification policy is file-provisioned: Grafana would replace the whole org tree with it', () => {
    for (const f of listFiles('alerting', '.yaml')) {
      const doc = readYaml(f);
      expect([f, 'policies' in doc, 'resetPolicies' in doc]).toEqual([f, false, false]);
    }
  });
});

describe('docker-compose', () => {
  const compose = YAML.parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'));

  it('postgres:17, the API built here, a pinned Grafana with dist/ as the plugin, unsigned loading for this plugin only, healthchecks', () => {
    const s = compose.services;
    expect(s.postgres.image).toBe('postgres:17');
    expect(s.api.build).toBeDefined();
    expect(s.grafana.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    expect(s.grafana.environment.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS).toBe(U.pluginId);
    expect(s.grafana.volumes).toContain(`./dist:/var/lib/grafana/plugins/${U.pluginId}:ro`);
    for (const name of ['postgres', 'api', 'grafana']) expect(s[name].healthcheck.test).toBeDefined();
  });

  it('the API image: built from this repository, started as `integration-monitor start`, with nothing it needs ignored', () => {
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^CMD \["node", "bin\/integration-monitor\.js", "start"\]$/m);
    expect(dockerfile).toMatch(/npm ci/);
    for (const p of ['migrations', 'bin', 'src', 'bench']) expect(dockerfile).toMatch(new RegExp(`^COPY (--from=build /app/)?${p} `, 'm'));
    const ignored = fs
      .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'bench', 'bin', 'migrations']) {
      expect([needed, ignored.some((pattern) => pattern === needed || needed.startsWith(`${pattern}/`))]).toEqual([needed, false]);
    }
    const api = compose.services.api;
    expect(api.environment.HOST).toBe('0.0.0.0'); // the API's default 127.0.0.1 would be unreachable from Grafana
    expect(api.environment.DATABASE_URL).toMatch(/@postgres:5432\//);
    expect(compose.services.grafana.environment.INTMON_API_URL).toBe(`http://api:${api.environment.PORT}`);
  });

  it('Grafana gets every environment variable the provisioning files use', () => {
    const used = new Set<string>();
    for (const f of [...listFiles('datasources', '.yaml'), 'alerting/contact-points.yaml', 'alerting/rules.yaml']) {
      const text = fs.readFileSync(path.join(PROVISIONING, f), 'utf8').replace(/^\s*#.*$/gm, '');
      for (const m of text.matchAll(/\$\{?([A-Z][A-Z0-9_]+)\}?/g)) used.add(m[1]);
    }
    expect(used.size).toBeGreaterThanOrEqual(6);
    for (const v of used) expect(Object.keys(compose.services.grafana.environment)).toContain(v);
  });
});
