/**
 * A fresh install: the migrations applied, not one call recorded. Every dashboard's variables are
 * resolved in order as Grafana resolves them (each query variable's SQL expanded with the variables
 * before it, run as integration_monitor_reader, its value then chosen from the answer as Grafana's
 * MultiValueVariable does, zero options included), then every PostgreSQL panel and annotation
 * query runs with those values over several ranges. Nothing may fail: the first screen a new user
 * sees must be empty panels, not syntax errors.
 */
import type { TimeRange as GrafanaTimeRange } from '@grafana/data';

import { interpolateQuery } from '../../src/plugin/interpolation';
import { migrateQuery } from '../../src/plugin/migrate';
import { toApiRequest } from '../../src/plugin/params';
import { IntmonQuery, isComplete } from '../../src/plugin/types';
import { Harness, startHarness } from '../api/harness';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { afterOptions, ALL_VALUE, expandPanelSql, panelInterval, TemplateVariable } from '../helpers/grafana-macros';
import { GrafanaTemplateSrv } from '../helpers/template-srv';
import { asReader, minutes } from './support/fixtures';
import { listFiles, readJson, readYaml, resolveDatasourceVariables, uids } from './support/provisioning';

// The plugin's own interpolation runs here; the template service it asks @grafana/runtime for is
// the stand-in that follows Grafana's template_srv.ts (the real package needs a browser).
let mockTemplateSrv = new GrafanaTemplateSrv();
jest.mock('@grafana/runtime', () => ({ getTemplateSrv: () => mockTemplateSrv }));

const U = uids();
const pgDs = readYaml('datasources/integration-monitor.yaml').datasources.find((d: any) => d.uid === U.datasources.postgres);
const dashboards = listFiles('dashboards', '.json').map((f) => resolveDatasourceVariables(readJson(f)));
const T = new Date('2026-11-20T12:00:00Z');

let db: TestDatabase;
let api: Harness; // the API on a database of its own, just as empty
beforeAll(async () => {
  db = await createTestDatabase();
  api = await startHarness();
});
afterAll(async () => {
  await db?.drop();
  await api?.close();
});

const run = (sql: string) => asReader(db.pool, (c) => c.query(sql));

/** The saved variables → the values Grafana holds once every variable query has answered on this database. */
async function resolveVariables(dashboard: any, range: { from: Date; to: Date }): Promise<TemplateVariable[]> {
  const resolved: TemplateVariable[] = [];
  for (const v of dashboard.templating?.list ?? []) {
    const saved = v.current?.value ?? '';
    const base = { name: v.name, multi: Boolean(v.multi), includeAll: Boolean(v.includeAll), allValue: v.allValue || undefined, current: saved };
    if (v.type === 'query') {
      expect(v.datasource.uid).toBe(U.datasources.postgres); // the only kind this test knows how to run
      const { sql } = expandPanelSql(v.query, { range, intervalMs: 60_000, variables: resolved });
      const res = await run(sql);
      resolved.push(
        afterOptions(
          base,
          res.rows.map((r) => String(Object.values(r)[0])),
        ),
      );
    } else if (v.type === 'textbox') {
      resolved.push({ ...base, current: saved || v.query || '' });
    } else if (v.type === 'datasource') {
      // Already resolved to its default (resolveDatasourceVariables); SQL never interpolates it.
      continue;
    } else if (v.type === 'constant') {
      // A constant's value is its query, whatever was saved (Scenes' ConstantVariable / the legacy constant adapter).
      resolved.push({ ...base, current: v.query });
    } else {
      throw new Error(`variable type ${v.type} not modelled`);
    }
  }
  return resolved;
}

