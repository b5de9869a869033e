/**
 * The framework's own CPU cost per request/response (client proxy, codec, framing,
 * routing, promises) over an in-memory loopback, with no kernel in the way.
 *
 *   node dist/micro/framework-overhead.js
 */
import { ClientFactory, ConsoleLogger, defineContract, resolveConfig, type Transport } from '@hostmesh/framework';
import { RouteMetrics, createMeshContainer, inProcessPair, RpcServer, routeIdOf, TransportRegistry } from '@hostmesh/framework/internal';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface EchoApi {
  echo(payload: unknown): unknown;
}
const Echo = defineContract<EchoApi>('micro-echo');

async function main(): Promise<void> {
  const runtimeDir = mkdtempSync(join(tmpdir(), 'hm-micro-'));
  const [clientEnd, serverEnd] = inProcessPair();
  const logger = new ConsoleLogger('micro', 'warn');
  const route = 'micro-echo.echo';
  const server = new RpcServer(
    'micro-echo',
    new Map([
      [
        routeIdOf(route),
        {
          name: route,
          id: routeIdOf(route),
          needsContext: false,
          exposeErrors: false,
          bulkhead: null,
          timeoutMs: 30_000,
          invoke: (args: unknown[]) => args[0],
          metrics: new RouteMetrics(),
        },
      ],
    ]),
    new Map(),
    logger,
    { maxPayloadBytes: 1 << 26, maxConnections: 1, maxInFlightPerConnection: 1 << 20 },
  );
  server.accept(serverEnd);
  const loopback: Transport = {
    kind: 'uds',
    listen: () => Promise.reject(new Error('not used')),
    connect: async () => clientEnd,
  };
  const container = createMeshContainer(resolveConfig({ runtimeDir, logLevel: 'warn' }), {}, 'micro');
  container.rebind(TransportRegistry).toConstantValue({ resolve: () => loopback, kinds: () => ['uds'], has: () => true } as unknown as TransportRegistry);
  const client = container.get(ClientFactory).create(Echo, { address: { kind: 'uds', path: 'loopback' } });

  for (const [label, payload] of [
    ['64 B Buffer', Buffer.alloc(64, 7)],
    ['5-field object', { symbol: 'ACME', price: 12.5, quantity: 100, side: 'buy', at: 1_700_000_000_000 }],
  ] as const) {
    for (let i = 0; i < 200_000; i++) await client.echo(payload);
    const calls = 1_000_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) await client.echo(payload);
    const ns = Number(process.hrtime.bigint() - started) / calls;
    console.log(`${label.padEnd(16)} ${(ns / 1000).toFixed(2)} µs per call, client and service together`);
  }
  rmSync(runtimeDir, { recursive: true, force: true });
  process.exit(0);
}

void main();
