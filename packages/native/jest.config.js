module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'native',
  rootDir: __dirname,
  testMatch: ['<rootDir>/lib/**/*.spec.ts'],
};
