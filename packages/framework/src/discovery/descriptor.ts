import type { TransportKind } from '../metadata/types';
import type { TransportAddress } from '../transports/contract/transport';

export interface RouteDescriptor {
  /** Endpoint name as clients call it (the method name unless renamed). */
  name: string;
  id: number;
  binding: TransportKind;
  timeoutMs?: number;
  /** Calling it again after a retryable failure is safe (`@Endpoint({ idempotent: true })`). */
  idempotent?: boolean;
  /** How long one attempt may take before a caller tries another replica. */
  attemptTimeoutMs?: number;
  /** How callers spread calls over the replicas (when their contract does not say). */
  balance?: 'least-in-flight' | 'round-robin';
  /** The request FIFO, when the endpoint is exposed to shells. */
  shell?: string;
}

export interface SubscriptionDescriptor {
  event: string;
  id: number;
  binding: TransportKind;
  /** Every instance takes this event, not one of the service's replicas (EventTypeOptions.broadcast). */
  broadcast?: boolean;
}

/** What a running service instance announces in the registry. */
export interface ServiceDescriptor {
  schema: 1;
  service: string;
  instance: string;
  pid: number;
  /** Set when the service runs in a worker thread of that process (ServiceHost.startInWorker). */
  threadId?: number;
  /** Process start time in clock ticks since boot: with the pid, names the process uniquely. */
  startTime: number;
  host: string;
  startedAt: string;
  listeners: Partial<Record<TransportKind, TransportAddress>>;
  routes: RouteDescriptor[];
  subscriptions: SubscriptionDescriptor[];
  maxPayloadBytes: number;
  /**
   * Set for a service on another host. `via: 'manifest'` (or absent): announced by the
   * supervisor that read the manifest (`pid`/`startTime` are then the supervisor's: the entry
   * lives as long as it does); its routes are unknown here and every call goes to its TCP
   * listener. `via: 'nats'`: heard of over NATS (never written to a file); calls and events
   * go over NATS.
   */
  remote?: { host: string; via?: 'manifest' | 'nats' };
}

/**
 * A durable subscription: a service's event queue and the events it takes. Written when
 * the service starts, kept while it is down, so publishers keep filling the queue.
 */
export interface SubscriptionRecord {
  schema: 1;
  service: string;
  /** Where publishers deliver (a message queue). */
  address: TransportAddress;
  events: string[];
}

/** Returns the descriptor when `value` has its shape, otherwise the reason it does not. */
export function checkDescriptor(value: unknown): ServiceDescriptor | string {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const d = value as Record<string, unknown>;
  if (d.schema !== 1) return `unknown schema ${JSON.stringify(d.schema)}`;
  for (const field of ['service', 'instance', 'host', 'startedAt'] as const) {
    if (typeof d[field] !== 'string') return `${field} is not a string`;
  }
  for (const field of ['pid', 'startTime', 'maxPayloadBytes'] as const) {
    if (!Number.isInteger(d[field])) return `${field} is not an integer`;
  }
  if (typeof d.listeners !== 'object' || d.listeners === null) return 'listeners is not an object';
  if (!Array.isArray(d.routes)) return 'routes is not an array';
  if (!Array.isArray(d.subscriptions)) return 'subscriptions is not an array';
  return value as ServiceDescriptor;
}
