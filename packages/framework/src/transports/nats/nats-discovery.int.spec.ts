import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { Mesh } from '../../runtime/mesh';
import { ServiceHost } from '../../runtime/service-host';
import { Conformance, ConformancePing } from '../../testing/fixtures/conformance.contract';
import { pongListener } from '../../testing/fixtures/pong-listener';
import { startNatsServer, useNatsServer, type NatsServerProcess } from '../../testing/nats-server';
import { sleep, spawnService, type SpawnedService } from '../../testing/spawn-service';
import { tempRuntimeDir } from '../../testing/temp-runtime';

// Two "hosts" that share nothing but a NATS server: each has its own runtime directory
// (registry), as two machines would. What one learns of the other, it learns over NATS.
const FIXTURE = join(__dirname, '..', '..', 'testing', 'fixtures', `conformance.main${__filename.endsWith('.ts') ? '.ts' : '.js'}`);
const nats = useNatsServer({ beforeAll, afterAll });

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await sleep(25);
  }
}

describe('services on other hosts, discovered over NATS', () => {
  const hostA = tempRuntimeDir();
  const hostB = tempRuntimeDir();
  const namespace = `nats-dir-${process.pid}`;
  let server: SpawnedService | undefined;
  let mesh: Mesh | undefined;
  const hosts: ServiceHost[] = [];
  /** What `mesh` finds of the conformance service once it sees `count` instances, or when `timeoutMs` ran out. */
  const conformanceInstances = (count: number, timeoutMs: number) =>
    until(
      () => mesh!.registry.lookup('conformance'),
      (l) => l.length === count,
      timeoutMs,
    );

  async function startOnA(env: NodeJS.ProcessEnv = {}, dir = hostA.path): Promise<SpawnedService> {
    return spawnService(FIXTURE, {
      env: {
        HOSTMESH_RUNTIME_DIR: dir,
        HOSTMESH_NAMESPACE: namespace,
        HOSTMESH_BINDINGS: JSON.stringify({ '*': 'nats' }),
        HOSTMESH_NATS_SERVERS: nats.server.url,
        HOSTMESH_LOG_LEVEL: 'info',
        ...env,
      },
      ready: { service: 'conformance', runtimeDir: dir, namespace },
    });
  }

  function connectB(): Mesh {
    return Mesh.connect({ runtimeDir: hostB.path, namespace, logLevel: 'silent', nats: { servers: nats.server.url } });
  }

  afterEach(async () => {
    await mesh?.close(100);
    for (const host of hosts.splice(0)) await host.stop();
    await server?.kill();
    mesh = server = undefined;
  }, 20_000);
  afterAll(() => {
    hostA.remove();
    hostB.remove();
  });

  it('finds a service that is in no local registry, marked remote, reachable only over NATS, and calls it', async () => {
    server = await startOnA();
    mesh = connectB();
    expect(await mesh.registry.list()).toEqual([]); // host B's own registry: empty
    // The first lookup waits briefly for answers; on a loaded machine one may come a little later.
    const [found] = await until(
      () => mesh!.registry.lookup('conformance'),
      (l) => l.length === 1,
    );
    expect(found).toMatchObject({ service: 'conformance', instance: '0', pid: server.pid, remote: { host: found!.host, via: 'nats' } });
    expect(Object.keys(found!.listeners)).toEqual(['nats']);
    const client = mesh.client(Conformance);
    await expect(client.add(2, 3)).resolves.toBe(5);
    await expect(client.pid()).resolves.toBe(server.pid);
    await expect(client.echo({ big: Buffer.alloc(200_000, 7) })).resolves.toEqual({ big: Buffer.alloc(200_000, 7) });
  }, 30_000);

  it('carries events both ways between the hosts', async () => {
    server = await startOnA();
    const { ListenerService, received } = pongListener('nats-dir-listener');
    hosts.push(
      await ServiceHost.start(ListenerService, {
        runtimeDir: hostB.path,
        namespace,
        bindings: { '*': 'nats' },
        nats: { servers: nats.server.url },
        logLevel: 'silent',
      }),
    );
    mesh = connectB();
    const client = mesh.client(Conformance);
    await until(
      () => mesh!.registry.lookup('conformance'),
      (l) => l.length === 1,
    );
    // B → A: an event published on B reaches the subscriber on A.
    await mesh.events.publish(new ConformancePing(41));
    expect(
      await until(
        () => client.received(),
        (r) => r.includes(41),
      ),
    ).toContain(41);
    // A → B: A publishes; it learned of B's subscriber over NATS.
    await until(
      () => client.publish(5).then(() => received.length),
      (n) => n >= 5,
    );
    expect(received.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
  }, 30_000);

  it('forgets a service that stops (at once) and one that is SIGKILLed (after 3 × announceMs)', async () => {
    server = await startOnA({ HOSTMESH_NATS_ANNOUNCE_MS: '200' });
    mesh = Mesh.connect({ runtimeDir: hostB.path, namespace, logLevel: 'silent', nats: { servers: nats.server.url, announceMs: 200 } });
    expect(
      await until(
        () => mesh!.registry.lookup('conformance'),
        (l) => l.length === 1,
      ),
    ).toHaveLength(1);
    await server.stop('SIGTERM');
    expect(await conformanceInstances(0, 3000)).toEqual([]);

    server = await startOnA({ HOSTMESH_NATS_ANNOUNCE_MS: '200' });
    expect(await conformanceInstances(1, 3000)).toHaveLength(1);
    await server.kill();
    const started = Date.now();
    expect(await conformanceInstances(0, 3000)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(3000);
  }, 30_000);

  it('after NATS restarts, finds again at once a service it had forgotten during the outage (announcements resume, who is asked again)', async () => {
    const first = await startNatsServer();
    let second: NatsServerProcess | undefined;
    try {
      // A announces every 20 s; B forgets what it has not heard of for 3 × 500 ms.
      server = await startOnA({ HOSTMESH_NATS_SERVERS: first.url, HOSTMESH_NATS_ANNOUNCE_MS: '20000' });
      mesh = Mesh.connect({ runtimeDir: hostB.path, namespace, logLevel: 'silent', nats: { servers: first.url, announceMs: 500 } });
      expect(
        await until(
          () => mesh!.registry.lookup('conformance'),
          (l) => l.length === 1,
        ),
      ).toHaveLength(1);
      await first.stop();
      expect(await conformanceInstances(0, 5000)).toEqual([]);
      second = await startNatsServer({ port: first.port });
      const back = Date.now();
      // Both clients reconnect on their own; A's next periodic announcement is ~20 s away.
      expect(await conformanceInstances(1, 8000)).toHaveLength(1);
      expect(Date.now() - back).toBeLessThan(8000);
      await expect(mesh.client(Conformance).add(2, 3)).resolves.toBe(5);
    } finally {
      await second?.stop();
      await first.stop();
    }
  }, 40_000);

  it('forgets a SIGKILLed service as soon as a call finds nobody listening, long before its expiry', async () => {
    server = await startOnA({ HOSTMESH_NATS_ANNOUNCE_MS: '10000' });
    mesh = Mesh.connect({
      runtimeDir: hostB.path,
      namespace,
      logLevel: 'silent',
      nats: { servers: nats.server.url, announceMs: 10_000 },
      defaultTimeoutMs: 1000,
    });
    const client = mesh.client(Conformance);
    await expect(client.add(1, 2)).resolves.toBe(3);
    await server.kill();
    const started = Date.now();
    await expect(client.add(1, 2)).rejects.toMatchObject({ retryable: true });
    // Expiry would take 3 × 10 s; NATS's "no responders" on the reconnect is what tells.
    expect(await conformanceInstances(0, 5000)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5000);
  }, 30_000);

  it('with NATS unreachable, still finds and calls the local services (the directory is empty)', async () => {
    const local = await startOnA({ HOSTMESH_BINDINGS: '{"*":"uds"}', HOSTMESH_NATS_SERVERS: '' });
    server = local;
    mesh = Mesh.connect({ runtimeDir: hostA.path, namespace, logLevel: 'silent', nats: { servers: 'nats://127.0.0.1:1' } });
    const found = await mesh.registry.lookup('conformance');
    expect(found.map((d) => [d.pid, d.remote])).toEqual([[local.pid, undefined]]);
    await expect(mesh.client(Conformance).add(1, 1)).resolves.toBe(2);
  }, 30_000);

  it('keeps the same service@instance on two hosts apart: each call runs once, on one of them', async () => {
    const hostC = tempRuntimeDir();
    const onB = await startOnA({}, hostB.path);
    try {
      server = await startOnA();
      mesh = Mesh.connect({ runtimeDir: hostC.path, namespace, logLevel: 'silent', nats: { servers: nats.server.url } });
      const both = await until(
        () => mesh!.registry.lookup('conformance'),
        (l) => l.length === 2,
      );
      expect(both.map((d) => d.pid).sort()).toEqual([server.pid, onB.pid].sort());
      expect(new Set(both.map((d) => (d.listeners.nats as { subject?: string } | undefined)?.subject)).size).toBe(2);
      // Each host's own client reaches its own instance over its local registry.
      const local = (dir: string) => Mesh.connect({ runtimeDir: dir, namespace, logLevel: 'silent', nats: { servers: nats.server.url } });
      const [meshA, meshB] = [local(hostA.path), local(hostB.path)];
      try {
        const count = async () => (await meshA.client(Conformance).calls()) + (await meshB.client(Conformance).calls());
        const before = await count();
        const client = mesh.client(Conformance);
        for (let i = 0; i < 20; i++) await expect(client.add(i, 1)).resolves.toBe(i + 1);
        expect((await count()) - before).toBe(20);
      } finally {
        await meshA.close(100);
        await meshB.close(100);
      }
    } finally {
      await onB.kill();
      hostC.remove();
    }
  }, 30_000);

  it('prefers the local instance when the same process is in the local registry too', async () => {
    server = await startOnA();
    mesh = Mesh.connect({ runtimeDir: hostA.path, namespace, logLevel: 'silent', nats: { servers: nats.server.url } });
    const found = await mesh.registry.lookup('conformance');
    expect(found).toHaveLength(1);
    expect(found[0]!.remote).toBeUndefined();
    expect(Object.keys(found[0]!.listeners)).toContain('uds');
  }, 30_000);
});
