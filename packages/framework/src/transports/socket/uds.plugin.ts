import { transportModule, transportPlugin } from '../contract/plugin';
import { UdsTransport } from './uds.transport';

declare module '../contract/transport' {
  interface TransportKinds {
    uds: true;
  }
}

/** Unix domain stream sockets: the same-host mechanism every platform has. */
export const udsPlugin = transportPlugin({
  kind: 'uds',
  description: 'Unix domain stream sockets, peers checked by SO_PEERCRED',
  capabilities: { localOnly: true, eventsOnly: false, durable: false },
  fallback: ['tcp'],
  resolveOptions: () => ({}),
  module: transportModule(UdsTransport),
  // Required when asked for, by tests only: importing the plugin does not load it.
  rawChannel: async () => (require('./uds.raw-channel') as typeof import('./uds.raw-channel')).udsRawChannel,
});
