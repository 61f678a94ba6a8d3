/**
 * Loads the built dist/module.js the way Grafana does: an AMD `define` handed the real shared
 * modules (@grafana/data, @grafana/ui, @grafana/runtime, react, react/jsx-runtime, rxjs, …), then
 * checks the exported `plugin` and renders its query editor from the bundle. Runs in jsdom because
 * @grafana/ui needs a DOM to load. Builds dist/ first when it is missing or stale.
 */
import * as fs from 'fs';
import * as path from 'path';

import { DataSourceApi, DataSourceInstanceSettings, DataSourcePlugin } from '@grafana/data';
import { fireEvent, render, screen } from '@testing-library/react';
import React from 'react';

import { DIST, ensurePluginBuilt } from '../browser/dist';
import { deepFreeze } from './freeze';
import { fixture, FixtureBackend, INSTANCE_URL, TestTemplateSrv } from './helpers';

/** What Grafana shares with plugins (the bundle may ask for nothing else). */
// The very module objects (not import interop wrappers), as Grafana's SystemJS hands them over.
/* eslint-disable @typescript-eslint/no-require-imports */
const SHARED: Record<string, unknown> = {
  '@grafana/data': require('@grafana/data'),
  '@grafana/ui': require('@grafana/ui'),
  '@grafana/runtime': require('@grafana/runtime'),
  react: require('react'),
  'react-dom': require('react-dom'),
  'react/jsx-runtime': require('react/jsx-runtime'),
  rxjs: require('rxjs'),
  lodash: require('lodash'),
  '@emotion/css': require('@emotion/css'),
  '@emotion/react': require('@emotion/react'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

let deps: string[] = [];
let exported: Record<string, unknown>;

beforeAll(() => {
  ensurePluginBuilt();
  const code = fs.readFileSync(path.join(DIST, 'module.js'), 'utf8');
  const define = (names: string[], factory: (...mods: unknown[]) => Record<string, unknown>) => {
    deps = names;
    exported = factory(
      ...names.map((n) => {
        if (!(n in SHARED)) {
          throw new Error(`dist/module.js asks for "${n}", which Grafana does not share with plugins`);
        }
        return SHARED[n];
      }),
    );
  };
  (define as unknown as { amd: object }).amd = {};
  new Function('define', code)(define);
}, 180_000);

test('module.js is one AMD module asking only for what every supported Grafana shares', () => {
  expect(deps).toEqual(expect.arrayContaining(['@grafana/data', '@grafana/ui', '@grafana/runtime', 'react', 'rxjs']));
  expect(deps.every((d) => d in SHARED)).toBe(true);
  // Grafana shares react/jsx-runtime with plugins only from 12.3; the bundle must not need it.
  expect(deps).not.toContain('react/jsx-runtime');
  expect(deps).not.toContain('react/jsx-dev-runtime');
  // Bundling React or Grafana's packages would break the host; the bundle must stay small.
  expect(fs.statSync(path.join(DIST, 'module.js')).size).toBeLessThan(200_000);
});

test('exports a DataSourcePlugin with its editors', () => {
  const plugin = exported.plugin as DataSourcePlugin<DataSourceApi>;
  expect(plugin).toBeInstanceOf(DataSourcePlugin);
  expect(typeof plugin.components.ConfigEditor).toBe('function');
  expect(typeof plugin.components.QueryEditor).toBe('function');
  const DS = plugin.DataSourceClass as unknown as new (s: DataSourceInstanceSettings) => {
    annotations?: object;
    variables?: { editor: unknown; getType(): string };
    getDefaultQuery(app: string): object;
  };
  const ds = new DS({
    id: 1,
    uid: 'u',
    type: 'intmon-integrations-datasource',
    name: 'IM',
    url: INSTANCE_URL,
    jsonData: { apiUrl: 'http://api:3100' },
    meta: {},
  } as unknown as DataSourceInstanceSettings);
  expect(ds.annotations).toBeDefined();
  expect(ds.variables?.getType()).toBe('custom');
  expect(typeof ds.variables?.editor).toBe('function');
  expect(ds.getDefaultQuery('dashboard')).toEqual({ queryType: 'timeseries', metric: 'failure_rate', groupBy: 'service' });
});

test("the bundle's query editor renders with the host's React and reports changes", async () => {
  new TestTemplateSrv([]).install();
  const f = fixture('services');
  new FixtureBackend().on(f.request, f).install();
  const plugin = exported.plugin as DataSourcePlugin<DataSourceApi>;
  const DS = plugin.DataSourceClass as unknown as new (s: DataSourceInstanceSettings) => unknown;
  const ds = new DS({ id: 1, uid: 'u', type: 'intmon-integrations-datasource', name: 'IM', url: INSTANCE_URL, jsonData: {}, meta: {} } as unknown as DataSourceInstanceSettings);
  const QueryEditor = plugin.components.QueryEditor as unknown as React.ComponentType<Record<string, unknown>>;
  const onChange = jest.fn();
  render(<QueryEditor query={deepFreeze({ refId: 'A', queryType: 'health' })} datasource={ds} onChange={onChange} onRunQuery={() => {}} />);
  fireEvent.click(await screen.findByRole('radio', { name: 'Failures' }));
  expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: 'failures', limit: 100 });
});

test('dist holds plugin.json with placeholders filled, the logo, README and CHANGELOG', () => {
  const meta = JSON.parse(fs.readFileSync(path.join(DIST, 'plugin.json'), 'utf8'));
  expect(meta).toMatchObject({ type: 'datasource', id: 'intmon-integrations-datasource', name: 'Integration Monitor', metrics: true, annotations: true });
  expect(meta.info.version).toBe(JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')).version);
  expect(meta.info.updated).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  expect(meta.routes[0].headers).toEqual([{ name: 'Authorization', content: 'Bearer {{ .SecureJsonData.apiToken }}' }]);
  expect(meta.routes[0].url).toBe('{{ .JsonData.apiUrl }}');
  expect(meta.dependencies.grafanaDependency).toBe('>=11.6.0');
  for (const logo of Object.values(meta.info.logos) as string[]) {
    expect(fs.existsSync(path.join(DIST, logo))).toBe(true);
  }
  expect(fs.readFileSync(path.join(DIST, 'README.md'), 'utf8')).not.toContain('%VERSION%');
  expect(fs.existsSync(path.join(DIST, 'CHANGELOG.md'))).toBe(true);
});
