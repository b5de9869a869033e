import { type Tree } from '@nx/devkit';
import { serviceGenerator } from '../service/generator';
import { endpointGenerator } from './generator';
import { hostmeshWorkspace } from '../workspace.testing';

describe('nx g @hostmesh/framework:endpoint', () => {
  let tree: Tree;
  let read: (path: string) => string;
  beforeEach(async () => {
    ({ tree, read } = await hostmeshWorkspace());
    await serviceGenerator(tree, { name: 'pricing' });
  });

  it('adds the method to the contract, its handler to the service and a unit test', async () => {
    await endpointGenerator(tree, { service: 'pricing', name: 'best-offer', binding: 'uds' });
    expect(read('libs/contracts/src/pricing.contract.ts')).toContain('  bestOffer(input: string): Promise<string>;\n  // hostmesh:api');
    const service = read('services/pricing/src/pricing.service.ts');
    expect(service).toContain(
      "  /** best-offer: answers with its input, for now. */\n  @Endpoint({ binding: 'uds' })\n  async bestOffer(input: string): Promise<string> {\n    return `best-offer: ${input}`;\n  }\n\n  // hostmesh:handlers",
    );
    expect(read('services/pricing/src/best-offer.endpoint.spec.ts')).toContain(
      "await expect(host.client(Pricing).bestOffer('x')).resolves.toBe('best-offer: x');",
    );
  });

  it('refuses an endpoint the service has, a name clients reserve, an unknown service and an events-only binding', async () => {
    await endpointGenerator(tree, { service: 'pricing', name: 'best-offer' });
    await expect(endpointGenerator(tree, { service: 'pricing', name: 'best-offer' })).rejects.toThrow('PricingService already has a method bestOffer');
    await expect(endpointGenerator(tree, { service: 'pricing', name: 'then' })).rejects.toThrow("'then' cannot be an endpoint");
    await expect(endpointGenerator(tree, { service: 'billing', name: 'charge' })).rejects.toThrow("no service 'billing'");
    await expect(endpointGenerator(tree, { service: 'pricing', name: 'charge', binding: 'mqueue' })).rejects.toThrow('--binding mqueue: expected one of');
  });
});
