// Shared by every project's jest.config.js: swc strips types (tsc -b type-checks),
// keeps legacy decorators and their metadata, and transforms inversify's ESM build.
const swcOptions = require('./packages/framework/swc-options.cjs');

module.exports = {
  testEnvironment: require.resolve('./jest.environment.js'),
  testEnvironmentOptions: { customExportConditions: ['hostmesh-source', 'node', 'require', 'default'] },
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', swcOptions()] },
  transformIgnorePatterns: ['/node_modules/(?!(inversify|@inversifyjs)/)'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  setupFiles: [require.resolve('./jest.setup.js')],
};
