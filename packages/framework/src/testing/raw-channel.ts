import type { MeshOptions } from '../config/config';
import type { ServiceDescriptor } from '../discovery/descriptor';
import { pluginOf } from '../plugins/transport-plugins';
import type { RawChannel, RawChannelContext, RawChannelFactory } from '../transports/contract/plugin';
import type { TransportKind } from '../transports/contract/transport';

export type { RawChannel, RawChannelContext, RawChannelFactory };

/** Opens a raw channel to a service's listener of one kind. */
export type RawChannelOpener = (descriptor: ServiceDescriptor) => Promise<RawChannel>;

/**
 * A way to put arbitrary bytes on the `kind` listener of a service, for the malformed-frame
 * cases: each transport's plugin announces its raw channel (`rawChannel()`, a module in its
 * folder), loaded when the first channel opens. `options` are those of the test's client
 * side: its `tls` files (a TLS tcp listener, NATS over TLS) and the transport's slice
 * (`nats: { servers }`, …); the HOSTMESH_* variables are read from `env`.
 */
export function rawChannelFactory(kind: TransportKind, options: MeshOptions = {}, env: NodeJS.ProcessEnv = process.env): RawChannelOpener {
  const context: RawChannelContext = { env, input: (options as Record<string, unknown>)[kind], ...(options.tls ? { tls: options.tls } : {}) };
  return async (descriptor) => {
    const load = pluginOf(kind)?.rawChannel;
    if (!load) throw new Error(`no raw channel for transport '${kind}': its plugin announces none (rawChannel)`);
    const address = descriptor.listeners[kind];
    if (!address) throw new Error(`${descriptor.service} has no ${kind} listener`);
    const factory = await load();
    return factory(address, context);
  };
}
