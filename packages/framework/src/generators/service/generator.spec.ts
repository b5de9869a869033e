import { readJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { BootstrapError } from '../../core/errors/errors';
import { serviceGenerator } from './generator';
import { hostmeshWorkspace } from '../workspace.testing';

describe('nx g @hostmesh/framework:service', () => {
  let tree: Tree;
  let read: (path: string) => string;
  beforeEach(async () => {
    ({ tree, read } = await hostmeshWorkspace());
  });

  it('creates the service, its contract, tests, nx targets and a manifest entry', async () => {
    await serviceGenerator(tree, { name: 'price-board' });
    const project = readJson(tree, 'services/price-board/project.json');
    expect(Object.keys(project.targets)).toEqual(['build', 'serve', 'test']);
    expect(project.targets.serve).toEqual({
      executor: 'nx:run-commands',
      dependsOn: ['build'],
      // In the manifest's namespace (init named it after the workspace), where `hostmesh ps` looks.
      options: { command: 'node dist/services/price-board/src/main.js', env: { HOSTMESH_NAMESPACE: 'shop' } },
    });
    expect(project.targets.test.options.command).toBe('jest --config services/price-board/jest.config.js');
    const service = read('services/price-board/src/price-board.service.ts');
    expect(service).toContain('@Service(PriceBoard)');
    expect(service).toContain('export class PriceBoardService implements PriceBoardApi');
    expect(service).toContain('@Endpoint()');
    for (const marker of ['// hostmesh:imports', '// hostmesh:inject', '// hostmesh:handlers']) expect(service).toContain(marker);
    expect(read('services/price-board/src/price-board.service.spec.ts')).toContain('createTestHost(PriceBoardService)');
    expect(read('services/price-board/src/price-board.int.spec.ts')).toContain("spawnService(join(__dirname, 'main.ts')");
    expect(read('services/price-board/src/main.ts')).toContain('void bootstrap(PriceBoardService);');
    expect(read('libs/contracts/src/price-board.contract.ts')).toContain("defineContract<PriceBoardApi>('price-board')");
    expect(read('libs/contracts/src/index.ts')).toContain("export * from './price-board.contract';");
    expect(readJson(tree, 'hostmesh.json').services).toEqual({ 'price-board': { entry: 'dist/services/price-board/src/main.js' } });
  });

  it('writes the requested binding into the endpoint decorator', async () => {
    await serviceGenerator(tree, { name: 'pricing', binding: 'uds' });
    expect(read('services/pricing/src/pricing.service.ts')).toContain("@Endpoint({ binding: 'uds' })");
  });

  it('--stream: a streaming endpoint beside hello, iterated by the unit and the cross-process tests', async () => {
    await serviceGenerator(tree, { name: 'pricing', binding: 'uds', stream: true });
    expect(read('libs/contracts/src/pricing.contract.ts')).toContain("defineContract<PricingApi>('pricing', { ticks: { stream: true } });");
    expect(read('services/pricing/src/pricing.service.ts')).toContain(
      "@Endpoint({ binding: 'uds' })\n  async *ticks(input: string, @Ctx() context?: CallContext): AsyncIterable<string> {",
    );
    expect(read('services/pricing/src/ticks.endpoint.spec.ts')).toContain('host.client(Pricing).ticks(');
    expect(read('services/pricing/src/pricing.int.spec.ts')).toContain(
      "for await (const item of mesh.client(Pricing).ticks('Grace')) items.push(item);\n      expect(items).toEqual(['ticks: Grace #1', 'ticks: Grace #2', 'ticks: Grace #3']);\n    } finally {",
    );
    // Without it, no stream anywhere.
    await serviceGenerator(tree, { name: 'billing' });
    expect(read('services/billing/src/billing.int.spec.ts')).not.toContain('for await');
    expect(read('libs/contracts/src/billing.contract.ts')).toContain("defineContract<BillingApi>('billing');");
  });

  it.each([
    ['PricingService', 'invalid service name "PricingService": use kebab-case'],
    ['9lives', 'invalid service name "9lives"'],
    ['a--b', 'invalid service name "a--b"'],
  ])('refuses the name %p', async (name, message) => {
    await expect(serviceGenerator(tree, { name })).rejects.toThrow(message);
  });

  it('refuses a service that exists, and a workspace without init', async () => {
    await serviceGenerator(tree, { name: 'pricing' });
    await expect(serviceGenerator(tree, { name: 'pricing' })).rejects.toThrow("service 'pricing' already exists in services/pricing");
    const bare = createTreeWithEmptyWorkspace();
    await expect(serviceGenerator(bare, { name: 'pricing' })).rejects.toThrow(BootstrapError);
    await expect(serviceGenerator(bare, { name: 'pricing' })).rejects.toThrow('run `nx g @hostmesh/framework:init` first');
  });
});
