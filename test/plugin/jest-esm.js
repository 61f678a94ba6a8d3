/**
 * Jest settings the `plugin` project needs to load @grafana/* 13 in jsdom: several of their
 * dependencies ship only ES modules (.mjs files, or ESM .js) and Jest (below Node 24.9) cannot
 * require them untransformed. Spread into the plugin project of jest.config.js:
 *   { displayName: 'plugin', ..., ...require('./test/plugin/jest-esm.js') }
 */
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'automatic' } }, target: 'es2022' } }];

const ESM_ONLY = [
  'ol',
  'd3',
  'd3-.*',
  'internmap',
  'delaunator',
  'robust-predicates',
  'marked',
  'uuid',
  '@react-hookz/web',
  '@ver0/deep-equal',
  'react-calendar',
  'get-user-locale',
  'memoize',
  'mimic-function',
  '@wojtekmaj/date-utils',
];

module.exports = {
  transform: { '^.+\\.(m|c)?(t|j)sx?$': swc },
  transformIgnorePatterns: [`node_modules/(?!(${ESM_ONLY.join('|')})/)`],
};
