import { joinPathFragments, type Tree } from '@nx/devkit';
import { BootstrapError } from '../../core/errors/errors';
import { isCallableName } from '../../metadata/explorer';
import {
  addImport,
  checkBinding,
  contractFile,
  CONTRACTS_IMPORT,
  insertAtMarker,
  MARKERS,
  naming,
  requireHostmesh,
  serviceFile,
  SERVICES_DIR,
} from '../workspace';
import { declareStream, quoted, streamedItems } from '../stream';
import type { EndpointSchema } from './schema';

/**
 * `nx g @hostmesh/framework:endpoint <service> <name> [--binding shm] [--stream]`: the method in
 * the service's contract interface (so every client has it, typed), its @Endpoint handler in the
 * service class, and a unit test that calls it through hostmesh's codec and rpc layer. `--stream`
 * makes it an async generator, declared `{ stream: true }` in the contract so clients iterate it.
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
  if (new RegExp(`^\\s*(?:(?:public|private|protected)\\s+)?(?:async\\s*)?\\*?\\s*${method}\\(`, 'm').test(source))
    throw new BootstrapError(`${service.className}Service already has a method ${method} (${path})`);

  if (options.stream) {
    declareStream(tree, contract, `${service.className}Api`, method);
    addImport(tree, path, '@hostmesh/framework', ['Ctx', 'type CallContext']);
  }
  insertAtMarker(tree, contract, MARKERS.api, [`${method}(input: string): ${options.stream ? 'AsyncIterable<string>' : 'Promise<string>'};`]);
  const decorator = `@Endpoint(${binding && binding !== 'auto' ? `{ binding: '${binding}' }` : ''})`;
  // The first line names it: insertAtMarker adds a block once, recognised by its first line.
  const handler = options.stream
    ? [
        `/** ${endpoint.fileName}: streams a few items about its input, for now. */`,
        decorator,
        `async *${method}(input: string, @Ctx() context?: CallContext): AsyncIterable<string> {`,
        '  // Stops once the caller cancels, times out or goes away: return() reaches a generator only at a yield, the abort at once.',
        '  for (let n = 1; n <= 3 && !context?.signal.aborted; n++) {',
        `    yield \`${endpoint.fileName}: \${input} #\${n}\`;`,
        '  }',
        '}',
        '',
      ]
    : [
        `/** ${endpoint.fileName}: answers with its input, for now. */`,
        decorator,
        `async ${method}(input: string): Promise<string> {`,
        `  return \`${endpoint.fileName}: \${input}\`;`,
        '}',
        '',
      ];
  insertAtMarker(tree, path, MARKERS.handlers, handler, 'block');
  const client = `host.client(${service.className}).${method}('x')`;
  const test = options.stream
    ? [
        `  it('streams', async () => {`,
        `    const host = await createTestHost(${service.className}Service);`,
        '    const items: string[] = [];',
        `    for await (const item of ${client}) items.push(item);`,
        `    expect(items).toEqual([${quoted(streamedItems(endpoint.fileName, 'x'))}]);`,
        '    await host.stop();',
        '  });',
      ]
    : [
        `  it('answers', async () => {`,
        `    const host = await createTestHost(${service.className}Service);`,
        `    await expect(${client}).resolves.toBe('${endpoint.fileName}: x');`,
        '    await host.stop();',
        '  });',
      ];
  const spec = joinPathFragments(SERVICES_DIR, service.fileName, 'src', `${endpoint.fileName}.endpoint.spec.ts`);
  tree.write(
    spec,
    [
      "import { createTestHost } from '@hostmesh/framework/testing';",
      `import { ${service.className} } from '${CONTRACTS_IMPORT}';`,
      `import { ${service.className}Service } from './${service.fileName}.service';`,
      '',
      `describe('${service.fileName}.${method}', () => {`,
      ...test,
      '});',
      '',
    ].join('\n'),
  );
}

export default endpointGenerator;
