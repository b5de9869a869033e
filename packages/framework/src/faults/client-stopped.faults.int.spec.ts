import { readFileSync } from 'node:fs';
import { Mesh } from '../runtime/mesh';
import { Conformance } from '../testing/fixtures/conformance.contract';
import { reapAll, sleep, spawnService, type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';
import { faultFixture, removeStaleIn, startConformance, until } from './faults.testing';

/**
 * Fault: a *client* is SIGSTOPped with calls in flight (alive, connected, reading nothing).
 * The service's replies to it back up (socket buffer, ring, FIFO), but that connection alone
 * waits: other clients are served throughout, the service's memory stays bounded (the
 * stopped client has at most its in-flight calls pending), and after SIGCONT the client gets
 * every reply, each matching its call, and carries on.
 */
const SIZE = 256 * 1024;
const IN_FLIGHT = 8;
const STOPPED_MS = 1500;

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const repliesOf = (child: SpawnedService) => Number(/replies (\d+)\n(?![\s\S]*replies)/.exec(child.output)?.[1] ?? 0);

describe.each(['uds', 'tcp', 'shm', 'fifo'] as const)('fault: a client SIGSTOPped with calls in flight over %s', (kind) => {
  const runtime = tempRuntimeDir('hm-cs-');
  const namespace = `cs-${kind}-${process.pid}`;
  const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent', bindings: { '*': kind } });
  const client = mesh.client(Conformance);
  let server: SpawnedService;
  let flooder: SpawnedService | undefined;

  beforeAll(async () => {
    // Small rings over shm: the stopped client's replies fill its ring long before they are all written.
    server = await startConformance(kind, runtime.path, namespace, { HOSTMESH_SHM_RING_BYTES: '65536' });
  }, 30_000);

  afterAll(async () => {
    flooder?.child.kill('SIGCONT');
    await flooder?.kill();
    await mesh.close(0);
    await server?.stop('SIGTERM', 3000);
    await reapAll();
    removeStaleIn(namespace);
    runtime.remove();
  }, 30_000);

  it('serves the other clients while its replies back up, and delivers them all after SIGCONT', async () => {
    flooder = await spawnService(faultFixture('flooder'), {
      env: { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: namespace },
      args: [String(SIZE), String(IN_FLIGHT), kind],
    });
    await until(() => repliesOf(flooder!) >= 40, 15_000, 'the flooder getting replies');
    const rssBefore = rssOf(server.pid);
    flooder.child.kill('SIGSTOP');
    try {
      await sleep(200); // its socket / ring / FIFO fills with replies it does not read
      const stoppedAt = repliesOf(flooder);
      const started = Date.now();
      // Another client, meanwhile: every call answered, none waiting on the stopped one.
      for (let i = 0; Date.now() - started < STOPPED_MS; i++) {
        await expect(client.$with({ timeoutMs: 2000 }).add(i, 1)).resolves.toBe(i + 1);
        await expect(client.$with({ timeoutMs: 2000 }).echo(Buffer.alloc(SIZE, 9))).resolves.toEqual(Buffer.alloc(SIZE, 9));
      }
      expect(repliesOf(flooder)).toBe(stoppedAt);
      // What waits for the stopped client is bounded by its in-flight calls, not growing.
      expect(rssOf(server.pid) - rssBefore).toBeLessThan(64 * 1024 * 1024);
    } finally {
      flooder.child.kill('SIGCONT');
    }
    const resumedAt = repliesOf(flooder);
    // Every reply it missed arrives and matches (the flooder exits 1 on a wrong one), and it goes on.
    await until(() => repliesOf(flooder!) >= resumedAt + 40 || !flooder!.running, 15_000, 'the flooder resuming');
    expect({ running: flooder.running, output: flooder.output.includes('flooder failed') ? flooder.output : '' }).toEqual({ running: true, output: '' });
    await expect(client.add(2, 2)).resolves.toBe(4);
  }, 60_000);
});
