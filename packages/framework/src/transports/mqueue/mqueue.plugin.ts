import { readdirSync } from 'node:fs';
import { listQueues, MessageQueue, unlinkOwnShmEntry } from '@hostmesh/native';
import { transportModule, transportPlugin } from '../contract/plugin';
import { MQUEUE_LIMITS, MQUEUE_OPTIONS, resolveMqueueOptions, type MqueueOptions, type MqueueOptionsInput } from './mqueue.options';
import { MqueueTransport } from './mqueue.transport';

declare module '../contract/transport' {
  interface TransportKinds {
    mqueue: true;
  }
}

/** POSIX message queues: typed events, kept in the kernel while the subscriber restarts. */
export const mqueuePlugin = transportPlugin<MqueueOptions, 'mqueue', MqueueOptionsInput, typeof MQUEUE_LIMITS>({
  kind: 'mqueue',
  description: 'POSIX message queues, one per subscribing service, with an in-flight journal',
  capabilities: { localOnly: true, eventsOnly: true, durable: true },
  fallback: ['uds', 'tcp'],
  resolveOptions: (input, read) => resolveMqueueOptions(input, read),
  limits: MQUEUE_LIMITS,
  purgeDurable(address, runtimeDir) {
    const removed: string[] = [];
    if (address.kind === 'mqueue' && typeof address.queue === 'string') {
      const queues = [address.queue, ...partitionQueues(address.queue, Number.isInteger(address.partitions) ? (address.partitions as number) : 0)];
      for (const queue of queues) {
        try {
          MessageQueue.open(queue).close(); // refuses a queue that is not this user's: that one stays
          MessageQueue.unlink(queue);
          removed.push(queue);
        } catch {
          // already gone, or not ours
        }
      }
    }
    // Events larger than a queue message wait in ownerless segments that only a reader
    // removes, and subscribers keep what they were handling in in-flight journals: with
    // the queues gone, both would stay in /dev/shm.
    const prefixes = ['evbody.', 'evjournal.'].map((kind) => `${runtimeDir.objectPrefix()}${kind}`);
    let entries: string[] = [];
    try {
      entries = readdirSync('/dev/shm');
    } catch {
      // no /dev/shm: nothing left there
    }
    for (const entry of entries) if (prefixes.some((prefix) => entry.startsWith(prefix))) unlinkOwnShmEntry(entry);
    return removed;
  },
  partitionsOf: (address) => (address.kind === 'mqueue' && Number.isInteger(address.partitions) ? (address.partitions as number) : 0),
  partitionAddress: (address, p) => {
    if (address.kind !== 'mqueue' || typeof address.queue !== 'string') throw new TypeError(`not a message queue's address: ${JSON.stringify(address)}`);
    return { kind: 'mqueue', queue: `${address.queue}.p${p}`, depth: address.depth, messageSize: address.messageSize };
  },
  module: transportModule(MqueueTransport, MQUEUE_OPTIONS),
  // Required when asked for, by tests only: importing the plugin does not load it.
  rawChannel: async () => (require('./mqueue.raw-channel') as typeof import('./mqueue.raw-channel')).mqueueRawChannel,
});

/**
 * The partition queues beside `queue`: listed where queues can be (so those of an earlier,
 * larger replica count go too), otherwise the `partitions` the record announces.
 */
function partitionQueues(queue: string, partitions: number): string[] {
  const listing = listQueues();
  const uid = process.getuid?.() ?? 0;
  if (listing.ok)
    return listing.queues.filter((q) => q.uid === uid && /^\.p\d+$/.test(q.name.slice(queue.length)) && q.name.startsWith(queue)).map((q) => q.name);
  return Array.from({ length: Math.min(partitions, 256) }, (_, p) => `${queue}.p${p}`);
}
