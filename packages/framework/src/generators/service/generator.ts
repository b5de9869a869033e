import { generateFiles, joinPathFragments, readJson, type Tree } from '@nx/devkit';
import { BootstrapError } from '../../core/errors/errors';
import { endpointGenerator } from '../endpoint/generator';
import { quoted, streamedItems } from '../stream';
import { templateDir } from '../templates';
import { checkBinding, CONTRACTS_DIR, exportFromContracts, MANIFEST, naming, requireHostmesh, SERVICES_DIR, updateManifest } from '../workspace';
import type { ServiceSchema } from './schema';

/** The streaming endpoint `--stream` adds beside `hello`. */
export const STREAM_EXAMPLE = 'ticks';

/** `nx g @hostmesh/framework:service <name> [--stream]`: a runnable, tested service and its contract. */
export async function serviceGenerator(tree: Tree, options: ServiceSchema): Promise<void> {
  requireHostmesh(tree);
  checkBinding(options.binding, 'endpoint');
  const name = naming(options.name, 'service');
  const root = joinPathFragments(SERVICES_DIR, name.fileName);
  if (tree.exists(root)) throw new BootstrapError(`service '${name.fileName}' already exists in ${root}`);
  const contract = joinPathFragments(CONTRACTS_DIR, 'src', `${name.fileName}.contract.ts`);
  if (tree.exists(contract)) throw new BootstrapError(`a contract '${name.fileName}' already exists in ${contract}: pick another service name`);
  // `nx run <service>:serve` joins the deployment of the workspace's manifest, where `hostmesh ps` and `call` look.
  const namespace = (readJson(tree, MANIFEST) as { namespace?: string }).namespace ?? 'default';
  const stream = options.stream ? { method: STREAM_EXAMPLE, items: quoted(streamedItems(STREAM_EXAMPLE, 'Grace')) } : null;
  const substitutions = { ...name, binding: options.binding ?? 'auto', namespace, stream, tmpl: '' };
  generateFiles(tree, templateDir('service'), '.', substitutions);
  generateFiles(tree, templateDir('service', 'contract-files'), joinPathFragments(CONTRACTS_DIR, 'src'), substitutions);
  exportFromContracts(tree, `${name.fileName}.contract`);
  // The same streaming endpoint `endpoint --stream` writes, with its unit test; the template's cross-process test iterates it too.
  if (stream) await endpointGenerator(tree, { service: name.fileName, name: stream.method, binding: options.binding, stream: true });
  updateManifest(tree, (services) => {
    services[name.fileName] = { entry: `dist/services/${name.fileName}/src/main.js` };
  });
}

export default serviceGenerator;
