/**
 * Builds the Grafana plugin the way @grafana/create-plugin does: swc-loader, one AMD module
 * (`dist/module.js`) whose shared dependencies (React, @grafana/*, rxjs, emotion, lodash, …) are
 * left to Grafana at runtime, plus plugin.json, img/, README.md and CHANGELOG.md copied beside it.
 */
// @ts-check
const path = require('path');
const CopyWebpackPlugin = require('copy-webpack-plugin');

const root = __dirname;
const pluginJson = require('./plugin.json');
const pkg = require('./package.json');

/** Modules Grafana hands to plugins (create-plugin's list; the jsx runtimes only from Grafana 12.3, so the build does not use them). */
const EXTERNALS = [
  'lodash',
  'jquery',
  'moment',
  'slate',
  'emotion',
  '@emotion/react',
  '@emotion/css',
  'prismjs',
  'slate-plain-serializer',
  '@grafana/slate-react',
  'react',
  'react-dom',
  'react/jsx-runtime',
  'react/jsx-dev-runtime',
  'react-redux',
  'redux',
  'rxjs',
  'react-router',
  'react-router-dom',
  'd3',
  'angular',
  '@grafana/ui',
  '@grafana/runtime',
  '@grafana/data',
  '@grafana/schema',
  'i18next',
];

/** %VERSION% / %TODAY% / %PLUGIN_ID% placeholders in plugin.json and README.md. */
function fillPlaceholders(content) {
  return content
    .toString()
    .replace(/%VERSION%/g, pkg.version)
    .replace(/%TODAY%/g, new Date().toISOString().slice(0, 10))
    .replace(/%PLUGIN_ID%/g, pluginJson.id);
}

/** @type {(env?: Record<string, unknown>) => import('webpack').Configuration} */
/** TypeScript/TSX through swc; also used by the browser test harness (test/browser/harness). */
const SWC_RULE = {
  test: /\.[tj]sx?$/,
  exclude: /node_modules/,
  use: {
    loader: 'swc-loader',
    options: {
      jsc: {
        target: 'es2020',
        parser: { syntax: 'typescript', tsx: true, decorators: false, dynamicImport: true },
        // Classic runtime (React.createElement): Grafana shares `react` with plugins in every
        // version, `react/jsx-runtime` only from 12.3, so an automatic-runtime bundle would not
        // load in Grafana 11.6-12.2. createElement is the same API in React 18 and 19.
        transform: { react: { runtime: 'classic' } },
      },
    },
  },
};

module.exports = (env = {}) => {
  const production = !env.development;
  return {
    context: root,
    mode: production ? 'production' : 'development',
    devtool: production ? 'source-map' : 'eval-source-map',
    entry: { module: './src/plugin/module.ts' },
    externals: [
      ...EXTERNALS,
      // Legacy SDK imports written as "grafana/app/..." resolve to Grafana's own modules.
      ({ request }, callback) => {
        if (request && request.startsWith('grafana/')) {
          return callback(undefined, request.slice('grafana/'.length));
        }
        callback();
      },
    ],
    module: {
      rules: [
        SWC_RULE,
        {
          test: /\.(png|jpe?g|gif|svg)$/,
          type: 'asset/resource',
          generator: { publicPath: `public/plugins/${pluginJson.id}/img/`, outputPath: 'img/', filename: '[hash][ext]' },
        },
      ],
    },
    output: {
      clean: true,
      filename: '[name].js',
      library: { type: 'amd' },
      path: path.resolve(root, 'dist'),
      publicPath: `public/plugins/${pluginJson.id}/`,
      uniqueName: pluginJson.id,
    },
    plugins: [
      new CopyWebpackPlugin({
        patterns: [
          { from: 'plugin.json', to: '.', transform: fillPlaceholders },
          { from: 'src/plugin/README.md', to: 'README.md', transform: fillPlaceholders },
          { from: 'CHANGELOG.md', to: '.' },
          { from: 'src/plugin/img', to: 'img' },
          { from: 'LICENSE', to: '.', noErrorOnMissing: true },
        ],
      }),
    ],
    resolve: {
      extensions: ['.ts', '.tsx', '.js', '.jsx'],
    },
    performance: { hints: false },
  };
};
module.exports.SWC_RULE = SWC_RULE;
