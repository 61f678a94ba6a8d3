// Lint in the create-plugin style: Grafana's shared config for the plugin (React, hooks), and
// typescript-eslint's recommended rules for everything in TypeScript. Formatting is Prettier's
// (`prettier --check` in `npm run lint`); eslint-config-prettier turns off the rules it owns.
import js from '@eslint/js';
import grafanaConfig from '@grafana/eslint-config';
import prettierConfig from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/', 'lib/', 'dist/', 'dist-sdk/', 'packages/recorder/lib/', 'coverage/', '.data/', 'bench/results/'],
  },
  {
    files: ['**/*.{ts,tsx,js,mjs}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended, prettierConfig],
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // One brace style: a one-line `if (…) return …;` stands alone, a body over several lines takes braces.
      curly: ['error', 'multi-line'],
      // `_`-prefixed parameters document a position a callback must accept.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  // The server's rooms depend one way (docs/schema.md "The store"): api/, db/ and cli/ build on
  // store/ (queries, role transactions, sessions); store/ and the shared modules at src/ (config,
  // contract, secret, log redaction) build on none of them; db/ never reaches into api/, and cli/
  // only through its entry point (api/server: `serve` starts the API).
  ...[
    ['src/db/**/*.ts', '^\\.\\./api(/|$)', 'src/db may not import src/api: what both need belongs in src/store'],
    ['src/cli/**/*.ts', '^\\.\\./api/(?!server$)', 'src/cli may import src/api only through api/server: what both need belongs in src/store'],
    ['src/store/**/*.ts', '^\\.\\./(api|db|cli|demo|plugin)(/|$)', 'src/store is the data layer the others build on: it may not import them'],
    ['src/{config,contract,secret,log-redaction}.ts', '^\\./(api|db|cli)(/|$)', 'the shared modules at src/ may not import src/api, src/db or src/cli (config.ts and api/ imported each other once)'],
  ].map(([files, regex, message]) => ({ files: [files], rules: { 'no-restricted-imports': ['error', { patterns: [{ regex, message }] }] } })),
  {
    // These tests read Grafana's dashboard JSON and rule YAML, which have no types here: `any` is the honest type.
    files: ['test/provisioning/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/plugin/**/*.{ts,tsx}', 'test/plugin/**/*.{ts,tsx}'],
    extends: [grafanaConfig],
    // Grafana's config asks for braces everywhere; the project's single brace style (above) stands.
    rules: { curly: ['error', 'multi-line'] },
  },
);
