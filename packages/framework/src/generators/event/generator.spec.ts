import { readJson, type Tree } from '@nx/devkit';
import { serviceGenerator } from '../service/generator';
import { eventGenerator } from './generator';
import { hostmeshWorkspace } from '../workspace.testing';

describe('nx g @hostmesh/framework:event', () => {
  let tree: Tree;
  let read: (path: string) => string;
  beforeEach(async () => {
    ({ tree, read } = await hostmeshWorkspace());
  });

  it('creates the event class and an @On handler in each subscriber, with its binding in the manifest', async () => {
    await serviceGenerator(tree, { name: 'monitor' });
    await eventGenerator(tree, { name: 'price-changed', service: 'monitor', priority: 5, binding: 'mqueue' });
    expect(read('libs/contracts/src/events/price-changed.event.ts')).toContain("@EventType('price-changed', { priority: 5 })");
    expect(read('libs/contracts/src/index.ts')).toContain("export * from './events/price-changed.event';");
    const monitor = read('services/monitor/src/monitor.service.ts');
    expect(monitor).toContain('@On(PriceChanged)');
    expect(monitor).toContain('onPriceChanged(event: PriceChanged): void {');
    expect(readJson(tree, 'hostmesh.json').services.monitor.bindings).toEqual({ 'price-changed': 'mqueue' });
  });

  it('gives a --publisher the EventBus and an endpoint that publishes the event, once', async () => {
    await serviceGenerator(tree, { name: 'pricing' });
    await eventGenerator(tree, { name: 'price-changed', publisher: 'pricing' });
    await eventGenerator(tree, { name: 'price-changed', publisher: 'pricing' });
    const pricing = read('services/pricing/src/pricing.service.ts');
    expect(pricing).toMatch(/^import \{[^}]*\bEventBus\b[^}]*\} from '@hostmesh\/framework';$/m);
    expect(pricing).toContain('@inject(EventBus) private readonly events: EventBus,');
    expect(pricing.match(/async publishPriceChanged\(note: string\): Promise<void> \{/g)).toHaveLength(1);
    expect(pricing).toContain('await this.events.publish(new PriceChanged(Date.now(), note));');
    // Clients of pricing see it in the contract, once.
    expect(read('libs/contracts/src/pricing.contract.ts').match(/publishPriceChanged\(note: string\): Promise<void>;/g)).toHaveLength(1);
  });

  it('refuses a --publisher that is not a service', async () => {
    await expect(eventGenerator(tree, { name: 'tick', publisher: 'nobody' })).rejects.toThrow(/nobody/);
  });

  it('refuses a priority outside 0-31', async () => {
    await expect(eventGenerator(tree, { name: 'tick', priority: 40 })).rejects.toThrow('--priority must be an integer from 0 to 31, got 40');
  });
});
