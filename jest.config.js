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

module.exports = { projects };
