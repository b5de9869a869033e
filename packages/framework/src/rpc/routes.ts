import type { CallContext } from '../contracts/call-context';
import type { RouteMetrics } from './metrics';
import type { Bulkhead } from './bulkhead';

/** A server-side endpoint, ready to invoke: built once at bootstrap. */
export interface EndpointRoute {
  /** `service.endpoint` */
  name: string;
  id: number;
  /** Whether `invoke` needs a CallContext (for @Ctx(), guards or interceptors). */
  needsContext: boolean;
  /** Runs the endpoint's pipeline and handler; `context` is null when none was needed. */
  invoke(args: unknown[], context: CallContext | null): unknown;
  /** The endpoint's own timeout, which callers wait by default: the deadline of a call that sends none. */
  timeoutMs: number;
  /** Send callers the message of every error (ServiceOptions.exposeErrors). */
  exposeErrors: boolean;
  /** The endpoint's concurrency limit, when it has one (@Endpoint({ bulkhead })). */
  bulkhead: Bulkhead | null;
  readonly metrics: RouteMetrics;
}

export interface EventRoute {
  name: string;
  id: number;
  /** Turns a decoded body into an instance of the @EventType class. */
  revive(body: unknown): object;
  /** The event's ordering key (EventTypeOptions.key): events with one key are handled one after another. */
  keyOf?: (event: object) => string;
  handlers: Array<{ label: string; contextIndex: number; invoke(args: unknown[]): unknown }>;
  readonly metrics: RouteMetrics;
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
