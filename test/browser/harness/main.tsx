/**
 * Harness page: loads the built plugin (dist/module.js) through an AMD `define` handed the real
 * shared modules, as Grafana does, and renders its ConfigEditor, QueryEditor and variable query
 * editor inside @grafana/ui's theme, each held in state the way Grafana holds them. Every change
 * is recorded on `window.__intmon` for the test to read. Built once per Grafana generation
 * (webpack.harness.js, INTMON_GRAFANA): the module map offers exactly what that generation shares
 * (react/jsx-runtime only from 12.3, public/app/features/plugins/loader/sharedDependencies.ts).
 */
import * as emotionCss from '@emotion/css';
import * as emotionReact from '@emotion/react';
import * as grafanaData from '@grafana/data';
import { createTheme, DataSourceApi, DataSourceInstanceSettings, DataSourcePlugin, DataSourceSettings } from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import { BackendSrv, BackendSrvRequest, setBackendSrv, setTemplateSrv, TemplateSrv } from '@grafana/runtime';
import * as grafanaUi from '@grafana/ui';
import { GlobalStyles, ThemeContext } from '@grafana/ui';
import * as lodash from 'lodash';
import * as React from 'react';
import { useState } from 'react';
import * as ReactDOM from 'react-dom';
import { createRoot } from 'react-dom/client';
import * as jsxRuntime from 'react/jsx-runtime';
import * as rxjs from 'rxjs';

import services from '../../plugin/fixtures/services.json';

declare const INTMON_HARNESS: { grafana: string; jsxRuntime: boolean; packages: Record<string, string> };

interface Recorder {
  queries: unknown[];
  options: unknown[];
  variableQueries: unknown[];
  errors: string[];
  ready: boolean;
  /** What the page was built with, and the React that actually runs. */
  built: typeof INTMON_HARNESS & { reactRunning: string };
}
const rec: Recorder = { queries: [], options: [], variableQueries: [], errors: [], ready: false, built: { ...INTMON_HARNESS, reactRunning: React.version } };
(window as unknown as { __intmon: Recorder }).__intmon = rec;
window.addEventListener('error', (e) => rec.errors.push(String(e.message)));

const SHARED: Record<string, unknown> = {
  '@grafana/data': grafanaData,
  '@grafana/ui': grafanaUi,
  '@grafana/runtime': grafanaRuntime,
  react: React,
  'react-dom': ReactDOM,
  ...(INTMON_HARNESS.jsxRuntime ? { 'react/jsx-runtime': jsxRuntime } : {}),
  rxjs,
  lodash,
  '@emotion/css': emotionCss,
  '@emotion/react': emotionReact,
};

// The recorded /services answer stands in for Grafana's data proxy; nothing else is served.
setBackendSrv({
  fetch: (o: BackendSrvRequest) =>
    o.url.endsWith('/services') ? rxjs.of({ data: services.body, status: 200, ok: true, config: o }) : rxjs.throwError(() => ({ status: 502, data: { message: 'Bad Gateway' }, config: o })),
} as unknown as BackendSrv);
setTemplateSrv({
  getVariables: () => [{ name: 'service' }],
  replace: (s?: string) => s ?? '',
  containsTemplate: () => false,
  updateTimeRange: () => {},
} as unknown as TemplateSrv);

function loadPlugin(): Promise<DataSourcePlugin<DataSourceApi>> {
  return new Promise((resolve, reject) => {
    const define = (deps: string[], factory: (...m: unknown[]) => { plugin: DataSourcePlugin<DataSourceApi> }) => {
      const missing = deps.filter((d) => !(d in SHARED));
      if (missing.length) {
        reject(new Error(`module.js asks for unshared modules: ${missing.join(', ')}`));
        return;
      }
      resolve(factory(...deps.map((d) => SHARED[d])).plugin);
    };
    (define as unknown as { amd: object }).amd = {};
    (window as unknown as { define: unknown }).define = define;
    const script = document.createElement('script');
    script.src = '/dist/module.js';
    script.onerror = () => reject(new Error('cannot load /dist/module.js'));
    document.head.appendChild(script);
  });
}

const theme = createTheme({ colors: { mode: 'dark' } });

function Editors({ plugin }: { plugin: DataSourcePlugin<DataSourceApi> }) {
  const ConfigEditor = plugin.components.ConfigEditor as unknown as React.ComponentType<Record<string, unknown>>;
  const QueryEditor = plugin.components.QueryEditor as unknown as React.ComponentType<Record<string, unknown>>;
  const DS = plugin.DataSourceClass as unknown as new (s: DataSourceInstanceSettings) => unknown;
  const [ds] = useState(
    () =>
      new DS({
        id: 1,
        uid: 'intmon',
        type: 'intmon-integrations-datasource',
        name: 'Integration Monitor',
        url: '/api/datasources/proxy/uid/intmon',
        jsonData: { apiUrl: 'http://api:3100' },
        meta: {},
      } as unknown as DataSourceInstanceSettings),
  );
  const [options, setOptions] = useState<DataSourceSettings>({
    id: 1,
    uid: 'intmon',
    name: 'Integration Monitor',
    type: 'intmon-integrations-datasource',
    access: 'proxy',
    url: '',
    jsonData: {},
    secureJsonFields: {},
  } as unknown as DataSourceSettings);
  const [query, setQuery] = useState<Record<string, unknown>>({ refId: 'A', queryType: 'timeseries', metric: 'failure_rate', groupBy: 'service' });
  const [variableQuery, setVariableQuery] = useState<Record<string, unknown>>({ refId: 'variable', kind: 'services' });
  const VariableEditor = (ds as { variables?: { editor?: unknown } }).variables?.editor as React.ComponentType<Record<string, unknown>> | undefined;
  return (
    <div style={{ padding: 16, display: 'flex', flexDirection: 'column', gap: 24, background: theme.colors.background.primary, minHeight: '100vh' }}>
      <section id="config-editor">
        <ConfigEditor
          options={options}
          onOptionsChange={(o: DataSourceSettings) => {
            rec.options.push(o);
            setOptions(o);
          }}
        />
      </section>
      <section id="query-editor">
        <QueryEditor
          query={query}
          datasource={ds}
          onChange={(q: Record<string, unknown>) => {
            rec.queries.push(q);
            setQuery(q);
          }}
          onRunQuery={() => {}}
        />
      </section>
      <pre id="query-json" style={{ color: theme.colors.text.secondary }}>
        {JSON.stringify(query)}
      </pre>
      <section id="variable-editor">
        {VariableEditor ? (
          <VariableEditor
            query={variableQuery}
            datasource={ds}
            onChange={(q: Record<string, unknown>) => {
              rec.variableQueries.push(q);
              setVariableQuery(q);
            }}
            onRunQuery={() => {}}
          />
        ) : (
          'no variable editor'
        )}
      </section>
    </div>
  );
}

loadPlugin().then(
  (plugin) => {
    createRoot(document.getElementById('root')!).render(
      <ThemeContext.Provider value={theme}>
        <GlobalStyles />
        <Editors plugin={plugin} />
      </ThemeContext.Provider>,
    );
    rec.ready = true;
  },
  (err: Error) => {
    rec.errors.push(err.message);
    document.getElementById('root')!.textContent = `harness failed: ${err.message}`;
  },
);
