import { readdirSync } from 'node:fs';
import { MessageQueue, unlinkOwnShmEntry } from '@hostmesh/native';
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
      try {
        MessageQueue.open(address.queue).close(); // refuses a queue that is not this user's: that one stays
        MessageQueue.unlink(address.queue);
        removed.push(address.queue);
      } catch {
        // already gone, or not ours
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
  module: transportModule(MqueueTransport, MQUEUE_OPTIONS),
  // Required when asked for, by tests only: importing the plugin does not load it.
  rawChannel: async () => (require('./mqueue.raw-channel') as typeof import('./mqueue.raw-channel')).mqueueRawChannel,
});
