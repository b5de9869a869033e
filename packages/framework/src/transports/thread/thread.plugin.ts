import { transportModule, transportPlugin } from '../contract/plugin';
import { resolveThreadOptions, THREAD_OPTIONS, type ThreadOptions, type ThreadOptionsInput } from './thread.options';
import { ThreadTransport } from './thread.transport';

declare module '../contract/transport' {
  interface TransportKinds {
    thread: true;
  }
}

/** SharedArrayBuffer rings between the threads of one process (services in worker_threads). */
export const threadPlugin = transportPlugin<ThreadOptions, 'thread', ThreadOptionsInput>({
  kind: 'thread',
  description: 'SharedArrayBuffer rings between threads of one process, woken by Atomics.notify',
  capabilities: { localOnly: true, eventsOnly: false, durable: false, sameProcessOnly: true },
  // Every service listens on its Unix socket: a caller in another process takes that.
  fallback: ['uds', 'tcp'],
  resolveOptions: (input, read) => resolveThreadOptions(input, read),
  module: transportModule(ThreadTransport, THREAD_OPTIONS),
  // Required when asked for, by tests only: importing the plugin does not load it.
  rawChannel: async () => (require('./thread.raw-channel') as typeof import('./thread.raw-channel')).threadRawChannel,
});
