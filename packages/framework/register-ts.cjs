// Lets child processes spawned by tests run TypeScript sources directly:
//   node -r @hostmesh/framework/register-ts --conditions=hostmesh-source child.ts
// It compiles exactly as the jest transform does, so a child runs the code the tests see.
'use strict';
const fs = require('node:fs');
const { transformSync } = require('@swc/core');
const swcOptions = require('./swc-options.cjs');

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), swcOptions(filename));
  module._compile(code, filename);
};
