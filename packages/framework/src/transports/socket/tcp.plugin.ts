import { transportModule, transportPlugin } from '../contract/plugin';
import { resolveTcpOptions, TCP_OPTIONS, type TcpOptions, type TcpOptionsInput } from './tcp.options';
import { TcpTransport } from './tcp.transport';

declare module '../contract/transport' {
  interface TransportKinds {
    tcp: true;
  }
}

/** TCP, with mutual TLS across hosts: the end of every fallback chain. */
export const tcpPlugin = transportPlugin<TcpOptions, 'tcp', TcpOptionsInput>({
  kind: 'tcp',
  description: 'TCP sockets, loopback by default, mutual TLS across hosts',
  capabilities: { localOnly: false, eventsOnly: false, durable: false },
  fallback: [],
  resolveOptions: (input, read) => resolveTcpOptions(input, read),
  module: transportModule(TcpTransport, TCP_OPTIONS),
  // Required when asked for, by tests only: importing the plugin does not load it.
  rawChannel: async () => (require('./tcp.raw-channel') as typeof import('./tcp.raw-channel')).tcpRawChannel,
});
