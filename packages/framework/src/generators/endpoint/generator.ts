import { joinPathFragments, type Tree } from '@nx/devkit';
import { BootstrapError } from '../../core/errors/errors';
import { isCallableName } from '../../metadata/explorer';
import { checkBinding, contractFile, CONTRACTS_IMPORT, insertAtMarker, MARKERS, naming, requireHostmesh, serviceFile, SERVICES_DIR } from '../workspace';
import type { EndpointSchema } from './schema';

/**
 * `nx g @hostmesh/framework:endpoint <service> <name> [--binding shm]`: the method in the
 * service's contract interface (so every client has it, typed), its @Endpoint handler in the
 * service class, and a unit test that calls it through hostmesh's codec and rpc layer.
 */
export async function endpointGenerator(tree: Tree, options: EndpointSchema): Promise<void> {
  requireHostmesh(tree);
  const binding = checkBinding(options.binding, 'endpoint');
  const service = naming(options.service, 'service');
  const endpoint = naming(options.name, 'endpoint');
  const method = endpoint.propertyName;
  if (!isCallableName(method)) throw new BootstrapError(`'${method}' cannot be an endpoint: clients and runtimes use that name themselves`);
  const path = serviceFile(tree, service);
  const contract = contractFile(service);
  if (!tree.exists(contract)) throw new BootstrapError(`no contract for '${service.fileName}': ${contract} does not exist`);
  const source = tree.read(path, 'utf-8')!;
  if (new RegExp(`^\\s*(?:(?:public|private|protected)\\s+)?(?:async\\s+)?${method}\\(`, 'm').test(source))
    throw new BootstrapError(`${service.className}Service already has a method ${method} (${path})`);

  insertAtMarker(tree, contract, MARKERS.api, [`${method}(input: string): Promise<string>;`]);
  insertAtMarker(
    tree,
    path,
    MARKERS.handlers,
    [
      // The first line names it: insertAtMarker adds a block once, recognised by its first line.
      `/** ${endpoint.fileName}: answers with its input, for now. */`,
      `@Endpoint(${binding && binding !== 'auto' ? `{ binding: '${binding}' }` : ''})`,
      `async ${method}(input: string): Promise<string> {`,
      `  return \`${endpoint.fileName}: \${input}\`;`,
      '}',
      '',
    ],
    'block',
  );
  const spec = joinPathFragments(SERVICES_DIR, service.fileName, 'src', `${endpoint.fileName}.endpoint.spec.ts`);
  tree.write(
    spec,
    [
      "import { createTestHost } from '@hostmesh/framework/testing';",
      `import { ${service.className} } from '${CONTRACTS_IMPORT}';`,
      `import { ${service.className}Service } from './${service.fileName}.service';`,
      '',
      `describe('${service.fileName}.${method}', () => {`,
      `  it('answers', async () => {`,
      `    const host = await createTestHost(${service.className}Service);`,
      `    await expect(host.client(${service.className}).${method}('x')).resolves.toBe('${endpoint.fileName}: x');`,
      '    await host.stop();',
      '  });',
      '});',
      '',
    ].join('\n'),
  );
}

export default endpointGenerator;
