import type { PeerInfo } from '../transports/contract/transport';

/**
 * What a handler can learn about the call it is serving; inject it with `@Ctx()`.
 * `signal` aborts when the caller cancels, times out or disconnects.
 */
export class CallContext {
  private controller: AbortController | null = null;

  constructor(
    /** `service.endpoint` for calls, the event name for events. */
    readonly route: string,
    /** Correlation id of the call on its connection. */
    readonly id: number,
    readonly peer: PeerInfo,
    /** For events: the event id (publisher and sequence), stable across redeliveries. */
    readonly eventId?: string,
  ) {}

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  get cancelled(): boolean {
    return this.controller?.signal.aborted ?? false;
  }

  /** Called by the framework when the caller gives up. */
  cancel(reason: string): void {
    (this.controller ??= new AbortController()).abort(new Error(reason));
  }
}