describe.each(dashboards.map((d) => [d.title, d] as const))('%s on an empty database', (_title, dashboard) => {
  const targets: Array<[string, any, any]> = dashboard.panels.flatMap((p: any) =>
    (p.targets ?? []).filter((t: any) => t.datasource?.uid === U.datasources.postgres).map((t: any) => [`${p.title} (${t.refId})`, p, t]),
  );

  it('every variable resolves; a multi/All variable with no options is All with no values', async () => {
    const vars = await resolveVariables(dashboard, { from: new Date(T.getTime() - minutes(60)), to: T });
    for (const v of vars.filter((x) => x.includeAll)) {
      expect(v.options).toEqual([]);
      expect(v.current).toBe(ALL_VALUE);
    }
  });

  // The plugin's dashboard has no PostgreSQL panel (only its $service / $action variables).
  if (targets.length) {
    it.each(targets)('%s', async (_name, panel, target) => {
      for (const ms of [minutes(5), minutes(24 * 60), minutes(90 * 24 * 60)]) {
        const range = { from: new Date(T.getTime() - ms), to: T };
        const variables = await resolveVariables(dashboard, range);
        const { intervalMs } = panelInterval(range, panel.maxDataPoints ?? 1000, panel.interval ?? pgDs.jsonData.timeInterval);
        const { sql } = expandPanelSql(target.rawSql, { range, intervalMs, variables });
        const res = await run(sql);
        expect(res.rows).toEqual([]);
      }
    });
  }

  const apiTargets: Array<[string, any]> = [
    ...dashboard.panels.flatMap((p: any) => (p.targets ?? []).filter((t: any) => t.datasource?.uid === U.datasources.api).map((t: any) => [`${p.title} (${t.refId})`, t])),
    ...(dashboard.annotations?.list ?? []).filter((a: any) => a.datasource?.uid === U.datasources.api).map((a: any) => [`annotation ${a.name}`, a.target]),
  ];
  if (apiTargets.length) {
    it.each(apiTargets)('%s through the plugin and the API', async (_name, target) => {
      const range = { from: new Date(T.getTime() - minutes(24 * 60)), to: T };
      const variables = await resolveVariables(dashboard, range);
      mockTemplateSrv = new GrafanaTemplateSrv(variables.map((v) => ({ name: v.name, current: v.current, options: v.options ?? [], allValue: v.allValue })));
      const q = interpolateQuery(migrateQuery(target as IntmonQuery));
      if (!isComplete(q)) {
        // Only the entity drill-down, whose text boxes start empty: the plugin sends nothing.
        expect(q).toMatchObject({ queryType: 'logs', entityType: undefined, entityId: undefined });
        return;
      }
      const at = (d: Date) => ({ valueOf: () => d.getTime(), toISOString: () => d.toISOString() });
      const { path, params } = toApiRequest(q, { from: at(range.from), to: at(range.to) } as unknown as GrafanaTimeRange, 60_000);
      const reply = await api.get(`${path}?${params}`);
      expect([reply.statusCode, reply.body]).toEqual([200, expect.any(String)]);
      expect(reply.json()).toEqual(expect.any(Object));
    });
  }

  it('annotations run', async () => {
    const range = { from: new Date(T.getTime() - minutes(24 * 60)), to: T };
    const variables = await resolveVariables(dashboard, range);
    for (const a of (dashboard.annotations?.list ?? []).filter((x: any) => x.datasource?.uid === U.datasources.postgres)) {
      const { sql } = expandPanelSql(a.target.rawSql, { range, intervalMs: 60_000, variables });
      expect((await run(sql)).rows).toEqual([]);
    }
  });
});

it('the test would catch the bug: IN ($service) with no options is a syntax error', async () => {
  const variables = [afterOptions({ name: 'service', multi: true, includeAll: true, current: ALL_VALUE }, [])];
  const { sql } = expandPanelSql('SELECT 1 FROM integration_known_services() WHERE service_name IN ($service)', {
    range: { from: new Date(T.getTime() - minutes(60)), to: T },
    intervalMs: 60_000,
    variables,
  });
  expect(sql).toContain('IN ()');
  await expect(run(sql)).rejects.toThrow(/syntax error/);
});
