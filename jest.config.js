// `npm test` runs every project in one jest process so CI gets one summary.
const { existsSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

const projects = ['packages', 'examples', 'tools'].flatMap((group) => {
  const dir = join(__dirname, group);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => join(dir, name, 'jest.config.js'))
    .filter((config) => existsSync(config));
});

// Before any test: the programs the tests drive that no npm package provides; after them all:
// what the tests left in the kernel (jest.global-setup.js, jest.global-teardown.js).
// The run ends with one line naming any test that did not run (jest.skipped-report.js).
module.exports = {
  projects,
  globalSetup: require.resolve('./jest.global-setup.js'),
  globalTeardown: require.resolve('./jest.global-teardown.js'),
  reporters: ['default', require.resolve('./jest.skipped-report.js')],
};
