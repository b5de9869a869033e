import type { Contract } from '../contracts/contract';
import { TRANSPORT_KINDS } from '../plugins/transport-plugins';
import type { TransportKind } from '../transports/contract/transport';

export type { TransportKind };
/** What a decorator or a deployment may ask for: a mechanism, `socket` (uds here, tcp across hosts) or `auto`. */
export type BindingRequest = TransportKind | 'socket' | 'auto';
export const BINDING_REQUESTS: readonly BindingRequest[] = ['auto', 'socket', ...TRANSPORT_KINDS];

/** Signals a service may handle itself; SIGTERM/SIGINT belong to the host (use @OnStop). */
export type ServiceSignal = 'SIGHUP' | 'SIGUSR2' | 'SIGWINCH' | 'SIGCONT';
export const SERVICE_SIGNALS: readonly ServiceSignal[] = ['SIGHUP', 'SIGUSR2', 'SIGWINCH', 'SIGCONT'];

export interface ServiceOptions {
  /** Default binding for every endpoint of the service. */
  binding?: BindingRequest;
  /**
   * Send callers the message of any error a handler throws. By default an error that is not
   * meant for callers (not a HostmeshError, not registered with registerErrorType, without a
   * string `code`) reaches them as InternalError naming the call, and only the log has it.
   */
  exposeErrors?: boolean;
}

export interface ServiceMetadata {
  contract: Contract<unknown>;
  options: ServiceOptions;
}

export interface EndpointOptions {
  /** Route name on the wire; defaults to the method name. */
  name?: string;
  /** The mechanism this endpoint prefers; the deployment's override wins. */
  binding?: BindingRequest;
  /** Default timeout for callers of this endpoint, in milliseconds. */
  timeoutMs?: number;
  /**
   * Calling it twice does no harm: a caller whose call failed with a retryable error (the
   * replica died, stopped answering, or said so) may call again, on another replica
   * ([resilience](../../../../docs/resilience.md)). Without it only calls that never reached a
   * handler are retried.
   */
  idempotent?: boolean;
  /**
   * For an idempotent endpoint of a service with several replicas: how long one attempt may
   * take before the caller tries another replica. Default: half the call's timeout.
   */
  attemptTimeoutMs?: number;
  /**
   * A bulkhead: at most `limit` calls of this endpoint run at once in this instance (all
   * callers together), at most `queue` (default 0) wait for a slot; beyond that a call is
   * refused with QueueFullError (retryable: it never reached a handler).
   */
  bulkhead?: { limit: number; queue?: number };
  /** How callers spread calls over the replicas, unless their contract says (`balance: { key }` needs the contract). */
  balance?: 'least-in-flight' | 'round-robin';
  /**
   * Also expose the endpoint to shells: JSON lines on a named pipe,
   * `<runtime>/<namespace>/pipes/<service>@<instance>/<endpoint>.in` (replies on `.out`).
   */
  shell?: boolean;
}

export interface EndpointMetadata {
  method: string;
  options: EndpointOptions;
}

export interface EventTypeOptions {
  /** 0 (lowest) to 31 (highest), as POSIX message queues order them. */
  priority?: number;
  /**
   * When a subscriber's queue is full: `wait` for room (default, bounded by the publish
   * timeout, then QueueFullError) or `reject` at once with QueueFullError.
   */
  whenFull?: 'wait' | 'reject';
  /**
   * Every running instance of each subscribing service gets the event (a cache to drop, a
   * setting to reload), rather than one replica from the service's queue. Delivered to each
   * instance's own listener, at most once: an instance that is down misses it.
   */
  broadcast?: boolean;
  /**
   * Per-key ordering: events with the same key are handled one after another, in the order
   * they were published, by one replica of each subscribing service. A field name of the
   * event, or a function of it; the key is compared as a string. Events with different
   * keys still run side by side.
   */
  key?: string | ((event: never) => string | number);
}

export interface EventTypeMetadata {
  name: string;
  options: EventTypeOptions;
}

export interface SubscriptionMetadata {
  method: string;
  event: Function;
}

export type LifecycleHook = 'start' | 'stop';

export interface LifecycleMetadata {
  method: string;
  hook: LifecycleHook;
}

export interface SignalMetadata {
  method: string;
  signal: string;
}

export interface ContextParamMetadata {
  method: string;
  index: number;
}

/** Guards or interceptors given by a decorator: for the whole class (`method` undefined) or one method. */
export interface PipelineMetadata<T> {
  method: string | undefined;
  refs: T[];
}
