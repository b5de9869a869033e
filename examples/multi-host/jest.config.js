module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'example-multi-host',
  rootDir: __dirname,
};
