import { MessageQueue } from '@hostmesh/native';
import { Mesh } from '../runtime/mesh';
import { reapAll, sleep, spawnService, type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';
import { QueueFullError } from '../core/errors/errors';
import { Sink, TickWait, type Received } from './fixtures/faults.contract';
import { faultFixture, removeStaleIn, shmEntries, until } from './faults.testing';

/**
 * Fault: a subscriber is SIGKILLed with events pending and restarted (see also
 * transports/mqueue/mqueue-durability.int.spec.ts). Every event published before, during
 * and after its absence arrives exactly as published, and each carries an id of the form
 * `<publisher>.<sequence>`: unique per event, and increasing per publisher, so a subscriber
 * can drop the duplicates at-least-once delivery may bring.
 */
describe('fault: subscriber SIGKILLed and restarted with events pending (mqueue)', () => {
  const runtime = tempRuntimeDir('hm-sr-');
  const namespace = `sr-${process.pid}`;
  const env = { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: namespace, HOSTMESH_BINDINGS: JSON.stringify({ '*': 'mqueue' }) };
  const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent' });
  const client = mesh.client(Sink);
  const start = (extra: NodeJS.ProcessEnv = {}) =>
    spawnService(faultFixture('sink'), { env: { ...env, ...extra }, ready: { service: 'faults-sink', runtimeDir: runtime.path, namespace } });

  afterAll(async () => {
    await reapAll();
    await mesh.registry.purgeSubscriptions();
    await mesh.close(0);
    removeStaleIn(namespace);
    runtime.remove();
  }, 30_000);

  async function receivedAtLeast(count: number): Promise<Received> {
    let got: Received = { wait: [], reject: [], ids: [] };
    await until(async () => (got = await client.received()).wait.length >= count, 10_000, `${count} events delivered`).catch(() => undefined);
    return got;
  }

  it('delivers everything published around the restart, once each, with unique increasing ids', async () => {
    const first: SpawnedService = await start();
    for (let seq = 0; seq < 5; seq++) await mesh.events.publish(new TickWait(seq, ''));
    const before = await receivedAtLeast(5);
    expect(before.wait).toEqual([0, 1, 2, 3, 4]);

    await first.kill(); // SIGKILL: the queue stays, with whatever arrives meanwhile
    const whileDown = Array.from({ length: 8 }, (_, i) => 100 + i); // within the queue's depth of 10 messages
    for (const seq of whileDown) {
      await mesh.events.publish(new TickWait(seq, ''), { timeoutMs: 2000 });
      await new Promise((resolve) => setImmediate(resolve)); // one queue message each
    }

    await start();
    const after = await receivedAtLeast(whileDown.length);
    expect(after.wait).toEqual(whileDown);

    const ids = [...before.ids, ...after.ids];
    expect(new Set(ids).size).toBe(ids.length);
    const parsed = ids.map((id) => /^([0-9a-z]+\.[0-9a-z]+)\.([0-9a-z]+)$/.exec(id));
    expect(parsed.every(Boolean)).toBe(true);
    // One publisher here, and its sequence increases event by event: a high-water mark per publisher de-duplicates.
    expect(new Set(parsed.map((m) => m![1])).size).toBe(1);
    const sequences = parsed.map((m) => parseInt(m![2]!, 36));
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
  }, 30_000);

  it('delivers again, after a restart, the events whose handlers were running when the subscriber was SIGKILLed', async () => {
    await reapAll();
    const slow = await start({ FAULTS_SLOW_MS: '60000' });
    const big = `slow${'x'.repeat(16 * 1024)}`; // larger than a queue message: its body is in a segment
    await mesh.events.publish(new TickWait(500, 'slow'));
    await slow.waitForOutput('handling 500');
    await mesh.events.publish(new TickWait(501, big));
    await slow.waitForOutput('handling 501');
    // Both were taken from the queue: only the in-flight journal (and the large body's segment) still hold them.
    expect(shmEntries(`.${namespace}.`, `.evbody.`)).toHaveLength(1);
    await slow.kill();

    const restarted = await start();
    const after = await receivedAtLeast(2);
    expect(after.wait).toEqual([500, 501]);
    // Handled now: the large body is removed; the journal goes with a clean stop.
    await until(() => shmEntries(`.${namespace}.`, `.evbody.`).length === 0, 5000, 'the large body removed');
    expect(await restarted.stop()).toEqual({ code: 0, signal: null });
    expect(shmEntries(`.${namespace}.`, `.evjournal.`)).toEqual([]);
  }, 30_000);

  it('gives up, after 3 runs, a message whose handling kills the subscriber every time, and goes on with the rest', async () => {
    await reapAll();
    const crashing = { ...env, FAULTS_CRASH: '1' };
    const first = await start({ FAULTS_CRASH: '1' });
    await mesh.events.publish(new TickWait(800, 'crash'));
    await new Promise((resolve) => setImmediate(resolve)); // its own queue message
    await mesh.events.publish(new TickWait(801, ''));
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Runs 2 and 3 replay it from the journal before reading the queue, and die the same way.
    for (let run = 2; run <= 3; run++) {
      const again = await spawnService(faultFixture('sink'), { env: crashing });
      expect(await again.exited).toEqual({ code: null, signal: 'SIGKILL' });
    }
    const fourth = await start({ FAULTS_CRASH: '1' });
    await fourth.waitForOutput(/dropping a \d+-byte queue message from the in-flight journal .*3 runs started handling its events and none finished/);
    expect((await receivedAtLeast(1)).wait).toEqual([801]);
  }, 40_000);

  it('gives up only the message that kills the subscriber, not one that was in flight beside it', async () => {
    await reapAll();
    const run = (slowMs: string, ready = true) =>
      ready
        ? start({ FAULTS_CRASH: '1', FAULTS_SLOW_MS: slowMs })
        : spawnService(faultFixture('sink'), { env: { ...env, FAULTS_CRASH: '1', FAULTS_SLOW_MS: slowMs } });
    const first = await run('60000');
    await mesh.events.publish(new TickWait(810, 'slow')); // innocent, still running when 811 kills the process
    await first.waitForOutput('handling 810');
    await mesh.events.publish(new TickWait(811, 'crash'));
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Run 2 replays both at once and dies again; from run 3 on, suspects go one at a time.
    const second = await run('60000', false);
    expect(await second.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const third = await run('300', false);
    expect(await third.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(third.output).toContain('handling 810'); // finished (300 ms), then 811 killed it
    const fourth = await run('300');
    await fourth.waitForOutput(/dropping a \d+-byte queue message/);
    await sleep(500);
    expect(fourth.output.match(/dropping a \d+-byte queue message/g)).toHaveLength(1);
    expect(fourth.output).not.toContain('handling 810');
  }, 40_000);

  it('reaches a subscriber whose queue was purged and created anew (the publisher had the old one open)', async () => {
    await reapAll();
    await start();
    await mesh.events.publish(new TickWait(900, ''));
    expect((await receivedAtLeast(1)).wait).toEqual([900]);
    await reapAll();
    expect(await mesh.registry.purgeSubscriptions()).toHaveLength(1); // the queue is gone
    await start(); // a new queue under the same name
    for (let seq = 901; seq <= 905; seq++) {
      await mesh.events.publish(new TickWait(seq, ''));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await receivedAtLeast(5)).wait).toEqual([901, 902, 903, 904, 905]);
  }, 30_000);

  it('takes no more queue messages than mqueue.inFlight while handlers run: the rest wait in the kernel, publishers feel it', async () => {
    await reapAll();
    const subscriber = await start({ FAULTS_SLOW_MS: '60000', HOSTMESH_MQUEUE_IN_FLIGHT: '2' });
    let accepted = 0;
    let error: unknown;
    for (let seq = 0; seq < 40 && error === undefined; seq++) {
      await mesh.events.publish(new TickWait(700 + seq, 'slow'), { timeoutMs: 200 }).then(
        () => accepted++,
        (e: unknown) => (error = e),
      );
      await new Promise((resolve) => setImmediate(resolve)); // one queue message each
    }
    expect(error).toBeInstanceOf(QueueFullError);
    const [subscription] = await mesh.registry.listSubscriptions();
    const address = subscription!.address as unknown as { queue: string; depth: number };
    const queue = MessageQueue.open(address.queue);
    try {
      expect(queue.attributes().currentMessages).toBe(address.depth);
    } finally {
      queue.close();
    }
    // Two handlers started, and no more: the others' events are still in the kernel queue.
    expect(subscriber.output.match(/handling \d+/g)).toEqual(['handling 700', 'handling 701']);

    // Killed and started again (quick now): the two from its journal, then the queued ones.
    await reapAll();
    await start();
    // Accepted: those two, a full queue, and what the publisher had buffered when it filled.
    expect(accepted).toBeGreaterThanOrEqual(2 + address.depth);
    const after = await receivedAtLeast(accepted);
    expect(after.wait).toEqual(Array.from({ length: accepted }, (_, i) => 700 + i));
  }, 30_000);

  it('leaves no event bodies in /dev/shm when the queue is purged with large events still unread', async () => {
    await reapAll(); // the subscriber is gone: what is published now stays in its queue
    const big = 'x'.repeat(16 * 1024); // larger than a queue message: carried in a segment
    for (let seq = 0; seq < 3; seq++) {
      await mesh.events.publish(new TickWait(1000 + seq, big), { timeoutMs: 2000 });
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(shmEntries(`.${namespace}.`, `.evbody.`)).toHaveLength(3);
    expect(await mesh.registry.purgeSubscriptions()).toHaveLength(1);
    expect(shmEntries(`.${namespace}.`, `.evbody.`)).toEqual([]);
  }, 20_000);
});
