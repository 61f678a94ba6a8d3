process.env.JEST_RUN_ID ??= String(process.pid);
/** Two projects: server-side tests in node against a real Postgres, plugin tests in jsdom. */
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'automatic' } }, target: 'es2022' } }];

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
      transform: { '^.+\\.(t|j)sx?$': swc },
      transformIgnorePatterns: ['node_modules/(?!(ol|d3|d3-.*|internmap|delaunator|robust-predicates|marked|uuid)/)'],
      moduleNameMapper: { '\\.(css|scss|sass)$': 'identity-obj-proxy' },
      setupFilesAfterEnv: ['<rootDir>/test/plugin/setup.ts'],
    },
  ],
};
