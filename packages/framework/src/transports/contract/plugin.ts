import { ContainerModule, type Newable } from 'inversify';
import type { Logger } from '../../core/logger';
import type { OptionReader } from '../../core/options';
import type { PeerPolicyConfig } from '../../core/peer-policy';
import type { RuntimeDir } from '../../core/runtime-dir';
import type { TlsFileOptions } from '../../core/tls-files';
import { TRANSPORT, type Transport, type TransportAddress, type TransportKind } from './transport';

/** What a mechanism can and cannot do: the binding resolver decides from these alone. */
export interface TransportCapabilities {
  /** Reaches only processes on this host (a kernel object or a socket file). */
  readonly localOnly: boolean;
  /** Carries one-way events only: there is no reply path for requests. */
  readonly eventsOnly: boolean;
  /** Keeps what was sent while no receiver runs, and delivers it when one comes back. */
  readonly durable: boolean;
  /** Reaches only threads of the caller's own process (a service hosted in a worker thread). */
  readonly sameProcessOnly?: boolean;
}

/**
 * What every transport may know of the process it serves, besides its own options: nothing
 * else of the configuration reaches it.
 */
export interface TransportContext {
  /** Where this namespace's sockets and kernel object names live; undefined where a transport needs none (a client of a known address). */
  readonly runtimeDir: RuntimeDir | undefined;
  readonly logger: Logger;
  readonly namespace: string;
  readonly instance: string;
  /** How long a graceful stop waits; transports that hold work (queues) keep it that long. */
  readonly gracePeriodMs: number;
  /** Who may connect to the Unix sockets of this process's services. */
  readonly peers: PeerPolicyConfig;
  /** The process's TLS files, when configured (TCP across hosts, NATS). */
  readonly tls?: TlsFileOptions;
}

/**
 * A per-service setting a deployment manifest may give under `limits` (hostmesh.json). The
 * supervisor passes it to the service as the environment variable `env`, which is what the
 * plugin's own options read: the name, the variable and the bounds are written once, here.
 */
export interface ManifestLimit {
  readonly env: string;
  readonly description: string;
  readonly minimum: number;
  readonly maximum?: number;
  /** Only powers of two (from `minimum` to `maximum`) are accepted. */
  readonly powerOfTwo?: boolean;
  /** Only multiples of this are accepted. */
  readonly multipleOf?: number;
}

/** Injection token of the TransportContext. */
export const TRANSPORT_CONTEXT = Symbol.for('hostmesh:transport-context');

/**
 * A mechanism, described by itself: one object per transport, in its folder, and one line in
 * the plugin list (plugins/transport-plugins.ts). The binding resolver, the configuration and
 * the exported kinds are derived from that list.
 */
export interface TransportPlugin<Options = unknown, Kind extends TransportKind = TransportKind, Input = unknown> {
  readonly kind: Kind;
  /** A line for docs and `hostmesh doctor`. */
  readonly description: string;
  readonly capabilities: TransportCapabilities;
  /** Where a binding of this kind goes when it cannot be used in a process, best first. */
  readonly fallback: readonly TransportKind[];
  /**
   * Its options from their slice of MeshOptions (`input`, under the plugin's kind) and the
   * HOSTMESH_* environment; every bad value names its option. Undefined when the mechanism is
   * not enabled in this process (NATS without servers): it is then not registered at all.
   */
  resolveOptions(input: Input | undefined, read: OptionReader, context: Omit<TransportContext, 'runtimeDir' | 'logger'>): Options | undefined;
  /**
   * For durable mechanisms: removes what a subscription keeps in the kernel (its queue, with
   * the events it still holds, and their side objects), given its listener's address. Returns
   * the names removed. For `hostmesh down --purge` and tests.
   */
  purgeDurable?(address: TransportAddress, runtimeDir: RuntimeDir): string[];
  /**
   * For a durable mechanism whose listener may be split into partitions (ListenRequest.partitions):
   * how many its address announces (0 or 1: none), and the address of partition `p`.
   */
  partitionsOf?(address: TransportAddress): number;
  partitionAddress?(address: TransportAddress, p: number): TransportAddress;
  /** The settings of this mechanism a manifest may give each service (`limits.<name>`). */
  readonly limits?: Readonly<Record<string, ManifestLimit>>;
  /** Registers the transport, with its options, in a process's container. */
  module(options: Options): ContainerModule;
  /**
   * For tests and tools: loads this mechanism's raw channel, a way to put arbitrary bytes on
   * one of its listeners (the malformed-frame conformance cases; testing's rawChannelFactory
   * finds it here). A loader, so that a process which imports the plugin never loads it.
   */
  rawChannel?(): Promise<RawChannelFactory>;
}

/** Arbitrary bytes on a transport, past the framing and the checks of its connections. */
export interface RawChannel {
  write(bytes: Buffer): void;
  /** Resolves when the service has closed the channel. */
  readonly closed: Promise<void>;
  close(): void;
}

/** What a raw channel is given besides the address of the listener it opens a channel to. */
export interface RawChannelContext {
  /** The environment its options are read from, as the plugin's resolveOptions reads them (HOSTMESH_NATS_SERVERS, …). */
  readonly env: NodeJS.ProcessEnv;
  /** The plugin's slice of the caller's MeshOptions (under its kind), if any. */
  readonly input?: unknown;
  /** The TLS files the channel presents (a TLS tcp listener, NATS over TLS): tests pass their test certificates here. */
  readonly tls?: TlsFileOptions;
}

/** Opens a raw channel to the listener at `address` (its kind is the plugin's). */
export type RawChannelFactory = (address: TransportAddress, context: RawChannelContext) => Promise<RawChannel>;

/** Keeps a plugin's options type (and the names of its limits) while checking it against the contract. */
export function transportPlugin<
  Options,
  const Kind extends TransportKind,
  Input = undefined,
  Limits extends Record<string, ManifestLimit> = Record<never, ManifestLimit>,
>(plugin: TransportPlugin<Options, Kind, Input> & { readonly limits?: Limits }): TransportPlugin<Options, Kind, Input> & { readonly limits?: Limits } {
  return plugin;
}

/**
 * The container module most transports need: their class, one instance per container, as a
 * TRANSPORT; and their resolved options under `optionsToken`, for the class to inject.
 */
export function transportModule<Options>(transport: Newable<Transport>, optionsToken?: symbol): (options: Options) => ContainerModule {
  return (options) =>
    new ContainerModule(({ bind }) => {
      if (optionsToken !== undefined) bind(optionsToken).toConstantValue(options);
      bind(transport).toSelf().inSingletonScope();
      bind(TRANSPORT).toService(transport);
    });
}
