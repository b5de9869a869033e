import { readJson, type Tree } from '@nx/devkit';
import { serviceGenerator } from '../service/generator';
import { contractGenerator } from './generator';
import { hostmeshWorkspace } from '../workspace.testing';

describe('nx g @hostmesh/framework:contract', () => {
  let tree: Tree;
  let read: (path: string) => string;
  beforeEach(async () => {
    ({ tree, read } = await hostmeshWorkspace());
  });

  it('wires a client of the contract into the services that use it, with a call endpoint and a dependency', async () => {
    await serviceGenerator(tree, { name: 'pricing' });
    await serviceGenerator(tree, { name: 'monitor' });
    await contractGenerator(tree, { name: 'pricing', service: 'monitor', binding: 'shm' });
    const monitor = read('services/monitor/src/monitor.service.ts');
    expect(monitor).toContain('@inject(clientOf(Pricing)) private readonly pricing: Client<PricingApi>,');
    expect(monitor).toContain('callPricing(): Promise<string> {');
    // One import per module: the new names join the generated imports.
    expect(monitor).toContain("import { Endpoint, inject, LOGGER, type Logger, Service, clientOf, type Client } from '@hostmesh/framework';");
    expect(monitor).toContain("import { Monitor, type MonitorApi, Pricing, type PricingApi } from '../../../libs/contracts/src';");
    expect(monitor).toContain("return this.pricing.hello('monitor');");
    expect(read('libs/contracts/src/monitor.contract.ts')).toContain('callPricing(): Promise<string>;');
    const services = readJson(tree, 'hostmesh.json').services;
    expect(services.monitor.dependsOn).toEqual(['pricing']);
    expect(services.pricing.bindings).toEqual({ 'pricing.*': 'shm' });
    // Wiring twice changes nothing.
    await contractGenerator(tree, { name: 'pricing', service: 'monitor' });
    expect(read('services/monitor/src/monitor.service.ts')).toBe(monitor);
  });

  it('creates a contract nobody implements yet', async () => {
    await contractGenerator(tree, { name: 'billing' });
    expect(read('libs/contracts/src/billing.contract.ts')).toContain("defineContract<BillingApi>('billing')");
  });

  it('says which service is missing', async () => {
    await expect(contractGenerator(tree, { name: 'billing', service: 'ghost' })).rejects.toThrow("no service 'ghost'");
  });
});
