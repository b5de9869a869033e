// Lets child processes spawned by tests run TypeScript sources directly:
//   node -r @hostmesh/framework/register-ts --conditions=hostmesh-source child.ts
// swc strips the types (tsc -b checks them) and keeps legacy decorators with metadata,
// exactly as the jest transform does, so a child runs the same code the tests see.
'use strict';
const fs = require('node:fs');
const { transformSync } = require('@swc/core');

const options = (filename) => ({
  filename,
  jsc: {
    target: 'es2022',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
});

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), options(filename));
  module._compile(code, filename);
};
