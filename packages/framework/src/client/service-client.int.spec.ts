import { join } from 'node:path';
import { Mesh } from '../runtime/mesh';
import { Conformance } from '../testing/fixtures/conformance.contract';
import { reapAll, spawnService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';

const FIXTURE = join(__dirname, '..', 'testing', 'fixtures', 'conformance.main.ts');

describe('a client whose service comes back on another mechanism', () => {
  const runtime = tempRuntimeDir();
  const namespace = `moved-${process.pid}`;
  const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent', reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
  const start = (binding: string) =>
    spawnService(FIXTURE, {
      env: { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: namespace, HOSTMESH_BINDINGS: JSON.stringify({ '*': binding }) },
      ready: { service: 'conformance', runtimeDir: runtime.path, namespace },
    });
  afterAll(async () => {
    await reapAll();
    await mesh.registry.purgeSubscriptions();
    await mesh.close(0);
    runtime.remove();
  });

  it('sends the calls that were waiting for the old mechanism the new way, long before their timeout', async () => {
    const client = mesh.client(Conformance);
    const first = await start('shm');
    await expect(client.pid()).resolves.toBe(first.pid);
    expect((await mesh.registry.lookup('conformance'))[0]!.listeners.shm).toBeDefined();
    await first.kill();
    // The client learns of the death from its connection closing, which may come a moment after
    // the exit: a call sent before then is lost with the connection (a retryable ConnectionLostError),
    // so let one call find that out before the calls under test are made.
    await client
      .$with({ timeoutMs: 300 })
      .pid()
      .catch(() => undefined);

    // Made while the service is down: they wait, on shm, for up to 15 s.
    const waiting = [client.$with({ timeoutMs: 15_000 }).pid(), client.$with({ timeoutMs: 15_000 }).add(2, 3)];
    const second = await start('uds');
    expect((await mesh.registry.lookup('conformance'))[0]!.listeners.shm).toBeUndefined();
    const restarted = Date.now();
    await expect(Promise.all(waiting)).resolves.toEqual([second.pid, 5]);
    expect(Date.now() - restarted).toBeLessThan(5000);
    await expect(client.add(1, 1)).resolves.toBe(2);
  }, 30_000);
});
