import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context, Span } from '@opentelemetry/api';
import { performance } from 'node:perf_hooks';
import { CallTimeoutError } from '../core/errors/errors';
import { METADATA_KEYS, type CallMetadata } from '../protocol/metadata';
import type { PeerInfo } from '../transports/contract/transport';

const scope = new AsyncLocalStorage<CallContext>();
/**
 * Whether handlers run inside the async-local scope. Node 20's AsyncLocalStorage slows every
 * promise once it is entered, so a service enters it only once it can make calls of its own
 * (it created a client): there a nested call finds its parent. A leaf service pays nothing.
 */
let propagating = false;

/**
 * What a handler can learn about the call it is serving: inject it with `@Ctx()`, or read
 * `CallContext.current()` anywhere in the handler's async code.
 * `signal` aborts when the caller cancels, times out or disconnects, or the deadline passes.
 */
export class CallContext {
  private controller: AbortController | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ended = false;
  private gone = false;
  /** The OpenTelemetry context the handler runs in (its server or consumer span), when an SDK is registered. */
  trace: Context | undefined = undefined;
  /** That span, ended by the framework when the handler settles. */
  span: Span | undefined = undefined;

  constructor(
    /** `service.endpoint` for calls, the event name for events. */
    readonly route: string,
    /** Correlation id of the call on its connection. */
    readonly id: number,
    /** Who called: the mechanism, its address, and its kernel identity (pid, uid, gid) where the mechanism knows it. */
    readonly peer: PeerInfo,
    /** For events: the event id (publisher and sequence), stable across redeliveries. */
    readonly eventId?: string,
    /** What the caller sent beside the arguments: deadline, trace context, headers. */
    readonly metadata: CallMetadata = EMPTY,
    /** When the caller stops waiting, on `performance.now()`'s clock; Infinity when unknown. */
    private _deadline: number = deadlineFrom(metadata),
  ) {}

  /** When the caller stops waiting, on `performance.now()`'s clock; Infinity when unknown. */
  get deadline(): number {
    return this._deadline;
  }

  /**
   * The call streams its results: it lasts as long as its caller reads, so the deadline the
   * service assumed (the endpoint's timeout) no longer applies. One the caller sent still does.
   */
  unbound(): void {
    if (this.header(METADATA_KEYS.deadline) !== undefined || this._deadline === Infinity) return;
    this._deadline = Infinity;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The context of the call whose handler is running, in its async code; undefined outside a handler. */
  static current(): CallContext | undefined {
    return scope.getStore();
  }

  /** Milliseconds until the caller stops waiting (Infinity when it did not say; 0 once passed). */
  get remainingMs(): number {
    return this._deadline === Infinity ? Infinity : Math.max(0, this._deadline - performance.now());
  }

  /** A header the caller sent (`$with({ headers })`), or a reserved entry such as `traceparent`. */
  header(name: string): string | number | undefined {
    return Object.hasOwn(this.metadata, name) ? this.metadata[name] : undefined;
  }

  /** Whether the handler has settled: timers it left behind must not act on its behalf. */
  get settled(): boolean {
    return this.ended;
  }

  /** Whether the caller cancelled or went away: it waits for no answer. */
  get callerGone(): boolean {
    return this.gone;
  }

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      // The deadline is watched only once someone listens: a timer per call costs otherwise.
      // Beyond what a timer can hold (2^31 - 1 ms) a deadline is as good as none.
      if (this.deadline !== Infinity && !this.ended && this.deadline - performance.now() <= MAX_TIMER_MS) {
        const remaining = this.deadline - performance.now();
        if (remaining <= 0) this.abort(new CallTimeoutError(`${this.route}: the caller's deadline passed`));
        else {
          this.timer = setTimeout(() => this.abort(new CallTimeoutError(`${this.route}: the caller's deadline passed`)), Math.ceil(remaining));
          this.timer.unref();
        }
      }
    }
    return this.controller.signal;
  }

  get cancelled(): boolean {
    return this.controller?.signal.aborted ?? false;
  }

  /** Called by the framework when the caller gives up. */
  cancel(reason: string): void {
    this.gone = true;
    this.abort(new Error(reason));
  }

  /** Called by the framework when the handler has settled: nothing is watched any more. */
  end(): void {
    this.ended = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private abort(reason: Error): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    (this.controller ??= new AbortController()).abort(reason);
  }
}

const EMPTY: CallMetadata = Object.freeze({});
/** The longest delay setTimeout honours; a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The deadline a call's metadata gives, on this process's clock; without one, `fallbackMs`
 * from now: callers that set no timeout of their own wait the endpoint's, and do not send it.
 */
export function deadlineFrom(metadata: CallMetadata | undefined, fallbackMs = Infinity): number {
  const remaining = metadata?.[METADATA_KEYS.deadline];
  if (typeof remaining === 'number' && remaining >= 0) return remaining > MAX_TIMER_MS ? Infinity : performance.now() + remaining;
  return fallbackMs > MAX_TIMER_MS ? Infinity : performance.now() + fallbackMs;
}

/** From now on handlers in this process run inside the call scope (a client was created here). */
export function propagateCallContext(): void {
  propagating = true;
}

/** Whether handlers must run inside the call scope. */
export function isPropagating(): boolean {
  return propagating;
}

/** Runs `invoke(args, context)` with `context` as `CallContext.current()` for everything it starts. */
export function runInScope(context: CallContext, invoke: (args: unknown[], context: CallContext) => unknown, args: unknown[]): unknown {
  return scope.run(context, invoke, args, context);
}
