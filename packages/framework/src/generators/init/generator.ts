import { addDependenciesToPackageJson, generateFiles, OverwriteStrategy, updateJson, type GeneratorCallback, type Tree } from '@nx/devkit';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { requireWorkspace, workspaceName } from '../workspace';
import { templateDir } from '../templates';
import type { InitSchema } from './schema';

/** What the decorators and inversify need from TypeScript. */
const COMPILER_OPTIONS = {
  target: 'ES2022',
  module: 'node20',
  moduleResolution: 'node16',
  strict: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  useDefineForClassFields: false,
  esModuleInterop: true,
  skipLibCheck: true,
  resolveJsonModule: true,
};

function version(): string {
  return (require('../../../package.json') as { version: string }).version;
}

/** `nx g @hostmesh/framework:init`: hostmesh in an existing nx workspace. Safe to run again. */
export async function initGenerator(tree: Tree, options: InitSchema): Promise<GeneratorCallback> {
  requireWorkspace(tree);
  const hostmesh = version();
  if (tree.exists('tsconfig.base.json')) {
    updateJson(tree, 'tsconfig.base.json', (config: { compilerOptions?: Record<string, unknown> }) => {
      config.compilerOptions = {
        ...COMPILER_OPTIONS,
        ...config.compilerOptions,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        useDefineForClassFields: false,
      };
      return config;
    });
  } else {
    tree.write('tsconfig.base.json', JSON.stringify({ compilerOptions: COMPILER_OPTIONS }, null, 2) + '\n');
  }
  const files: Record<string, unknown> = { namespace: options.namespace ?? workspaceName(tree), tmpl: '' };
  // Run again, init keeps an existing manifest, preset and contracts index as they are.
  generateFiles(tree, templateDir('init'), '.', files, { overwriteStrategy: OverwriteStrategy.KeepExisting });
  const dependencies = { '@hostmesh/framework': hostmesh, '@hostmesh/native': hostmesh, 'reflect-metadata': '0.2.2' };
  const devDependencies = {
    '@hostmesh/cli': hostmesh,
    typescript: '5.9.3',
    jest: '30.5.2',
    '@swc/jest': '0.2.39',
    '@swc/core': '1.16.22',
    '@types/node': '20.19.9',
    '@types/jest': '30.0.0',
  };
  // keepExistingVersions: a workspace that names hostmesh already (file: links to a checkout,
  // tarballs, a version of its own) keeps what it names; nx would otherwise "upgrade" it to ours.
  const install = addDependenciesToPackageJson(tree, dependencies, devDependencies, 'package.json', true);
  // A workspace that has them all installed already (hostmesh linked from a checkout, say) needs no npm install.
  const missing = Object.keys({ ...dependencies, ...devDependencies }).filter((name) => !existsSync(join(tree.root, 'node_modules', name, 'package.json')));
  if (options.skipInstall || missing.length === 0) return () => undefined;
  return install;
}

export default initGenerator;
