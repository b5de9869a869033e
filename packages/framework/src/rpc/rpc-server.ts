import { TooManyConnectionsError } from '../core/errors/errors';
import { toWireError } from '../core/errors/wire';
import { encodeStatelessFrame } from '../protocol/codec';
import { CONNECTION_ERROR_ID, FrameKind } from '../protocol/frame';
import type { Logger } from '../core/logger';
import type { Connection } from '../transports/contract/transport';
import type { EndpointRoute, EventRoute } from './routes';
import { ServerConnection } from './server-connection';

export interface ServerLimits {
  maxPayloadBytes: number;
  /** Connections served at once, over every listener; more are refused with TooManyConnectionsError. */
  maxConnections: number;
  /** Calls of one connection running at once; more are answered with QueueFullError. */
  maxInFlightPerConnection: number;
}

/** Serves one service's routes on every connection its listeners accept. */
export class RpcServer {
  draining = false;
  private readonly connections = new Set<ServerConnection>();
  private inFlight = 0;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly disconnectWaiters: Array<() => void> = [];

  constructor(
    readonly service: string,
    readonly routes: ReadonlyMap<number, EndpointRoute>,
    readonly events: ReadonlyMap<number, EventRoute>,
    readonly logger: Logger,
    readonly limits: ServerLimits,
  ) {}

  get maxPayloadBytes(): number {
    return this.limits.maxPayloadBytes;
  }

  private names: string[] | undefined;

  /** The endpoints it serves, by name, for an error that says which exist. */
  get endpointNames(): string[] {
    return (this.names ??= [...this.routes.values()].map((route) => route.name.slice(route.name.indexOf('.') + 1)).sort());
  }

  /** Calls and event handlers still running. */
  get inFlightCount(): number {
    return this.inFlight;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  readonly accept = (connection: Connection): void => {
    const refusal = this.admit();
    if (refusal !== undefined) {
      this.refuse(connection, refusal);
      return;
    }
    this.connections.add(new ServerConnection(this, connection));
  };

  /** Whether one more connection may be served: undefined, or the error to send its peer. */
  readonly admit = (): Error | undefined => {
    if (this.connections.size < this.limits.maxConnections) return undefined;
    const error = new TooManyConnectionsError(
      `service '${this.service}' already serves ${this.limits.maxConnections} connections (maxConnections): retry later or raise the limit`,
      { data: { limit: this.limits.maxConnections } },
    );
    this.logger.once('maxConnections', 'warn', `refusing connections: ${error.message}`);
    return error;
  };

  /** Tells the peer why before closing, so its callers get a typed error, not a bare disconnect. */
  private refuse(connection: Connection, error: Error): void {
    connection.bind({ onFrame() {}, onProtocolError() {}, onClose() {} });
    connection.write(encodeStatelessFrame(FrameKind.Error, CONNECTION_ERROR_ID, 0, toWireError(error), this.limits.maxPayloadBytes));
    connection.close();
  }

  forget(connection: ServerConnection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0) for (const wake of this.disconnectWaiters.splice(0)) wake();
  }

  callStarted(): void {
    this.inFlight++;
  }

  callEnded(): void {
    if (--this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** From now on new calls are refused with ServiceStoppingError; running ones finish. */
  startDraining(): void {
    this.draining = true;
  }

  /** Resolves true when nothing is in flight, false if `timeoutMs` passed first. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    return this.inFlight === 0 ? Promise.resolve(true) : waitFor(this.idleWaiters, timeoutMs);
  }

  /**
   * Closes every connection after flushing replies already written. Resolves true once all
   * have closed (the replies left this process: exiting before that loses them), false if
   * `timeoutMs` passed first.
   */
  closeConnections(timeoutMs: number): Promise<boolean> {
    for (const connection of this.connections) connection.close();
    return this.connections.size === 0 ? Promise.resolve(true) : waitFor(this.disconnectWaiters, timeoutMs);
  }
}

/** Adds a waker to `waiters`; resolves true when it is called, false after `timeoutMs`. */
function waitFor(waiters: Array<() => void>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      const index = waiters.indexOf(done);
      if (index >= 0) waiters.splice(index, 1);
      resolve(false);
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    waiters.push(done);
  });
}
