import { transportModule, transportPlugin } from '../contract/plugin';
import { NATS_OPTIONS, resolveNatsOptions, type NatsConfig, type NatsOptions } from './nats.options';
import { NatsTransport } from './nats.transport';

declare module '../contract/transport' {
  interface TransportKinds {
    nats: true;
  }
}

/** Request/response and events through NATS servers, for deployments of many hosts. */
export const natsPlugin = transportPlugin<NatsConfig, 'nats', NatsOptions>({
  kind: 'nats',
  description: 'NATS subjects per connection, heartbeats, for deployments of many hosts',
  capabilities: { localOnly: false, eventsOnly: false, durable: false },
  fallback: ['tcp'],
  resolveOptions: (input, read, context) => resolveNatsOptions(input, read, context.tls),
  module: transportModule(NatsTransport, NATS_OPTIONS),
  // Required when asked for, by tests only: importing the plugin does not load it.
  rawChannel: async () => (require('./nats.raw-channel') as typeof import('./nats.raw-channel')).natsRawChannel,
});
