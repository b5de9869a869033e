import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from '../contracts/client';
import { HostmeshError } from '../core/errors/hostmesh-error';
import {
  CallAbortedError,
  CallTimeoutError,
  ConnectionLostError,
  PayloadTooLargeError,
  QueueFullError,
  InternalError,
  RemoteError,
  RouteNotFoundError,
  ServiceStoppingError,
  ServiceUnavailableError,
  TooManyConnectionsError,
} from '../core/errors/errors';
import type { TransportKind } from '../metadata/types';
import { FrameKind, HEADER_BYTES, writeHeader } from '../protocol/frame';
import { Mesh } from '../runtime/mesh';
import type { MeshOptions } from '../config/config';
import type { ServiceDescriptor } from '../discovery/descriptor';
import { ServiceHost } from '../runtime/service-host';
import { Conformance, ConformanceBlob, ConformancePing, OutOfStockError, type ConformanceApi } from './fixtures/conformance.contract';
import { pongListener } from './fixtures/pong-listener';
import { rawChannelFactory } from './raw-channel';
import { pluginOf } from '../plugins/transport-plugins';
import { sleep, spawnInWorker, spawnService, type SpawnedService } from './spawn-service';
import { eventually } from './eventually';
import { tempRuntimeDir } from './temp-runtime';
import { describeStreamCases } from './stream-conformance';

const FIXTURE = join(__dirname, 'fixtures', `conformance.main${__filename.endsWith('.ts') ? '.ts' : '.js'}`);
const SERVER_MAX_PAYLOAD = 8 * 1024 * 1024;

interface Deployment {
  server: SpawnedService;
  mesh: Mesh;
  client: Client<ConformanceApi>;
  descriptor: ServiceDescriptor;
  namespace: string;
}

/**
 * The behaviour every transport must show, against a real service in a child process:
 * request/response, binary and 1 MiB payloads, remote errors, unknown routes, timeouts and
 * cancellation, size limits, events both ways, malformed and truncated frames, a peer that
 * dies mid-call and a service that is not there. Every transport runs this same suite.
 */
export interface ConformanceOptions {
  /** `events` for one-way mechanisms (message queues): only the event cases apply. */
  cases?: 'all' | 'events';
  /** Shown after the transport's name in the suite's title (e.g. `over TLS`). */
  label?: string;
  /** More environment for the spawned service (TLS files, HOSTMESH_TCP_HOST, …). */
  serverEnv?: NodeJS.ProcessEnv;
  /** Options of every client and in-process service the suite creates (`tls`, `tcp.host`, …). */
  meshOptions?: MeshOptions;
  /** A command the service is started under, e.g. `['ip', 'netns', 'exec', 'hm123a']`. */
  spawnPrefix?: string[];
}

