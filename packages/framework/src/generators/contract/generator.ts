import { generateFiles, joinPathFragments, type Tree } from '@nx/devkit';
import { BootstrapError } from '../../core/errors/errors';
import { templateDir } from '../templates';
import {
  addImport,
  checkBinding,
  contractFile,
  CONTRACTS_DIR,
  CONTRACTS_IMPORT,
  exportFromContracts,
  insertAtMarker,
  MARKERS,
  MANIFEST,
  naming,
  requireHostmesh,
  serviceFile,
  updateManifest,
} from '../workspace';
import type { ContractSchema } from './schema';

/**
 * `nx g @hostmesh/framework:contract <name> [--service a,b] [--binding shm]`: makes sure
 * the contract exists, then gives each using service an injected Client of it, an endpoint
 * `call<Name>()` that calls it, and a dependsOn in hostmesh.json.
 */
export async function contractGenerator(tree: Tree, options: ContractSchema): Promise<void> {
  requireHostmesh(tree);
  const contract = naming(options.name, 'contract');
  const file = joinPathFragments(CONTRACTS_DIR, 'src', `${contract.fileName}.contract.ts`);
  if (!tree.exists(file)) {
    generateFiles(tree, templateDir('service', 'contract-files'), joinPathFragments(CONTRACTS_DIR, 'src'), { ...contract, tmpl: '' });
    exportFromContracts(tree, `${contract.fileName}.contract`);
  }
  const users = (options.service ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const user of users) wire(tree, contract, naming(user, 'service'));
  if (checkBinding(options.binding, 'endpoint')) {
    updateManifest(tree, (services) => {
      const implementing = services[contract.fileName];
      if (!implementing) throw new BootstrapError(`--binding: no service '${contract.fileName}' in ${MANIFEST} implements this contract`);
      implementing.bindings = { ...implementing.bindings, [`${contract.fileName}.*`]: options.binding! };
    });
  }
}

function wire(tree: Tree, contract: ReturnType<typeof naming>, user: ReturnType<typeof naming>): void {
  if (user.fileName === contract.fileName) throw new BootstrapError(`service '${user.fileName}' cannot be a client of its own contract`);
  const path = serviceFile(tree, user);
  const method = `call${contract.className}`;
  addImport(tree, path, '@hostmesh/framework', ['clientOf', 'type Client']);
  addImport(tree, path, CONTRACTS_IMPORT, [contract.className, `type ${contract.className}Api`]);
  insertAtMarker(tree, path, MARKERS.inject, [
    `@inject(clientOf(${contract.className})) private readonly ${contract.propertyName}: Client<${contract.className}Api>,`,
  ]);
  insertAtMarker(
    tree,
    path,
    MARKERS.handlers,
    [
      `/** Calls ${contract.fileName} over whatever mechanism it announces. */`,
      `@Endpoint()`,
      `${method}(): Promise<string> {`,
      `  return this.${contract.propertyName}.hello('${user.fileName}');`,
      '}',
      '',
    ],
    'block',
  );
  const api = contractFile(user);
  if (tree.exists(api)) insertAtMarker(tree, api, MARKERS.api, [`${method}(): Promise<string>;`]);
  updateManifest(tree, (services) => {
    const entry = services[user.fileName];
    if (entry && !(entry.dependsOn ?? []).includes(contract.fileName) && services[contract.fileName]) {
      entry.dependsOn = [...(entry.dependsOn ?? []), contract.fileName];
    }
  });
}

export default contractGenerator;
