import { join } from 'node:path';
import { QueueFullError } from '../../core/errors/errors';
import { Mesh } from '../../runtime/mesh';
import { Conformance, ConformancePing } from '../../testing/fixtures/conformance.contract';
import { sleep, spawnService, type SpawnedService } from '../../testing/spawn-service';
import { tempRuntimeDir } from '../../testing/temp-runtime';

const FIXTURE = join(__dirname, '..', '..', 'testing', 'fixtures', 'conformance.main.ts');

describe('events over message queues', () => {
  const runtime = tempRuntimeDir();
  const namespace = `durable-${process.pid}`;
  const env = { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: namespace, HOSTMESH_BINDINGS: JSON.stringify({ '*': 'mqueue' }) };
  const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent', defaultTimeoutMs: 500 });
  const children: SpawnedService[] = [];
  const start = async () => {
    const child = await spawnService(FIXTURE, { env, ready: { service: 'conformance', runtimeDir: runtime.path, namespace } });
    children.push(child);
    return child;
  };
  afterAll(async () => {
    for (const child of children) await child.kill();
    await mesh.registry.purgeSubscriptions();
    await mesh.close(0);
    runtime.remove();
  });

  /** What the subscriber received from `from` on, once there are `expected` of them (or 3 s passed). */
  async function received(expected: number, from = 0): Promise<number[]> {
    const client = mesh.client(Conformance);
    let got: number[] = [];
    for (let i = 0; i < 300; i++) {
      got = (await client.received()).filter((seq) => seq >= from);
      if (got.length >= expected) break;
      await sleep(10);
    }
    return got;
  }

  it('keeps events published while the subscriber is down, and delivers them all when it is back', async () => {
    const first = await start();
    await Promise.all([0, 1, 2, 3, 4].map((seq) => mesh.events.publish(new ConformancePing(seq))));
    expect(await received(5)).toEqual([0, 1, 2, 3, 4]);

    await first.kill(); // SIGKILL: no drain, no goodbye
    const whileDown = Array.from({ length: 200 }, (_, i) => 100 + i);
    await Promise.all(whileDown.map((seq) => mesh.events.publish(new ConformancePing(seq))));

    await start();
    expect(await received(200, 100)).toEqual(whileDown);
  }, 30_000);

  it('holds a publisher back when the queue stays full, then fails with QueueFullError, never dropping silently', async () => {
    const subscriber = children.at(-1)!;
    subscriber.child.kill('SIGSTOP'); // alive but not reading
    try {
      let accepted = 0;
      let error: unknown;
      for (let i = 0; i < 100 && error === undefined; i++) {
        // A turn of the event loop between events, so each goes out as its own queue
        // message (events of one tick share a message) and the queue fills up.
        await sleep(2);
        await mesh.events.publish(new ConformancePing(1000 + i), { timeoutMs: 200 }).then(
          () => accepted++,
          (e: unknown) => (error = e),
        );
      }
      expect(error).toBeInstanceOf(QueueFullError);
      subscriber.child.kill('SIGCONT');
      // Every event that was accepted arrives; the refused one was reported to the publisher.
      expect(await received(accepted, 1000)).toEqual(Array.from({ length: accepted }, (_, i) => 1000 + i));
    } finally {
      subscriber.child.kill('SIGCONT');
    }
  }, 30_000);
});
