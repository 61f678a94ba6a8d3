/**
 * Bundles the browser harness page: React, @grafana/ui/data/runtime and rxjs, exposed to the
 * plugin's dist/module.js through an AMD `define` as Grafana exposes them. Output goes to a temp
 * directory (INTMON_HARNESS_OUT) so nothing lands in the repository.
 */
// @ts-check
const os = require('os');
const path = require('path');
const webpack = require('webpack');
const { SWC_RULE } = require('../../../webpack.config.js');

const root = path.resolve(__dirname, '..', '..', '..');

/** @type {import('webpack').Configuration} */
module.exports = {
  context: root,
  mode: 'development',
  devtool: false,
  target: 'web',
  entry: { harness: './test/browser/harness/main.tsx' },
  output: {
    path: process.env.INTMON_HARNESS_OUT || path.join(os.tmpdir(), 'intmon-harness'),
    filename: '[name].js',
    publicPath: '/',
    clean: true,
  },
  cache: { type: 'filesystem', cacheDirectory: path.join(root, 'node_modules', '.cache', 'intmon-harness-webpack') },
  module: {
    rules: [
      SWC_RULE,
      // @grafana/ui's ESM imports 'ol/...' without extensions; let webpack resolve them.
      { test: /\.m?js$/, resolve: { fullySpecified: false } },
      // Style sheets some dependencies import for side effects are not needed by the harness.
      { test: /\.css$/, type: 'asset/source' },
      { test: /\.(svg|png|woff2?|ttf|eot)$/, type: 'asset/inline' },
    ],
  },
  resolve: {
    extensions: ['.tsx', '.ts', '.js', '.mjs', '.cjs', '.json'],
    fallback: { fs: false, path: false, os: false, crypto: false, stream: false, util: false },
  },
  plugins: [new webpack.DefinePlugin({ 'process.env': JSON.stringify({ NODE_ENV: 'development' }) })],
  performance: { hints: false },
  stats: 'errors-warnings',
};
