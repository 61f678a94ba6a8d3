process.env.JEST_RUN_ID ??= String(process.pid);
/** Two projects: server-side tests in node against a real Postgres, plugin tests in jsdom. */
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'automatic' } }, target: 'es2022' } }];

// @grafana/* 13 depends on packages that ship only ES modules; Jest (below Node 24.9) cannot
// require them untransformed, so the plugin project runs them through swc too.
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
  testTimeout: 60_000,
  projects: [
    {
      displayName: 'server',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['<rootDir>/test/plugin/'],
      transform: { '^.+\\.(t|j)sx?$': swc },
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
    {
      displayName: 'plugin',
      testEnvironment: 'jsdom',
      testMatch: ['<rootDir>/test/plugin/**/*.test.ts?(x)'],
      transform: { '^.+\\.(m|c)?(t|j)sx?$': swc },
      transformIgnorePatterns: [`node_modules/(?!(${ESM_ONLY.join('|')})/)`],
      moduleNameMapper: { '\\.(css|scss|sass)$': 'identity-obj-proxy' },
      setupFilesAfterEnv: ['<rootDir>/test/plugin/setup.ts'],
    },
  ],
};
