import { BootstrapError } from '../core/errors/errors';
import type { BindingRequest, TransportKind } from '../metadata/types';
import { pluginOf, TRANSPORT_PLUGINS } from '../plugins/transport-plugins';

export interface BindingQuery {
  /** What the decorator asked for. */
  requested: BindingRequest;
  /** What the deployment says; wins over `requested`. */
  override?: BindingRequest | undefined;
  purpose: 'endpoint' | 'event';
  /** Whether the peer runs on this host. */
  sameHost: boolean;
  /**
   * Whether the peer runs in this process (a service in one of its worker threads). Unset
   * where it is not known yet: a service choosing its listeners serves callers of any process.
   */
  sameProcess?: boolean;
  /** Transports registered in this process. */
  available: ReadonlySet<string>;
}

export interface BindingDecision {
  kind: TransportKind;
  /** Set when the preferred mechanism could not be used, with why. */
  fallback?: { from: TransportKind; reason: string };
}

/**
 * Where to go when a mechanism is unavailable, from each plugin's own `fallback`: every chain
 * ends in a socket, which every platform has.
 */
export const FALLBACK_CHAIN: Readonly<Record<TransportKind, readonly TransportKind[]>> = Object.fromEntries(
  TRANSPORT_PLUGINS.map((plugin) => [plugin.kind, plugin.fallback]),
) as Record<TransportKind, readonly TransportKind[]>;

/** The preferred mechanism for a request, before availability is considered. */
export function preferredKind(request: BindingRequest, purpose: BindingQuery['purpose'], sameHost: boolean): TransportKind {
  switch (request) {
    case 'auto':
      if (!sameHost) return 'tcp';
      return purpose === 'event' ? 'mqueue' : 'shm';
    case 'socket':
      return sameHost ? 'uds' : 'tcp';
    default:
      return request;
  }
}

/**
 * Decides the mechanism of one binding: the deployment's override beats the decorator,
 * `auto` picks shm for same-host endpoints, mqueue for events and tcp across hosts, and
 * an unavailable mechanism falls back along FALLBACK_CHAIN. Pure: no I/O, no logging.
 */
export function resolveBinding(query: BindingQuery): BindingDecision {
  const preferred = preferredKind(query.override ?? query.requested, query.purpose, query.sameHost);
  const capabilities = pluginOf(preferred)?.capabilities;
  if (!capabilities) throw new BootstrapError(`unknown transport '${preferred}': the plugins are ${Object.keys(FALLBACK_CHAIN).join(', ')}`);
  if (query.purpose === 'endpoint' && capabilities.eventsOnly) {
    const kind = query.sameHost ? 'uds' : 'tcp';
    return { kind, fallback: { from: preferred, reason: `${preferred} carries events only, not request/response` } };
  }
  if (!query.sameHost && capabilities.localOnly) {
    return { kind: 'tcp', fallback: { from: preferred, reason: `${preferred} cannot reach a peer on another host` } };
  }
  if (query.sameProcess === false && capabilities.sameProcessOnly) {
    const kind = pluginOf(preferred)!.fallback.find((next) => query.available.has(next) && !pluginOf(next)?.capabilities.sameProcessOnly);
    if (kind === undefined)
      throw new BootstrapError(
        `no transport can carry a '${preferred}' binding to another process: registered transports are ${[...query.available].join(', ')}`,
      );
    return { kind, fallback: { from: preferred, reason: `${preferred} reaches only threads of its own process` } };
  }
  if (query.available.has(preferred)) return { kind: preferred };
  for (const kind of FALLBACK_CHAIN[preferred]) {
    if (query.available.has(kind)) {
      return { kind, fallback: { from: preferred, reason: `no '${preferred}' transport is registered in this process` } };
    }
  }
  throw new BootstrapError(`no transport can carry a '${preferred}' binding: registered transports are ${[...query.available].join(', ') || 'none'}`);
}

/** The override for one binding: `service.name` beats `name` beats `service.*` beats `*`. */
export function bindingOverride(bindings: Readonly<Record<string, BindingRequest>>, service: string, name: string): BindingRequest | undefined {
  return bindings[`${service}.${name}`] ?? bindings[name] ?? bindings[`${service}.*`] ?? bindings['*'];
}
