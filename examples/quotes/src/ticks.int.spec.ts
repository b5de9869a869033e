import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Mesh, registerErrorType } from '@hostmesh/framework';
import { spawnService, tempRuntimeDir, type SpawnedService } from '@hostmesh/framework/testing';
import { Pricing, UnknownSymbolError } from './contracts';

registerErrorType(UnknownSymbolError);

// The live price feed, from the built service in its own process, as docs/streaming.md shows it.
describe('the pricing service’s live feed (a result stream)', () => {
  const runtime = tempRuntimeDir();
  const namespace = 'quotes-ticks';
  let pricing: SpawnedService;
  let mesh: Mesh;

  beforeAll(async () => {
    pricing = await spawnService(join(__dirname, '..', 'dist', 'pricing.main.js'), {
      env: { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: namespace },
      ready: { service: 'pricing', runtimeDir: runtime.path, namespace },
    });
    mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent' });
  }, 30_000);

  afterAll(async () => {
    await mesh?.close(0);
    await pricing?.stop();
    runtime.remove();
  });

  it('docs/streaming.md quotes its examples verbatim from code that runs', () => {
    const root = join(__dirname, '..', '..', '..');
    const page = readFileSync(join(root, 'docs', 'streaming.md'), 'utf8');
    const quoted = [...page.matchAll(/<!-- verbatim: (\S+) -->\n```ts\n([\s\S]*?)```/g)];
    expect(quoted.length).toBeGreaterThanOrEqual(4);
    for (const [, file, code] of quoted) expect(readFileSync(join(root, file!), 'utf8')).toContain(code);
  });

  it('streams the current prices, then changes as they happen, until the caller breaks out', async () => {
    const pricingClient = mesh.client(Pricing);
    const ticks: Array<{ symbol: string; price: number; at: number }> = [];
    for await (const tick of pricingClient.ticks({ symbols: ['ACME', 'GLOBEX', 'INITECH'] })) {
      ticks.push(tick);
      if (ticks.length === 5) break;
    }
    // The three current prices first, in the order asked, then two changes (one every 700 ms or so).
    expect(ticks.slice(0, 3).map((tick) => tick.symbol)).toEqual(['ACME', 'GLOBEX', 'INITECH']);
    for (const tick of ticks) expect(tick.price).toBeGreaterThan(0);
    expect(ticks[4]!.at).toBeGreaterThanOrEqual(ticks[2]!.at);
    // The service still answers: the cancelled feed left nothing behind.
    await expect(pricingClient.quote({ symbol: 'ACME', quantity: 1 })).resolves.toMatchObject({ symbol: 'ACME' });
  }, 20_000);

  it('fails a feed for an unknown symbol with the typed error, before any item', async () => {
    const error = await (async () => {
      for await (const tick of mesh.client(Pricing).ticks({ symbols: ['NOPE'] })) throw new Error(`unexpected ${tick.symbol}`);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownSymbolError);
  });
});
