import { type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { declareStream } from './stream';

describe('declareStream', () => {
  let tree: Tree;
  const FILE = 'pricing.contract.ts';
  const declare = (source: string, method = 'ticks') => {
    tree.write(FILE, source);
    declareStream(tree, FILE, 'PricingApi', method);
    return tree.read(FILE, 'utf-8');
  };
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
  });

  it('creates the declarations of a contract without them', () => {
    expect(declare("export const Pricing = defineContract<PricingApi>('pricing');\n")).toBe(
      "export const Pricing = defineContract<PricingApi>('pricing', { ticks: { stream: true } });\n",
    );
  });

  it('adds an entry to declarations on one line, and to the end of those one a line, comments and all', () => {
    expect(declare("export const Pricing = defineContract<PricingApi>('pricing', { feed: { stream: true } });\n")).toBe(
      "export const Pricing = defineContract<PricingApi>('pricing', { feed: { stream: true }, ticks: { stream: true } });\n",
    );
    expect(
      declare("export const Pricing = defineContract<PricingApi>('pricing', {\n  // quotes\n  feed: { stream: true },\n  count: { stream: true }\n});\n"),
    ).toBe(
      "export const Pricing = defineContract<PricingApi>('pricing', {\n  // quotes\n  feed: { stream: true },\n  count: { stream: true },\n  ticks: { stream: true },\n});\n",
    );
  });

  it('lays declarations out one a line past the print width, as prettier would', () => {
    const long = ['quotesOfTheDay', 'bestOffersNearby', 'priceChangesLive', 'ordersInFlight'].map((name) => `${name}: { stream: true }`);
    expect(declare(`export const Pricing = defineContract<PricingApi>('pricing', { ${long.join(', ')} });\n`)).toBe(
      `export const Pricing = defineContract<PricingApi>('pricing', {\n${[...long, 'ticks: { stream: true }'].map((entry) => `  ${entry},\n`).join('')}});\n`,
    );
  });

  it('leaves an endpoint declared already as it is', () => {
    const source = "export const Pricing = defineContract<PricingApi>('pricing', { ticks: { stream: true } });\n";
    expect(declare(source)).toBe(source);
  });

  it('asks for the entry by hand in a contract of another shape', () => {
    expect(() => declare("export const Pricing = defineContract('pricing', { quote: { args: [Quote] } });\n")).toThrow(
      "pricing.contract.ts: no defineContract<PricingApi>('…') or defineContract<PricingApi>('…', { … }) to declare ticks in: add ticks: { stream: true } to its declarations by hand",
    );
    expect(() => declare('export const Pricing = defineContract<PricingApi>(NAME);\n')).toThrow('add ticks: { stream: true }');
  });
});
