module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'framework',
  rootDir: __dirname,
};
