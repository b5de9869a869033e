import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CallTimeoutError, ConnectionLostError, ServiceUnavailableError, TlsError } from '../../core/errors/errors';
import { HostmeshError } from '../../core/errors/hostmesh-error';
import { Mesh } from '../../runtime/mesh';
import { testCerts, type TestCerts } from '../../testing/certs';
import { describeTransportConformance } from '../../testing/conformance';
import { Conformance } from '../../testing/fixtures/conformance.contract';
import { canUseNetns, NetnsLab } from '../../testing/netns';
import { spawnService, type SpawnedService } from '../../testing/spawn-service';
import { tempRuntimeDir } from '../../testing/temp-runtime';

/*
 * Topology: one network namespace `hm<pid>a` joined to the initial namespace by a veth pair
 * (10.77.n.1 here, 10.77.n.2 in a). The service runs inside `a` (`ip netns exec`), bound to
 * its veth address only; the client is this jest process. It must be: the conformance suite
 * drives the service from the test process (its Mesh, an in-process subscriber service, raw
 * channels), and a jest worker cannot move into a namespace. So the root end of the veth
 * carries an address, and the in-process subscriber listens on it (with TLS). Two namespaces
 * with the client inside one of them are what tools/bench/src/remote does.
 */
const FIXTURE = join(__dirname, '../../testing/fixtures', `conformance.main${__filename.endsWith('.ts') ? '.ts' : '.js'}`);
const netns = canUseNetns();

