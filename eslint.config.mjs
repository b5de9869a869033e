// The linter is part of `npm test`: typescript-eslint's recommended rules, prettier's formatting
// (checked by `prettier --check`, so eslint-config-prettier turns off what would fight it), and the
// framework's layers, checked by eslint-plugin-boundaries. docs/architecture.md draws the layers.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import boundaries from 'eslint-plugin-boundaries';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const SRC = 'packages/framework/src';

/**
 * The framework's layers, bottom first: each may import the layers below it and nothing above
 * ("nothing reaches up", docs/architecture.md). `core` imports no other layer; a transport
 * imports core, protocol, the transport contract, the kit and its own folder, never another
 * transport. `plugins` is the one list of transport plugins everything above derives from.
 * A forbidden import fails `npm test` with the two layers named.
 */
const LAYERS = [
  'core',
  'protocol',
  'transport-contract',
  'transport-kit',
  'transport',
  'plugins',
  'contracts',
  'metadata',
  'decorators',
  'config',
  'discovery',
  'rpc',
  'binding',
  'client',
  'events',
  'shell',
  'runtime',
];
const FOLDER = { 'transport-contract': 'transports/contract', 'transport-kit': 'transports/kit', transport: 'transports/*' };

const elements = [
  // First match wins: the contract and the kit before the transports.
  ...LAYERS.map((type) => ({
    type,
    pattern: `${SRC}/${FOLDER[type] ?? type}/**`,
    partialMatch: false,
    ...(type === 'transport' ? { capture: ['name'] } : {}),
  })),
];

const policies = LAYERS.map((type, rank) => ({
  from: { element: { type } },
  allow: { to: { element: { types: { anyOf: LAYERS.slice(0, rank + (type === 'transport' ? 0 : 1)) } } } },
}));
// A transport imports its own folder, never another transport's.
policies.push({
  from: { element: { type: 'transport' } },
  allow: { to: { element: { type: 'transport', captured: { name: '{{ from.element.captured.name }}' } } } },
});

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/out-tsc/**', '**/node_modules/**', '**/coverage/**', 'docs/benchmarks/**', 'packages/native/build/**', '**/*.d.ts'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // A `let` read by a closure made before its one assignment cannot be a const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Decorated classes and inversify modules are written as the libraries document them.
      '@typescript-eslint/no-unsafe-declaration-merging': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // The dashboard's page runs in a browser, with uPlot loaded before it.
    files: ['packages/cli/src/dashboard/assets/**/*.js'],
    languageOptions: { globals: { ...globals.browser, uPlot: 'readonly' }, sourceType: 'script' },
  },
  {
    // Decorators receive what TypeScript's own ClassDecorator/MethodDecorator types give them: `Function`.
    files: [`${SRC}/decorators/**`, `${SRC}/metadata/**`],
    rules: { '@typescript-eslint/no-unsafe-function-type': 'off' },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    files: [`${SRC}/**/*.ts`],
    ignores: [`${SRC}/**/*.spec.ts`, `${SRC}/**/fixtures/**`, `${SRC}/testing/**`, `${SRC}/faults/**`, `${SRC}/generators/**`, `${SRC}/security/**`],
    plugins: { boundaries },
    settings: {
      'boundaries/elements': elements,
      // The entry points (src/*.ts) export from every layer; they are not a layer.
      'boundaries/include': [`${SRC}/*/**/*.ts`],
      'import/resolver': { node: { extensions: ['.ts', '.js'] } },
    },
    rules: {
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          policies,
          message:
            'layer rule: {{ from.element.type }} may not import {{ to.element.type }} ({{ dependency.source }}); a layer imports only the layers below it, and a transport no other transport (eslint.config.mjs, docs/architecture.md)',
        },
      ],
      'boundaries/no-unknown-files': 'error',
    },
  },
  prettier,
);