export function describeTransportConformance(kind: TransportKind, options: ConformanceOptions = {}): void {
  const all = (options.cases ?? 'all') === 'all';
  // Cases that do not apply to a mechanism are not defined at all (not skipped).
  const absent = (() => undefined) as unknown as typeof it;
  const rpcIt = all ? it : absent;
  const rpcDescribe = all ? describe : (absent as unknown as typeof describe);
  const eventsOnlyIt = all ? absent : it;
  const extraMesh = options.meshOptions ?? {};
  const spawnExtra = { prefix: options.spawnPrefix };
  // A mechanism between threads of one process is tested against a service in a worker thread.
  const start = pluginOf(kind)?.capabilities.sameProcessOnly ? spawnInWorker : spawnService;
  // Raw bytes from the client's side: its TLS files and options (the kind's plugin announces the channel).
  const rawChannel = rawChannelFactory(kind, extraMesh);
  describe(`the ${kind} transport${options.label ? ` ${options.label}` : ''}${all ? '' : ' (event cases)'}`, () => {
    const runtime = tempRuntimeDir();
    const deployments: Deployment[] = [];
    const hosts: ServiceHost[] = [];
    let main: Deployment;

    async function deploy(namespace: string, meshOptions: Parameters<typeof Mesh.connect>[0] = {}, env: NodeJS.ProcessEnv = {}): Promise<Deployment> {
      const server = await start(FIXTURE, {
        env: {
          HOSTMESH_RUNTIME_DIR: runtime.path,
          HOSTMESH_NAMESPACE: namespace,
          HOSTMESH_BINDINGS: JSON.stringify({ '*': kind }),
          HOSTMESH_LOG_LEVEL: 'info',
          ...options.serverEnv,
          ...env,
        },
        ready: { service: 'conformance', runtimeDir: runtime.path, namespace },
        ...spawnExtra,
      });
      const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent', ...extraMesh, ...meshOptions });
      const [descriptor] = await mesh.registry.lookup('conformance');
      const deployment = { server, mesh, client: mesh.client(Conformance), descriptor: descriptor!, namespace };
      deployments.push(deployment);
      return deployment;
    }

    beforeAll(async () => {
      main = await deploy(`main-${process.pid}`);
    }, 30_000);

    afterAll(async () => {
      for (const host of hosts) await host.stop();
      for (const { mesh, server } of deployments) {
        await server.stop();
        // Durable event queues outlive their services by design; these belong to the test.
        await mesh.registry.purgeSubscriptions();
        await mesh.close(100);
      }
      runtime.remove();
    }, 30_000);

    it(`announces its bindings on ${kind}`, () => {
      const bindings = all ? main.descriptor.routes.map((route) => route.binding) : main.descriptor.subscriptions.map((s) => s.binding);
      expect(bindings.length).toBeGreaterThan(0);
      expect(bindings).toEqual(bindings.map(() => kind));
      expect(main.descriptor.listeners[kind]).toBeDefined();
    });

    rpcIt('answers a request with the value the handler returned', async () => {
      await expect(main.client.add(2, 40)).resolves.toBe(42);
      await expect(main.client.echo({ symbol: 'ACME', nested: { list: [1, 'two', null] } })).resolves.toEqual({
        symbol: 'ACME',
        nested: { list: [1, 'two', null] },
      });
    });

    rpcIt('matches every reply to its request when many calls are in flight', async () => {
      const values = Array.from({ length: 500 }, (_, i) => ({ i, text: `call ${i}` }));
      const replies = await Promise.all(values.map((value) => main.client.echo(value)));
      expect(replies).toEqual(values);
    });

    rpcIt(
      `carries Buffers and typed arrays as binary, ${extraMesh.plainMsgpack ? 'as their bytes (plain msgpack has no typed arrays)' : 'with their types'}`,
      async () => {
        const value = { buffer: Buffer.from([0, 1, 2, 255]), floats: new Float64Array([1.5, -2]), ints: new Int32Array([-7]) };
        const reply = (await main.client.echo(value)) as typeof value;
        expect(reply.buffer).toBeInstanceOf(Uint8Array);
        expect([...reply.buffer]).toEqual([0, 1, 2, 255]);
        if (extraMesh.plainMsgpack) {
          expect(reply.floats).toEqual(Buffer.from(value.floats.buffer));
          expect(reply.ints).toEqual(Buffer.from(value.ints.buffer));
          return;
        }
        expect(reply.floats).toBeInstanceOf(Float64Array);
        expect([...reply.floats]).toEqual([1.5, -2]);
        expect(reply.ints).toBeInstanceOf(Int32Array);
      },
    );

    rpcIt('round-trips a 1 MiB payload byte for byte, both ways', async () => {
      const payload = randomBytes(1024 * 1024);
      const reply = (await main.client.echo(payload)) as Buffer;
      expect(Buffer.compare(Buffer.from(reply), payload)).toBe(0);
      const generated = await main.client.bytes(1024 * 1024, 0xab);
      expect(generated.length).toBe(1024 * 1024);
      expect(generated.every((byte) => byte === 0xab)).toBe(true);
    });

    rpcIt("carries the caller's headers and remaining deadline to the handler's CallContext (frame metadata)", async () => {
      const answer = await main.client.$with({ timeoutMs: 5_000, headers: { tenant: 'acme', tries: 2 } }).context('tenant');
      expect(answer.header).toBe('acme');
      expect(answer.remainingMs).toBeGreaterThan(0);
      expect(answer.remainingMs).toBeLessThanOrEqual(5_000);
      await expect(main.client.$with({ headers: { tries: 2 } }).context('tries')).resolves.toMatchObject({ header: 2 });
      // A caller that sets no timeout sends no deadline: the service takes the endpoint's own (the default, 5 s).
      const plain = await main.client.context('tenant');
      expect(plain.header).toBeNull();
      expect(plain.remainingMs).toBeGreaterThan(4_000);
      expect(plain.remainingMs).toBeLessThanOrEqual(5_000);
    });

    rpcIt('delivers a registered error type as an instance of its class', async () => {
      const error = await main.client.fail('typed').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OutOfStockError);
      expect(error).toMatchObject({ name: 'OutOfStockError', message: 'ACME is out of stock', code: 'OUT_OF_STOCK', retryable: true });
    });

    rpcIt('delivers errors meant for callers as typed errors keeping name, message, code and retryable', async () => {
      const coded = await main.client.fail('coded').catch((e: unknown) => e);
      expect(coded).toBeInstanceOf(RemoteError);
      expect(coded).toMatchObject({ name: 'Error', message: 'quota exceeded', code: 'QUOTA_EXCEEDED', retryable: true });
      const framework = await main.client.fail('framework').catch((e: unknown) => e);
      expect(framework).toBeInstanceOf(ServiceStoppingError);
      expect(framework).toMatchObject({ code: 'SERVICE_STOPPING', retryable: true, message: 'pretending to stop' });
    });

    rpcIt('answers an unexpected handler error with InternalError naming the call, not its internals', async () => {
      const plain = await main.client.fail('plain').catch((e: unknown) => e);
      expect(plain).toBeInstanceOf(InternalError);
      expect(plain).toMatchObject({ code: 'INTERNAL', retryable: false, data: { route: 'conformance.fail', callId: expect.any(Number) } });
      expect((plain as Error).message).toMatch(
        /^conformance\.fail failed with an unexpected TypeError \(call \d+\): the log of 'conformance' has the details$/,
      );
      expect((plain as Error).message).not.toContain('plain failure');
      const thrownString = await main.client.fail('string').catch((e: unknown) => e);
      expect(thrownString).toBeInstanceOf(InternalError);
      expect((thrownString as Error).message).toContain('an unexpected string');
      expect((thrownString as Error).message).not.toContain('a bare string');
    });

    rpcIt('rejects a call to an unknown endpoint with RouteNotFoundError naming it', async () => {
      const untyped = main.client as unknown as { noSuchEndpoint(): Promise<unknown> };
      const error = await untyped.noSuchEndpoint().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RouteNotFoundError);
      expect((error as Error).message).toContain('noSuchEndpoint');
      // …and which endpoints there are, so a typo is seen at once.
      expect((error as Error).message).toMatch(/its endpoints: .*\badd\b.*\becho\b/);
      await expect(main.client.add(1, 1)).resolves.toBe(2);
    });

    rpcIt('times out a slow call with CallTimeoutError and tells the service to cancel it', async () => {
      const started = Date.now();
      const error = await main.client
        .$with({ timeoutMs: 100 })
        .sleep(5000, 'timed-out')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CallTimeoutError);
      expect((error as HostmeshError).retryable).toBe(true);
      expect(Date.now() - started).toBeLessThan(3000);
      await eventually(async () => expect(await main.client.cancelled()).toContain('timed-out'));
      await expect(main.client.add(2, 2)).resolves.toBe(4);
    });

    rpcIt('cancels a call through its AbortSignal, at the caller and at the service', async () => {
      const controller = new AbortController();
      const call = main.client.$with({ signal: controller.signal }).sleep(5000, 'aborted');
      setTimeout(() => controller.abort(), 50);
      await expect(call).rejects.toBeInstanceOf(CallAbortedError);
      await eventually(async () => expect(await main.client.cancelled()).toContain('aborted'));
      const already = new AbortController();
      already.abort();
      await expect(main.client.$with({ signal: already.signal }).add(1, 2)).rejects.toBeInstanceOf(CallAbortedError);
    });

    rpcIt("refuses a request over the caller's limit with PayloadTooLargeError before sending anything", async () => {
      const small = Mesh.connect({
        ...extraMesh,
        runtimeDir: main.mesh.config.runtimeDir,
        namespace: main.namespace,
        logLevel: 'silent',
        maxPayloadBytes: 64 * 1024,
      });
      try {
        const client = small.client(Conformance);
        await expect(client.add(1, 2)).resolves.toBe(3);
        const before = await main.client.calls();
        await expect(client.echo(Buffer.alloc(128 * 1024))).rejects.toBeInstanceOf(PayloadTooLargeError);
        // The same connection keeps working, and the refused call never reached the service.
        await expect(client.add(3, 4)).resolves.toBe(7);
        expect(await main.client.calls()).toBe(before + 1);
      } finally {
        await small.close();
      }
    });

    rpcIt("answers a response over the service's limit with PayloadTooLargeError", async () => {
      const error = await main.client.bytes(SERVER_MAX_PAYLOAD + 1, 1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PayloadTooLargeError);
      await expect(main.client.add(5, 5)).resolves.toBe(10);
    });

    rpcDescribe('with limits of one connection and two running calls per connection', () => {
      let limited: Deployment;
      beforeAll(async () => {
        limited = await deploy(`limits-${process.pid}`, {}, { HOSTMESH_MAX_CONNECTIONS: '1', HOSTMESH_MAX_IN_FLIGHT: '2' });
      }, 30_000);

      it('answers a call beyond the running limit with QueueFullError, and the next calls normally', async () => {
        const running = [limited.client.sleep(300, 'limit-a'), limited.client.sleep(300, 'limit-b')];
        const refused = await limited.client.add(1, 1).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(QueueFullError);
        expect(refused).toMatchObject({ retryable: true, message: expect.stringContaining('maxInFlightPerConnection') });
        await expect(Promise.all(running)).resolves.toEqual([300, 300]);
        await expect(limited.client.add(2, 2)).resolves.toBe(4);
      });

      it('refuses a connection beyond the limit with TooManyConnectionsError, serving the first, then the second once room appears', async () => {
        await expect(limited.client.add(1, 2)).resolves.toBe(3);
        const second = Mesh.connect({ ...extraMesh, runtimeDir: runtime.path, namespace: limited.namespace, logLevel: 'silent' });
        try {
          const client = second.client(Conformance);
          const refused = await client.add(3, 4).catch((e: unknown) => e);
          expect(refused).toBeInstanceOf(TooManyConnectionsError);
          expect(refused).toMatchObject({ retryable: true, message: expect.stringContaining('maxConnections') });
          await expect(limited.client.add(5, 6)).resolves.toBe(11);
          await limited.mesh.close(100);
          await eventually(async () => expect(await client.add(7, 8)).toBe(15));
        } finally {
          await second.close(100);
        }
      });
    });

    it('delivers events to the subscribing service as instances of their class', async () => {
      for (let seq = 0; seq < 20; seq++) await main.mesh.events.publish(new ConformancePing(seq));
      await eventually(async () => expect(await main.client.received()).toEqual(Array.from({ length: 20 }, (_, i) => i)));
    });

    it("sends what an event's own toJSON returns, as msgpack does, rather than its fields", async () => {
      // The publisher packs a plain copy of an event's fields (cheaper than its class instance) only when that is the same bytes.
      const renamed = Object.assign(new ConformancePing(2000), { toJSON: () => ({ seq: 2001 }) });
      await main.mesh.events.publish(renamed);
      await main.mesh.events.publish(new ConformancePing(2002));
      await eventually(async () => expect(await main.client.received()).toContain(2002));
      const received = await main.client.received();
      expect([received.includes(2001), received.includes(2000)]).toEqual([true, false]);
    });

    it('rejects a publish whose event cannot be read (its getter throws), and goes on with the next', async () => {
      const broken = Object.defineProperty(new ConformancePing(2004), 'broken', {
        enumerable: true,
        get() {
          throw new Error('getter failed');
        },
      });
      await expect(main.mesh.events.publish(broken)).rejects.toThrow('getter failed');
      await main.mesh.events.publish(new ConformancePing(2005));
      await eventually(async () => expect(await main.client.received()).toContain(2005));
      expect(await main.client.received()).not.toContain(2004);
    });

    it('delivers events from the service to a subscriber in another process', async () => {
      const { ListenerService, received } = pongListener('conformance-listener');
      const listener = await ServiceHost.start(ListenerService, {
        ...extraMesh,
        runtimeDir: main.mesh.config.runtimeDir,
        namespace: main.namespace,
        bindings: { '*': kind },
        logLevel: 'silent',
      });
      hosts.push(listener);
      await expect(main.client.publish(10)).resolves.toBe(10);
      await eventually(() => expect(received).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    });

    it('delivers an event larger than a queue message, byte for byte', async () => {
      const data = randomBytes(64 * 1024);
      const sum = data.reduce((total, byte) => total + byte, 0);
      await main.mesh.events.publish(new ConformanceBlob(data));
      await eventually(async () => expect(await main.client.blobs()).toEqual([{ size: data.length, sum }]));
    });

    eventsOnlyIt('skips a queue message that is not frames, logging a FrameError, and delivers the next events', async () => {
      const raw = await rawChannel(main.descriptor);
      raw.write(Buffer.from('not a frame at all'));
      raw.close();
      await main.server.waitForOutput(/FrameError/);
      await main.mesh.events.publish(new ConformancePing(1000));
      await eventually(async () => expect(await main.client.received()).toContain(1000));
    });

    rpcDescribe('given bytes that are not valid frames', () => {
      async function sendRaw(bytes: Buffer): Promise<void> {
        const raw = await rawChannel(main.descriptor);
        const healthy = main.client.add(20, 22);
        raw.write(bytes);
        await raw.closed;
        await expect(healthy).resolves.toBe(42);
        await expect(main.client.add(1, 1)).resolves.toBe(2);
      }

      it('drops a connection whose header is garbage, logging a FrameError, and serves the others', async () => {
        await sendRaw(Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n'));
        await main.server.waitForOutput(/dropped connection .*FrameError.*bad frame magic/);
      });

      it('drops a connection announcing a body over the limit', async () => {
        const header = Buffer.alloc(HEADER_BYTES);
        writeHeader(header, FrameKind.Request, 0, 1, 1, 0xffff_fff0);
        await sendRaw(header);
        await main.server.waitForOutput(/dropped connection .*FrameError.*exceeds the limit/);
      });

      it('drops a connection whose body does not decode', async () => {
        const frame = Buffer.alloc(HEADER_BYTES + 4);
        writeHeader(frame, FrameKind.Request, 0, 7, main.descriptor.routes[0]!.id, 4);
        frame.writeUInt32BE(0xc1c1c1c1, HEADER_BYTES); // 0xc1 is never used in msgpack
        await sendRaw(frame);
        await main.server.waitForOutput(/dropped connection .*FrameError.*undecodable frame body/);
      });

      it('drops a connection that closes halfway through a frame', async () => {
        const raw = await rawChannel(main.descriptor);
        const frame = Buffer.alloc(HEADER_BYTES + 10);
        writeHeader(frame, FrameKind.Request, 0, 9, main.descriptor.routes[0]!.id, 100);
        raw.write(frame);
        await sleep(20);
        raw.close();
        await main.server.waitForOutput(/dropped connection .*FrameError.*truncated frame/);
        await expect(main.client.add(2, 3)).resolves.toBe(5);
      });
    });

    rpcIt('reports ServiceUnavailableError within the timeout when the service is not running', async () => {
      const empty = Mesh.connect({ ...extraMesh, runtimeDir: main.mesh.config.runtimeDir, namespace: `${main.namespace}-empty`, logLevel: 'silent' });
      try {
        const started = Date.now();
        const error = await empty
          .client(Conformance)
          .$with({ timeoutMs: 300 })
          .add(1, 1)
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ServiceUnavailableError);
        expect((error as HostmeshError).retryable).toBe(true);
        expect(Date.now() - started).toBeLessThan(3000);
      } finally {
        await empty.close();
      }
    });

    if (all) describeStreamCases({ kind, main: () => main, deploy: (namespace) => deploy(namespace) });

    rpcIt(
      'drains on SIGTERM: every accepted call gets its reply, a new one ServiceStoppingError, and the service exits 0',
      async () => {
        const draining = await deploy(`drain-${process.pid}`);
        const before = await draining.client.calls();
        // Enough replies written in one burst to fill socket buffers and rings right before the close.
        // Long enough that most are still running at the SIGTERM; every accepted one must get its reply.
        const accepted = Array.from({ length: 500 }, (_, i) => draining.client.sleep(2000, `drain-${i}`));
        for (let i = 0; i < 300 && (await draining.client.calls()) - before < accepted.length; i++) await sleep(10);
        draining.server.child.kill('SIGTERM');
        await draining.server.waitForOutput(/stopping \(SIGTERM\): \d+ calls in flight/);
        await expect(draining.client.add(1, 2)).rejects.toBeInstanceOf(ServiceStoppingError);
        await expect(Promise.all(accepted)).resolves.toEqual(accepted.map(() => 2000));
        expect(await draining.server.exited).toEqual({ code: 0, signal: null });
      },
      30_000,
    );

    rpcIt(
      'fails calls in flight with a retryable ConnectionLostError when the service dies, then recovers',
      async () => {
        const victim = await deploy(`victim-${process.pid}`, { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
        await expect(victim.client.add(1, 1)).resolves.toBe(2);
        const inFlight = victim.client.sleep(10_000, 'doomed');
        await sleep(50);
        const started = Date.now();
        await victim.server.kill();
        const error = await inFlight.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConnectionLostError);
        expect((error as HostmeshError).retryable).toBe(true);
        expect(Date.now() - started).toBeLessThan(3000);

        // A call made while the service is down waits for it, within its timeout.
        const waiting = victim.client.$with({ timeoutMs: 15_000 }).pid();
        const restarted = await start(FIXTURE, {
          env: {
            HOSTMESH_RUNTIME_DIR: runtime.path,
            HOSTMESH_NAMESPACE: victim.namespace,
            HOSTMESH_BINDINGS: JSON.stringify({ '*': kind }),
            ...options.serverEnv,
          },
          ready: { service: 'conformance', runtimeDir: runtime.path, namespace: victim.namespace },
          ...spawnExtra,
        });
        victim.server = restarted;
        await expect(waiting).resolves.toBe(restarted.pid);
      },
      30_000,
    );
  });
}
