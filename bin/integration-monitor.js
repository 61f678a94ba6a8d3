#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to lib/ by `npm install` (prepare) or `npm start`.
// One-shot commands exit explicitly with their code; long-running ones (start, serve, demo) stay up.
require('../lib/src/cli/main.js')
  .main(process.argv.slice(2))
  .then((code) => {
    if (code !== undefined) process.exit(code);
  });
