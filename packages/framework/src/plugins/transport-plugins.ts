import type { TransportPlugin } from '../transports/contract/plugin';
import type { TransportKind } from '../transports/contract/transport';
import { fifoPlugin } from '../transports/fifo/fifo.plugin';
import { mqueuePlugin } from '../transports/mqueue/mqueue.plugin';
import { natsPlugin } from '../transports/nats/nats.plugin';
import { shmPlugin } from '../transports/shm/shm.plugin';
import { tcpPlugin } from '../transports/socket/tcp.plugin';
import { udsPlugin } from '../transports/socket/uds.plugin';
import { threadPlugin } from '../transports/thread/thread.plugin';

/**
 * Every mechanism this framework has, one line each: the binding resolver, the configuration
 * (each plugin's slice of MeshOptions, under its kind) and the container are derived from this
 * list. Adding a transport is its folder plus one line here.
 */
export const TRANSPORT_PLUGINS = [udsPlugin, tcpPlugin, shmPlugin, mqueuePlugin, fifoPlugin, natsPlugin, threadPlugin] as const;

type Plugin = (typeof TRANSPORT_PLUGINS)[number];
type OptionsOf<P> = P extends TransportPlugin<infer Options, TransportKind, unknown> ? Options : never;
type InputOf<P> = P extends { resolveOptions(input: infer Input, ...rest: never[]): unknown } ? Exclude<Input, undefined> : never;

/** Each plugin's slice of MeshOptions, keyed by its kind (`shm: { ringBytes }`, …). */
export type TransportOptionsInput = { [P in Plugin as P['kind']]?: InputOf<P> };
/** Each enabled plugin's resolved options, keyed by its kind; a kind is absent when its plugin is not enabled (nats without servers). */
export type TransportOptions = { [P in Plugin as P['kind']]?: OptionsOf<P> };

const byKind = new Map<string, TransportPlugin>(TRANSPORT_PLUGINS.map((plugin) => [plugin.kind, plugin as TransportPlugin]));

/** The plugin of `kind`, or undefined for a kind no plugin has. */
export function pluginOf(kind: string): TransportPlugin | undefined {
  return byKind.get(kind);
}

/** Every kind, in the list's order. */
export const TRANSPORT_KINDS: readonly TransportKind[] = TRANSPORT_PLUGINS.map((plugin) => plugin.kind);
