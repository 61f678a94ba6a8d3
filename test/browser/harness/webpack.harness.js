/**
 * Bundles the browser harness page: React, @grafana/ui/data/runtime and rxjs, exposed to the
 * plugin's dist/module.js through an AMD `define` as Grafana exposes them. Output goes to a temp
 * directory (INTMON_HARNESS_OUT) so nothing lands in the repository.
 *
 * INTMON_GRAFANA picks the Grafana generation whose packages the page is built with (see
 * GRAFANA_VERSIONS below): the repository's own @grafana/* 13.x with React 19, or the npm aliases
 * grafana-runtime-11.6 / grafana-runtime-12.4 (each pins its exact @grafana/ui, data and schema,
 * installed beside it) with react-18 / react-dom-18. Aliases apply inside node_modules too, so
 * every package in the page sees the same single React and @grafana/* copies, as in Grafana.
 */
// @ts-check
const fs = require('fs');
const os = require('os');
const path = require('path');
const webpack = require('webpack');
const { SWC_RULE } = require('../../../webpack.config.js');

const root = path.resolve(__dirname, '..', '..', '..');
const nm = path.join(root, 'node_modules');

/** Grafana generation → where its packages live. `jsxRuntime`: whether Grafana shares react/jsx-runtime with plugins (12.3+). */
const GRAFANA_VERSIONS = {
  13.2: { runtime: path.join(nm, '@grafana', 'runtime'), grafanaNm: nm, react: path.join(nm, 'react'), reactDom: path.join(nm, 'react-dom'), jsxRuntime: true },
  12.4: {
    runtime: path.join(nm, 'grafana-runtime-12.4'),
    grafanaNm: path.join(nm, 'grafana-runtime-12.4', 'node_modules'),
    react: path.join(nm, 'react-18'),
    reactDom: path.join(nm, 'react-dom-18'),
    jsxRuntime: true,
  },
  11.6: {
    runtime: path.join(nm, 'grafana-runtime-11.6'),
    grafanaNm: path.join(nm, 'grafana-runtime-11.6', 'node_modules'),
    react: path.join(nm, 'react-18'),
    reactDom: path.join(nm, 'react-dom-18'),
    jsxRuntime: false,
  },
};

const grafana = process.env.INTMON_GRAFANA || '13.2';
const v = GRAFANA_VERSIONS[/** @type {keyof typeof GRAFANA_VERSIONS} */ (grafana)];
if (!v) throw new Error(`INTMON_GRAFANA=${grafana}: expected one of ${Object.keys(GRAFANA_VERSIONS).join(', ')}`);
const pkgDir = (name) => (name === 'runtime' ? v.runtime : path.join(v.grafanaNm, '@grafana', name));
const version = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;

/** @type {import('webpack').Configuration} */
module.exports = {
  context: root,
  mode: 'development',
  devtool: false,
  target: 'web',
  entry: { harness: './test/browser/harness/main.tsx' },
  output: {
    path: process.env.INTMON_HARNESS_OUT || path.join(os.tmpdir(), `intmon-harness-${grafana}`),
    filename: '[name].js',
    publicPath: '/',
    clean: true,
  },
  cache: { type: 'filesystem', name: `grafana-${grafana}`, cacheDirectory: path.join(nm, '.cache', 'intmon-harness-webpack') },
  module: {
    rules: [
      SWC_RULE,
      // @grafana/ui's ESM imports 'ol/...' without extensions; let webpack resolve them.
      { test: /\.m?js$/, resolve: { fullySpecified: false } },
      // @grafana/ui 11.6's ESM default-imports CommonJS modules (react-use/lib/useMeasure) that
      // set __esModule; Grafana's own build honours that flag, so the harness does too.
      { test: /\.mjs$/, include: /node_modules/, type: 'javascript/auto' },
      // Style sheets some dependencies import for side effects are not needed by the harness.
      { test: /\.css$/, type: 'asset/source' },
      { test: /\.(svg|png|woff2?|ttf|eot)$/, type: 'asset/inline' },
    ],
  },
  resolve: {
    extensions: ['.tsx', '.ts', '.js', '.mjs', '.cjs', '.json'],
    // The repository's own generation resolves normally. Older ones: the bare @grafana/* names
    // point at the versioned copies (their subpath imports then resolve beside them), and react /
    // react-dom with every subpath (react/jsx-runtime, react-dom/client) at React 18.
    alias:
      grafana === '13.2'
        ? {}
        : {
            '@grafana/runtime$': v.runtime,
            '@grafana/data$': pkgDir('data'),
            '@grafana/ui$': pkgDir('ui'),
            '@grafana/schema$': pkgDir('schema'),
            '@grafana/e2e-selectors$': pkgDir('e2e-selectors'),
            react: v.react,
            'react-dom': v.reactDom,
          },
    fallback: { fs: false, path: false, os: false, crypto: false, stream: false, util: false },
  },
  plugins: [
    new webpack.DefinePlugin({
      'process.env': JSON.stringify({ NODE_ENV: 'development' }),
      INTMON_HARNESS: JSON.stringify({
        grafana,
        jsxRuntime: v.jsxRuntime,
        packages: { '@grafana/data': version(pkgDir('data')), '@grafana/ui': version(pkgDir('ui')), '@grafana/runtime': version(v.runtime), react: version(v.react) },
      }),
    }),
  ],
  performance: { hints: false },
  stats: 'errors-warnings',
};
