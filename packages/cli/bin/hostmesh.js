#!/usr/bin/env node
// The `hostmesh` command. Kept in plain JS (and committed executable) so the link npm makes
// at install time works before anything is built; the CLI itself is compiled TypeScript.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const built = join(__dirname, '..', 'dist', 'bin', 'hostmesh.js');
if (!existsSync(built)) {
  process.stderr.write('hostmesh: the CLI is not built yet: run `npm run build` (tsc -b) in the repository first\n');
  process.exit(1);
}
require(built);
