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

  it('--stream: an async generator, declared to stream in the contract, and a test that iterates it', async () => {
    await endpointGenerator(tree, { service: 'pricing', name: 'best-offers', stream: true });
    const contract = read('libs/contracts/src/pricing.contract.ts');
    expect(contract).toContain('  bestOffers(input: string): AsyncIterable<string>;\n  // hostmesh:api');
    expect(contract).toContain("export const Pricing = defineContract<PricingApi>('pricing', { bestOffers: { stream: true } });");
    const service = read('services/pricing/src/pricing.service.ts');
    expect(service).toContain("import { Endpoint, inject, LOGGER, type Logger, Service, Ctx, type CallContext } from '@hostmesh/framework';");
    expect(service).toContain('  async *bestOffers(input: string, @Ctx() context?: CallContext): AsyncIterable<string> {\n');
    expect(service).toContain('for (let n = 1; n <= 3 && !context?.signal.aborted; n++) {\n      yield `best-offers: ${input} #${n}`;');
    const spec = read('services/pricing/src/best-offers.endpoint.spec.ts');
    expect(spec).toContain("for await (const item of host.client(Pricing).bestOffers('x')) items.push(item);");
    expect(spec).toContain("expect(items).toEqual(['best-offers: x #1', 'best-offers: x #2', 'best-offers: x #3']);");

    // A second one joins the declarations; a plain endpoint leaves them alone; an async * method counts as one the service has.
    await endpointGenerator(tree, { service: 'pricing', name: 'ticks', stream: true });
    await endpointGenerator(tree, { service: 'pricing', name: 'quote' });
    expect(read('libs/contracts/src/pricing.contract.ts')).toContain(
      "defineContract<PricingApi>('pricing', { bestOffers: { stream: true }, ticks: { stream: true } });",
    );
    await expect(endpointGenerator(tree, { service: 'pricing', name: 'ticks', stream: true })).rejects.toThrow('PricingService already has a method ticks');
  });

  it('refuses an endpoint the service has, a name clients reserve, an unknown service and an events-only binding', async () => {
    await endpointGenerator(tree, { service: 'pricing', name: 'best-offer' });
    await expect(endpointGenerator(tree, { service: 'pricing', name: 'best-offer' })).rejects.toThrow('PricingService already has a method bestOffer');
    await expect(endpointGenerator(tree, { service: 'pricing', name: 'then' })).rejects.toThrow("'then' cannot be an endpoint");
    await expect(endpointGenerator(tree, { service: 'billing', name: 'charge' })).rejects.toThrow("no service 'billing'");
    await expect(endpointGenerator(tree, { service: 'pricing', name: 'charge', binding: 'mqueue' })).rejects.toThrow('--binding mqueue: expected one of');
  });
});
