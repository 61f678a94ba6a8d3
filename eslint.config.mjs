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
