import { joinPathFragments, names, readJson, updateJson, type Tree } from '@nx/devkit';
import { BootstrapError } from '../core/errors/errors';
import { BINDING_REQUESTS, type BindingRequest } from '../metadata/types';
import { pluginOf } from '../plugins/transport-plugins';

/** Where generated code goes in a workspace. */
export const CONTRACTS_DIR = 'libs/contracts';
/** How a service's sources import the contracts library (services/<name>/src/*.ts). */
export const CONTRACTS_IMPORT = '../../../libs/contracts/src';
export const SERVICES_DIR = 'services';
export const MANIFEST = 'hostmesh.json';

/** Marker comments in generated services where other generators add imports, injections, handlers. */
export const MARKERS = {
  imports: '// hostmesh:imports',
  inject: '// hostmesh:inject',
  handlers: '// hostmesh:handlers',
  /** In a service's contract interface (libs/contracts/src/<service>.contract.ts): its methods. */
  api: '// hostmesh:api',
} as const;

/** A service's contract file, where its API interface is. */
export function contractFile(service: Naming): string {
  return joinPathFragments(CONTRACTS_DIR, 'src', `${service.fileName}.contract.ts`);
}

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** A kebab-case name and the spellings generated code uses for it. */
export interface Naming {
  /** kebab-case: file names, service and route names */
  fileName: string;
  /** PascalCase: classes and contract tokens */
  className: string;
  /** camelCase: properties and parameters */
  propertyName: string;
}

/** Checks a generator's name argument; the error says what is allowed. */
export function naming(name: unknown, what: string): Naming {
  if (typeof name !== 'string' || !NAME.test(name) || name.length > 40) {
    throw new BootstrapError(
      `invalid ${what} name ${JSON.stringify(name)}: use kebab-case letters and digits, starting with a letter (e.g. 'pricing' or 'price-changed'), at most 40 characters`,
    );
  }
  const spelled = names(name);
  return { fileName: spelled.fileName, className: spelled.className, propertyName: spelled.propertyName };
}

/** Generators need an nx workspace: a package.json and an nx.json at the root, and not hostmesh's own. */
export function requireWorkspace(tree: Tree): void {
  for (const file of ['package.json', 'nx.json']) {
    if (!tree.exists(file)) throw new BootstrapError(`no nx workspace here: ${file} is missing (run the generator from the root of an nx workspace)`);
  }
  if (isHostmeshRepository(tree)) {
    throw new BootstrapError(
      'this is hostmesh\'s own repository, not a workspace of services: try the generators in a new workspace, made as the README\'s "Your first service" shows ' +
        `(cd .. && npm pack ${tree.root}/packages/{native,framework,cli} && mkdir acme && cd acme && npm init -y && ` +
        `npm install -D nx@23.2.1 @nx/devkit@23.2.1 && echo '{}' > nx.json && npm install ../hostmesh-*.tgz)`,
    );
  }
}

/** The framework's own checkout, where generated services would land among its sources. */
function isHostmeshRepository(tree: Tree): boolean {
  return tree.exists('packages/framework/generators.json') && (readJson(tree, 'package.json') as { name?: string }).name === 'hostmesh';
}

/** init must have run: it creates the manifest and the contracts library. */
export function requireHostmesh(tree: Tree): void {
  requireWorkspace(tree);
  if (!tree.exists(MANIFEST) || !tree.exists(joinPathFragments(CONTRACTS_DIR, 'src/index.ts'))) {
    throw new BootstrapError('hostmesh is not set up in this workspace: run `nx g @hostmesh/framework:init` first');
  }
}

export function serviceFile(tree: Tree, service: Naming): string {
  const path = joinPathFragments(SERVICES_DIR, service.fileName, 'src', `${service.fileName}.service.ts`);
  if (!tree.exists(path))
    throw new BootstrapError(`no service '${service.fileName}': ${path} does not exist (create it with nx g @hostmesh/framework:service ${service.fileName})`);
  return path;
}

/**
 * Inserts code just before a marker comment of a generated file, at the marker's
 * indentation. `lines` mode adds each line that is not there yet (imports); `block` mode
 * adds the whole block unless its first line is already there (a handler, a method).
 * A file without the marker is an error that says what to add by hand.
 */
export function insertAtMarker(tree: Tree, path: string, marker: string, lines: string[], mode: 'lines' | 'block' = 'lines'): void {
  const source = tree.read(path, 'utf-8')!;
  const at = source.indexOf(marker);
  if (at < 0) throw new BootstrapError(`${path} has no '${marker}' comment: add it where generated code may go, or add by hand:\n${lines.join('\n')}`);
  const present = (line: string) => source.split('\n').some((existing) => existing.trim() === line.trim());
  const missing = mode === 'lines' ? lines.filter((line) => !present(line)) : present(lines.find((line) => line.trim())!) ? [] : lines;
  if (missing.length === 0) return;
  const lineStart = source.lastIndexOf('\n', at) + 1;
  const indent = source.slice(lineStart, at);
  const insertion = missing.map((line) => (line.length ? `${indent}${line}\n` : '\n')).join('');
  tree.write(path, source.slice(0, lineStart) + insertion + source.slice(lineStart));
}

/**
 * Imports `names` from `module` in a generated file: into its existing one-line import of
 * that module if there is one, else as a new import at the imports marker.
 */
export function addImport(tree: Tree, path: string, module: string, names: string[]): void {
  const source = tree.read(path, 'utf-8')!;
  const pattern = new RegExp(`^import \\{([^}]*)\\} from '${module.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}';$`, 'm');
  const existing = pattern.exec(source);
  if (!existing) return insertAtMarker(tree, path, MARKERS.imports, [`import { ${names.join(', ')} } from '${module}';`]);
  const present = existing[1]!
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const merged = [...present, ...names.filter((name) => !present.includes(name))];
  if (merged.length === present.length) return;
  tree.write(path, source.replace(pattern, `import { ${merged.join(', ')} } from '${module}';`));
}

/** Adds an export to the contracts library's index, once. */
export function exportFromContracts(tree: Tree, module: string): void {
  const index = joinPathFragments(CONTRACTS_DIR, 'src/index.ts');
  const line = `export * from './${module}';`;
  const source = tree.read(index, 'utf-8') ?? '';
  if (!source.includes(line)) tree.write(index, `${source}${source.endsWith('\n') || source === '' ? '' : '\n'}${line}\n`);
}

export interface ManifestService {
  entry: string;
  dependsOn?: string[];
  bindings?: Record<string, string>;
}

export function updateManifest(tree: Tree, update: (services: Record<string, ManifestService>) => void): void {
  updateJson(tree, MANIFEST, (manifest: { services: Record<string, ManifestService> }) => {
    manifest.services ??= {};
    update(manifest.services);
    return manifest;
  });
}

export function workspaceName(tree: Tree): string {
  const name = (readJson(tree, 'package.json') as { name?: string }).name ?? 'hostmesh';
  return (
    name
      .replace(/^@/, '')
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .slice(0, 64) || 'hostmesh'
  );
}

/**
 * `--binding`, checked against the transport plugins: what they are, not a list written in
 * the schema. Endpoints cannot take a mechanism that carries events only.
 */
export function checkBinding(value: BindingRequest | undefined, purpose: 'endpoint' | 'event'): BindingRequest | undefined {
  if (value === undefined) return undefined;
  const allowed = BINDING_REQUESTS.filter((request) => purpose === 'event' || !pluginOf(request)?.capabilities.eventsOnly);
  if (!allowed.includes(value)) throw new BootstrapError(`--binding ${String(value)}: expected one of ${allowed.join(', ')}`);
  return value;
}
