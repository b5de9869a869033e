import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { defineContract } from '../../contracts/contract';
import { Endpoint } from '../../decorators/endpoint.decorator';
import { Service } from '../../decorators/service.decorator';
import { ConnectionLostError } from '../../core/errors/errors';
import type { HostmeshError } from '../../core/errors/hostmesh-error';
import { resolveConfig, transportContext } from '../../config/config';
import { createMeshContainer } from '../../runtime/container';
import { ConsoleLogger } from '../../core/logger';
import { Mesh } from '../../runtime/mesh';
import { ServiceHost } from '../../runtime/service-host';
import { describeTransportConformance } from '../../testing/conformance';
import { startNatsServer, useNatsServer, type NatsServerProcess } from '../../testing/nats-server';
import { sleep } from '../../testing/spawn-service';
import { tempRuntimeDir } from '../../testing/temp-runtime';
import { TransportRegistry } from '../contract/transport-registry';
import { NatsTransport } from './nats.transport';

// A real nats-server on 127.0.0.1 (Debian's `nats-server` package); its URL reaches the
// fixture services through HOSTMESH_NATS_SERVERS in the environment they inherit.
useNatsServer({ beforeAll, afterAll });
describeTransportConformance('nats');

describe('nats configuration', () => {
  it('registers the nats transport only when servers are configured', () => {
    const without = resolveConfig({ logLevel: 'silent' }, {});
    expect(without.transports.nats).toBeUndefined();
    expect(createMeshContainer(without, {}, 'test').get(TransportRegistry).has('nats')).toBe(false);
    // Configured but unreachable: registering must not connect (nothing here is awaited or fails).
    const withServers = resolveConfig({ logLevel: 'silent' }, { HOSTMESH_NATS_SERVERS: 'nats://127.0.0.1:1, nats://127.0.0.1:2' });
    expect(withServers.transports.nats).toEqual({ servers: ['nats://127.0.0.1:1', 'nats://127.0.0.1:2'], heartbeatMs: 500, announceMs: 2000 });
    expect(createMeshContainer(withServers, {}, 'test').get(TransportRegistry).has('nats')).toBe(true);
    expect(resolveConfig({ nats: { servers: ['nats://localhost:4222'], heartbeatMs: 100 } }, { HOSTMESH_NATS_ANNOUNCE_MS: '300' }).transports.nats).toEqual({
      servers: ['nats://localhost:4222'],
      heartbeatMs: 100,
      announceMs: 300,
    });
    expect(() => resolveConfig({ nats: { servers: ' , ' } }, {})).toThrow(/nats\.servers/);
  });
});

interface SleeperApi {
  sleep(ms: number): Promise<number>;
  pid(): number;
}
const Sleeper = defineContract<SleeperApi>('nats-sleeper');
@Service(Sleeper)
class SleeperService implements SleeperApi {
  @Endpoint()
  async sleep(ms: number): Promise<number> {
    // Unref'd: a call left running by a test must not keep jest alive.
    await new Promise((resolve) => setTimeout(resolve, ms).unref());
    return ms;
  }
  @Endpoint()
  pid(): number {
    return process.pid;
  }
}

describe('nats liveness', () => {
  const runtime = tempRuntimeDir();
  let nats: NatsServerProcess | undefined;
  let host: ServiceHost | undefined;
  let mesh: Mesh | undefined;

  afterEach(async () => {
    await mesh?.close(100);
    await host?.stop();
    await nats?.stop();
    mesh = host = nats = undefined;
  }, 20_000);
  afterAll(() => runtime.remove());

  async function deploy(namespace: string, heartbeatMs = 500): Promise<{ url: string }> {
    nats = await startNatsServer();
    const options = { runtimeDir: runtime.path, namespace, logLevel: 'silent' as const, gracePeriodMs: 500, nats: { servers: nats.url, heartbeatMs } };
    host = await ServiceHost.start(SleeperService, { ...options, bindings: { '*': 'nats' } });
    mesh = Mesh.connect(options);
    return { url: nats.url };
  }

  it('fails calls in flight with a retryable ConnectionLostError when the NATS server goes away', async () => {
    await deploy(`gone-${process.pid}`);
    const client = mesh!.client(Sleeper);
    await expect(client.pid()).resolves.toBe(process.pid);
    const inFlight = client
      .$with({ timeoutMs: 20_000 })
      .sleep(10_000)
      .catch((e: unknown) => e);
    await sleep(50);
    const started = Date.now();
    void nats!.stop();
    const error = await inFlight;
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect((error as HostmeshError).retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(3000);
  }, 20_000);

  it('drops a client that stops sending heartbeats (its NATS link died without a goodbye)', async () => {
    const { url } = await deploy(`idle-${process.pid}`, 100);
    const listener = () => (host as unknown as { listeners: Map<string, { describe(): { connections: number } }> }).listeners.get('nats')!;
    const config = resolveConfig({ logLevel: 'silent', nats: { servers: url } }, {});
    const transport = new NatsTransport(config.transports.nats!, transportContext(config, undefined, new ConsoleLogger('test', 'silent')));
    const address = host!.descriptor.listeners.nats!;
    const connection = await transport.connect(address, { maxPayloadBytes: 1 << 20, timeoutMs: 2000 });
    const closed = new Promise<Error | undefined>((resolve) => connection.bind({ onFrame() {}, onProtocolError() {}, onClose: resolve }));
    expect(listener().describe().connections).toBe(1);
    // Silence the client as a crash would: its NATS connection closes, no end-of-stream is sent.
    await (connection as unknown as { nc: { close(): Promise<void> } }).nc.close();
    expect(await closed).toBeInstanceOf(ConnectionLostError);
    const deadline = Date.now() + 6000;
    while (listener().describe().connections > 0 && Date.now() < deadline) await sleep(50);
    expect(listener().describe().connections).toBe(0);
  }, 20_000);

  it('lets a client open a connection to any replica through the service subject (queue group)', async () => {
    const namespace = `replica-${process.pid}`;
    const { url } = await deploy(namespace);
    const config = resolveConfig({ logLevel: 'silent', nats: { servers: url } }, {});
    const transport = new NatsTransport(config.transports.nats!, transportContext(config, undefined, new ConsoleLogger('test', 'silent')));
    const connection = await transport.connect(
      { kind: 'nats', servers: [url], subject: `hm.${namespace}.nats-sleeper` },
      { maxPayloadBytes: 1 << 20, timeoutMs: 2000 },
    );
    expect(connection.peer.kind).toBe('nats');
    connection.bind({ onFrame() {}, onProtocolError() {}, onClose() {} });
    connection.close();
  }, 20_000);
});
