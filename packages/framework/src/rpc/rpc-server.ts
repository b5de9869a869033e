import type { Logger } from '../runtime/logger';
import type { Connection } from '../transports/transport';
import type { EndpointRoute, EventRoute } from './routes';
import { ServerConnection } from './server-connection';

/** Serves one service's routes on every connection its listeners accept. */
export class RpcServer {
  draining = false;
  private readonly connections = new Set<ServerConnection>();
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly service: string,
    readonly routes: ReadonlyMap<number, EndpointRoute>,
    readonly events: ReadonlyMap<number, EventRoute>,
    readonly logger: Logger,
    readonly maxPayloadBytes: number,
  ) {}

  /** Calls and event handlers still running. */
  get inFlightCount(): number {
    return this.inFlight;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  readonly accept = (connection: Connection): void => {
    this.connections.add(new ServerConnection(this, connection));
  };

  forget(connection: ServerConnection): void {
    this.connections.delete(connection);
  }

  callStarted(): void {
    this.inFlight++;
  }

  callEnded(): void {
    if (--this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** From now on new calls are refused with ServiceStoppingError; running ones finish. */
  startDraining(): void {
    this.draining = true;
  }

  /** Resolves true when nothing is in flight, false if `timeoutMs` passed first. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((wake) => wake !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(done);
    });
  }

  /** Closes every connection after flushing replies already written. */
  closeConnections(): void {
    for (const connection of this.connections) connection.close();
  }
}
