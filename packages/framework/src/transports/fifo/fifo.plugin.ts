import { transportModule, transportPlugin } from '../contract/plugin';
import { FifoTransport } from './fifo.transport';

declare module '../contract/transport' {
  interface TransportKinds {
    fifo: true;
  }
}

/** Frames over a pair of named pipes per connection, where only pipes may be used. */
export const fifoPlugin = transportPlugin({
  kind: 'fifo',
  description: 'a pair of named pipes per connection, handshake over a Unix socket',
  capabilities: { localOnly: true, eventsOnly: false, durable: false },
  fallback: ['uds', 'tcp'],
  resolveOptions: () => ({}),
  module: transportModule(FifoTransport),
  // Required when asked for, by tests only: importing the plugin does not load it.
  rawChannel: async () => (require('./fifo.raw-channel') as typeof import('./fifo.raw-channel')).fifoRawChannel,
});
