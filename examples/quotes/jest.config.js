module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'example-quotes',
  rootDir: __dirname,
};
