import type { ManifestLimit, TransportPlugin } from '../transports/contract/plugin';
import type { TransportKind } from '../transports/contract/transport';
import * as transports from './all-transports';

type Plugin = (typeof transports)[keyof typeof transports];

/**
 * Every mechanism this framework has (all-transports.ts, one line each): the binding resolver,
 * the configuration (each plugin's slice of MeshOptions, under its kind), the container, the
 * binding names and the exports are derived from this list.
 */
// By kind: the same order whether the module namespace keeps its declaration order or not.
export const TRANSPORT_PLUGINS: readonly Plugin[] = Object.values(transports).sort((a, b) => a.kind.localeCompare(b.kind));

type OptionsOf<P> = P extends TransportPlugin<infer Options, TransportKind, unknown> ? Options : never;
type InputOf<P> = P extends { resolveOptions(input: infer Input, ...rest: never[]): unknown } ? Exclude<Input, undefined> : never;

/** Each plugin's slice of MeshOptions, keyed by its kind (`shm: { ringBytes }`, …). */
export type TransportOptionsInput = { [P in Plugin as P['kind']]?: InputOf<P> };
/** Each enabled plugin's resolved options, keyed by its kind; a kind is absent when its plugin is not enabled (nats without servers). */
export type TransportOptions = { [P in Plugin as P['kind']]?: OptionsOf<P> };

type LimitNameOf<P> = P extends { readonly limits?: infer L } ? (L extends Record<string, ManifestLimit> ? keyof L & string : never) : never;
/** The names of the plugins' manifest limits (`shmRingBytes`, `mqueueDepth`, …). */
export type TransportLimitName = LimitNameOf<Plugin>;

const byKind = new Map<string, TransportPlugin>(TRANSPORT_PLUGINS.map((plugin) => [plugin.kind, plugin as TransportPlugin]));

/** The plugin of `kind`, or undefined for a kind no plugin has. */
export function pluginOf(kind: string): TransportPlugin | undefined {
  return byKind.get(kind);
}

/** Every kind, in the list's order. */
export const TRANSPORT_KINDS: readonly TransportKind[] = TRANSPORT_PLUGINS.map((plugin) => plugin.kind);
