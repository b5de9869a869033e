module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'example-first-service',
  rootDir: __dirname,
};
