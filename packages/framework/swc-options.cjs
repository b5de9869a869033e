// How hostmesh's TypeScript is compiled on the fly, shared by jest (@swc/jest) and by
// child processes of tests (register-ts.cjs): types stripped (tsc -b checks them),
// legacy decorators kept with their design-type metadata, CommonJS output.
'use strict';

module.exports = function swcOptions(filename) {
  return {
    ...(filename ? { filename } : {}),
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  };
};