if (!netns.ok) {
  describe.skip(`TLS across network namespaces (skipped: ${netns.reason})`, () => {
    it('needs root and iproute2 to create network namespaces', () => undefined);
  });
} else {
  const lab = NetnsLab.create(['a', 'b']);
  let certs: TestCerts | undefined;
  let strangers: TestCerts | undefined;
  afterAll(() => {
    lab.destroy();
    certs?.remove();
    strangers?.remove();
  });
  const link = lab.link('root', 'a');
  const [here, there] = link.ends;
  // A second link, between the two created namespaces: a (.1) ── b (.2).
  const [inA, inB] = lab.link('a', 'b').ends;
  certs = testCerts([
    { name: 'a', addresses: [there.address, inA.address] },
    { name: 'b', addresses: [inB.address] },
    { name: 'client', addresses: [here.address] },
  ]);
  strangers = testCerts([{ name: 'stranger', addresses: [here.address] }], 'hm-certs-other-');
  const clientTls = certs.tls('client');
  const serverEnv = { ...certs.env('a'), HOSTMESH_TCP_HOST: there.address };

  describeTransportConformance('tcp', {
    label: `over mutual TLS from the root namespace to a service in ${lab.ns('a')} (${there.address}) across a veth`,
    serverEnv,
    meshOptions: { tls: clientTls, tcp: { host: here.address } },
    spawnPrefix: lab.exec('a'),
  });

  describe(`TLS across a veth to ${lab.ns('a')}`, () => {
    const runtime = tempRuntimeDir();
    const namespace = `cut-${process.pid}`;
    let server: SpawnedService;
    const meshes: Mesh[] = [];
    const connect = (options: Parameters<typeof Mesh.connect>[0] = {}) => {
      const mesh = Mesh.connect({
        runtimeDir: runtime.path,
        namespace,
        logLevel: 'silent',
        tls: clientTls,
        reconnect: { initialDelayMs: 20, maxDelayMs: 300 },
        ...options,
      });
      meshes.push(mesh);
      return mesh;
    };

    beforeAll(async () => {
      server = await spawnService(FIXTURE, {
        env: {
          HOSTMESH_RUNTIME_DIR: runtime.path,
          HOSTMESH_NAMESPACE: namespace,
          HOSTMESH_BINDINGS: JSON.stringify({ '*': 'tcp' }),
          HOSTMESH_LOG_LEVEL: 'info',
          ...serverEnv,
        },
        ready: { service: 'conformance', runtimeDir: runtime.path, namespace },
        prefix: lab.exec('a'),
      });
    }, 30_000);

    afterAll(async () => {
      lab.linkUp('a');
      for (const mesh of meshes) await mesh.close(100);
      await server?.stop();
      runtime.remove();
    }, 30_000);

    it('announces its veth address with tls: true and serves from inside the namespace', async () => {
      const mesh = connect();
      const [descriptor] = await mesh.registry.lookup('conformance');
      expect(descriptor!.listeners.tcp).toEqual({ kind: 'tcp', host: there.address, port: expect.any(Number), tls: true });
      await expect(mesh.client(Conformance).add(20, 22)).resolves.toBe(42);
    });

    it('fails calls with retryable typed errors within their timeout while the veth is down, and recovers when it is up', async () => {
      const mesh = connect();
      const client = mesh.client(Conformance);
      await expect(client.add(1, 1)).resolves.toBe(2);
      const inFlight = client
        .$with({ timeoutMs: 1000 })
        .sleep(200, 'cut-in-flight')
        .catch((e: unknown) => e);
      lab.linkDown('a');
      try {
        const started = Date.now();
        const during = await client
          .$with({ timeoutMs: 800 })
          .add(2, 2)
          .catch((e: unknown) => e);
        const elapsed = Date.now() - started;
        expect(during).toBeInstanceOf(CallTimeoutError);
        expect((during as HostmeshError).retryable).toBe(true);
        expect(elapsed).toBeGreaterThanOrEqual(700);
        expect(elapsed).toBeLessThan(3000);
        const lost = await inFlight;
        expect(lost).toBeInstanceOf(CallTimeoutError);
        // A client that was never connected cannot get through either: a retryable error, in time.
        const fresh = connect();
        const freshStarted = Date.now();
        const refused = await fresh
          .client(Conformance)
          .$with({ timeoutMs: 800 })
          .add(3, 3)
          .catch((e: unknown) => e);
        expect([CallTimeoutError, ServiceUnavailableError, ConnectionLostError].some((type) => refused instanceof type)).toBe(true);
        expect((refused as HostmeshError).retryable).toBe(true);
        expect(Date.now() - freshStarted).toBeLessThan(3000);
      } finally {
        lab.linkUp('a');
      }
      // TCP retransmits once the carrier is back: the same connection (and new ones) carry calls again.
      const upAt = Date.now();
      await expect(client.$with({ timeoutMs: 15_000 }).add(4, 4)).resolves.toBe(8);
      await expect(connect().client(Conformance).$with({ timeoutMs: 15_000 }).add(5, 5)).resolves.toBe(10);
      process.stdout.write(`link cut: calls recovered ${Date.now() - upAt} ms after the veth came back up\n`);
    }, 40_000);

    it('refuses a client whose certificate comes from another CA with TlsError, and keeps serving good clients', async () => {
      const stranger = connect({ tls: { ...strangers!.tls('stranger'), ca: clientTls.ca } });
      const started = Date.now();
      const error = await stranger
        .client(Conformance)
        .$with({ timeoutMs: 5000 })
        .add(1, 2)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TlsError);
      expect(error).toMatchObject({ code: 'TLS_FAILED', retryable: false });
      expect(Date.now() - started).toBeLessThan(2000);
      await server.waitForOutput(new RegExp(`refused TLS connection to conformance from ${here.address.replace(/\./g, '\\.')}`));
      await expect(connect().client(Conformance).add(6, 7)).resolves.toBe(13);
      // A client without TLS options is refused before it sends anything.
      const plain = connect({ tls: undefined });
      await expect(plain.client(Conformance).$with({ timeoutMs: 2000 }).add(1, 1)).rejects.toBeInstanceOf(TlsError);
    });
  });

  describe(`calls and events between two namespaces, ${lab.ns('a')} (${inA.address}) and ${lab.ns('b')} (${inB.address})`, () => {
    const runtime = tempRuntimeDir();
    const namespace = `ab-${process.pid}`;
    let server: SpawnedService;
    const common = { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: namespace, HOSTMESH_BINDINGS: JSON.stringify({ '*': 'tcp' }) };

    beforeAll(async () => {
      server = await spawnService(FIXTURE, {
        env: { ...common, HOSTMESH_LOG_LEVEL: 'info', ...certs!.env('a'), HOSTMESH_TCP_HOST: inA.address },
        ready: { service: 'conformance', runtimeDir: runtime.path, namespace },
        prefix: lab.exec('a'),
      });
    }, 30_000);

    afterAll(async () => {
      await server?.stop();
      runtime.remove();
    }, 30_000);

    it('a client and a subscriber service in b call the service in a and exchange events with it over TLS', async () => {
      const peer = await spawnService(join(__dirname, '../../testing/fixtures', `netns-peer.main${__filename.endsWith('.ts') ? '.ts' : '.js'}`), {
        env: { ...common, ...certs!.env('b'), HOSTMESH_TCP_HOST: inB.address },
        prefix: lab.exec('b'),
      });
      const exit = await peer.exited;
      expect({ exit, output: exit.code === 0 ? '' : peer.output }).toEqual({ exit: { code: 0, signal: null }, output: '' });
      const report = JSON.parse(peer.output.trim().split('\n').pop()!) as {
        sum: number;
        received: number[];
        published: number;
        pongs: number[];
        listener: unknown;
      };
      expect(report.sum).toBe(42);
      expect(report.received.filter((seq) => seq >= 100)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
      expect(report.published).toBe(5);
      expect(report.pongs).toEqual([0, 1, 2, 3, 4]);
      expect(report.listener).toEqual({ kind: 'tcp', host: inB.address, port: expect.any(Number), tls: true });
    }, 30_000);
  });
}
