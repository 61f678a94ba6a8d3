#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to lib/ by `npm install` (prepare) or `npm start`.
require('../lib/src/cli/main.js').main(process.argv.slice(2));
