import { join } from 'node:path';
import { Mesh } from '../runtime/mesh';
import { Conformance } from '../testing/fixtures/conformance.contract';
import { sleep, spawnService, type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';
import { faultFixture, tearDown, shmEntries, startConformance, until } from './faults.testing';

const LOCK_HOLDER = join(__dirname, '..', 'testing', 'fixtures', 'lock-holder.main.ts');
/** How long the server may take to notice a dead client and remove its ring pair. */
const RECLAIM_MS = 2000;

/**
 * Fault: a client is SIGKILLed while it is using a shared resource. An shm client killed
 * mid-write (flooding the ring with fragmented frames): the service notices through the
 * liveness socket, unlinks that client's segment and doorbells, and keeps serving its
 * other clients without a single failed call. A SharedLock holder killed while another
 * process waits: the waiter takes the lock over well before its timeout.
 */
describe('fault: a client SIGKILLed while holding a ring or a lock', () => {
  const runtime = tempRuntimeDir('hm-ck-');
  const namespace = `ck-${process.pid}`;
  const env = { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: namespace };
  const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent', bindings: { '*': 'shm' } });
  let server: SpawnedService;

  beforeAll(async () => {
    // Small rings and no large-payload pool: a 256 KiB echo is 8 ring messages each way, so a
    // flooder is nearly always mid-frame (shm-pool.int.spec.ts kills clients mid-pooled-call).
    server = await startConformance('shm', runtime.path, namespace, { HOSTMESH_SHM_RING_BYTES: '65536', HOSTMESH_SHM_POOL_BYTES: '0' });
  }, 30_000);

  afterAll(async () => {
    mesh.locks.remove('faulty');
    await tearDown({ mesh, processes: [server], namespace, runtime });
  }, 30_000);

  const ringOf = (pid: number) => shmEntries(`.${namespace}.`, `.conformance.0.${pid}.`);
  const repliesOf = (child: SpawnedService) => Number(/replies (\d+) [^\n]*\n(?![\s\S]*replies)/.exec(child.output)?.[1] ?? 0);

  it('reclaims the ring pair of an shm client killed mid-write, and serves the others throughout', async () => {
    const flooders = await Promise.all(
      [0, 1].map(async () => {
        const child = await spawnService(faultFixture('flooder'), { env, args: [String(256 * 1024), '4'] });
        await child.waitForOutput(/replies \d+/, 15_000);
        return child;
      }),
    );
    const [victim, survivor] = flooders as [SpawnedService, SpawnedService];
    // Each flooder has its segment and two doorbells, created by the service and named after it.
    expect(ringOf(victim.pid)).toHaveLength(3);
    expect(ringOf(survivor.pid)).toHaveLength(3);

    // This process is a third client: it calls all along, and none of its calls may fail.
    const client = mesh.client(Conformance);
    let ok = 0;
    const failures: unknown[] = [];
    let calling = true;
    const caller = (async () => {
      for (let i = 0; calling; i++) {
        await client
          .$with({ timeoutMs: 2000 })
          .add(i, i)
          .then(
            (sum) => (sum === 2 * i ? ok++ : failures.push(`add(${i}, ${i}) = ${sum}`)),
            (error: unknown) => failures.push(error),
          );
      }
    })();

    await sleep(200);
    await victim.kill();
    const killedAt = Date.now();
    await until(() => ringOf(victim.pid).length === 0, RECLAIM_MS, `segment and doorbells of killed client ${victim.pid} removed`);
    const reclaimMs = Date.now() - killedAt;

    const survivorBefore = repliesOf(survivor);
    const okBefore = ok;
    await until(() => repliesOf(survivor) >= survivorBefore + 40 && ok >= okBefore + 50, 10_000, 'the other clients keep getting replies');
    calling = false;
    await caller;

    expect(failures).toEqual([]);
    expect(reclaimMs).toBeLessThan(RECLAIM_MS);
    expect(server.running).toBe(true);
    expect(survivor.running).toBe(true);
    expect(ringOf(survivor.pid)).toHaveLength(3);

    await survivor.kill();
    await until(() => ringOf(survivor.pid).length === 0, RECLAIM_MS, `ring pair of the second killed client ${survivor.pid} removed`);
    await expect(client.echo('still here')).resolves.toBe('still here');
  }, 40_000);

  it('hands a lock whose holder was SIGKILLed to the process already waiting for it, well before its timeout', async () => {
    const holder = await spawnService(LOCK_HOLDER, { env, args: ['faulty', '60000'] });
    await holder.waitForOutput(`holding ${holder.pid}`, 10_000);
    expect(mesh.locks.holder('faulty')).toBe(holder.pid);

    const waiting = mesh.locks.acquire('faulty', { timeoutMs: 8000 });
    await sleep(300); // really waiting: the semaphore is taken
    const killedAt = Date.now();
    await holder.kill();
    const handle = await waiting;
    expect(Date.now() - killedAt).toBeLessThan(1000);
    expect(mesh.locks.holder('faulty')).toBe(process.pid);
    handle.release();

    // The lock is healthy for everyone else: another process takes and releases it.
    const next = await spawnService(LOCK_HOLDER, { env, args: ['faulty', '50'] });
    await next.waitForOutput('released', 10_000);
    expect(mesh.locks.holder('faulty')).toBe(0);
  }, 30_000);
});
