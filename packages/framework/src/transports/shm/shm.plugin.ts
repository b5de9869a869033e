import { transportModule, transportPlugin } from '../contract/plugin';
import { resolveShmOptions, SHM_LIMITS, SHM_OPTIONS, type ShmOptions, type ShmOptionsInput } from './shm.options';
import { ShmTransport } from './shm.transport';

declare module '../contract/transport' {
  interface TransportKinds {
    shm: true;
  }
}

/** Shared-memory rings and doorbells: the fastest request/response on one host. */
export const shmPlugin = transportPlugin<ShmOptions, 'shm', ShmOptionsInput, typeof SHM_LIMITS>({
  kind: 'shm',
  description: 'shared-memory rings with doorbell semaphores, one pair per connection',
  capabilities: { localOnly: true, eventsOnly: false, durable: false },
  fallback: ['uds', 'tcp'],
  resolveOptions: (input, read) => resolveShmOptions(input, read),
  limits: SHM_LIMITS,
  module: transportModule(ShmTransport, SHM_OPTIONS),
  // Required when asked for, by tests only: importing the plugin does not load it.
  rawChannel: async () => (require('./shm.raw-channel') as typeof import('./shm.raw-channel')).shmRawChannel,
});
