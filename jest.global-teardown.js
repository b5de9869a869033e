// Runs once after every test (jest's globalTeardown). Services that tests SIGKILL leave their
// segments and doorbells behind, as a crash would: remove those whose owner is dead, exactly
// what `hostmesh doctor --clean` does (never an object of a live process). Then name
// anything else the run created and left, so a test that leaks is seen, not silently kept.
'use strict';
const { kernelObjects, native } = require('./jest.kernel-objects.js');

module.exports = function globalTeardown() {
  const lib = native();
  const before = globalThis.__hostmeshObjectsBefore;
  if (!lib || !before) return;
  lib.removeStaleObjects();
  const left = [...kernelObjects()].filter((name) => !before.has(name));
  if (left.length) process.stderr.write(`\nthe tests left ${left.length} kernel objects behind: ${left.join(', ')}\n`);
};
