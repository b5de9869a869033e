import { InternalError, TooManyConnectionsError } from '../core/errors/errors';
import { HostmeshError } from '../core/errors/hostmesh-error';
import { isRegisteredErrorType, toWireError } from '../core/errors/wire';
import { encodeStatelessFrame } from '../protocol/codec';
import { CONNECTION_ERROR_ID, FrameKind } from '../protocol/frame';
import type { Logger } from '../core/logger';
import type { Connection } from '../transports/contract/transport';
import type { EndpointRoute, EventRoute } from './routes';
import { KeyLanes } from './key-lanes';
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
  /** Events with an ordering key, in order per key over every connection (a queue and its partition). */
  readonly lanes = new KeyLanes((error) => this.logger.error('an ordered event could not be handled', error));
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

  private readonly unexpected = new Map<string, { since: number; logged: number; suppressed: number }>();

  /**
   * What the caller of a failed call is told. An error meant for callers (a HostmeshError, a
   * registered type, one with a string `code`) goes as it is. Any other is a bug or an
   * internal failure: it is logged here, with its stack (at most UNEXPECTED_LOGS per route
   * every UNEXPECTED_WINDOW_MS), and the caller gets an InternalError naming the call,
   * unless the service exposes its errors.
   */
  forCaller(route: { name: string; exposeErrors: boolean }, id: number, peer: string, error: unknown): unknown {
    if (isMeantForCallers(error)) return error;
    this.logUnexpected(route.name, id, peer, error);
    if (route.exposeErrors) return error;
    const kind = error instanceof Error ? error.name : typeof error;
    return new InternalError(`${route.name} failed with an unexpected ${kind} (call ${id}): the log of '${this.service}' has the details`, {
      data: { route: route.name, callId: id },
    });
  }

  private logUnexpected(route: string, id: number, peer: string, error: unknown): void {
    const now = Date.now();
    let entry = this.unexpected.get(route);
    if (entry === undefined || now - entry.since >= UNEXPECTED_WINDOW_MS) {
      if (entry !== undefined && entry.suppressed > 0) {
        this.logger.warn(`${route}: ${entry.suppressed} more unexpected errors were not logged in ${UNEXPECTED_WINDOW_MS / 1000} s`);
      }
      entry = { since: now, logged: 0, suppressed: 0 };
      this.unexpected.set(route, entry);
    }
    if (entry.logged >= UNEXPECTED_LOGS) {
      entry.suppressed++;
      return;
    }
    entry.logged++;
    // The stack is the point of this line: it is all the service keeps of a bug its caller cannot see.
    const stack = error instanceof Error && error.stack ? `\n${error.stack}` : '';
    this.logger.error(`${route} failed (call ${id} from ${peer})${stack}`, stack ? undefined : error);
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
    // Result streams would hold the drain up for as long as their callers read: they end now.
    for (const connection of this.connections) connection.endStreams();
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

const UNEXPECTED_LOGS = 5;
const UNEXPECTED_WINDOW_MS = 10_000;

function isMeantForCallers(error: unknown): boolean {
  if (HostmeshError.is(error) || isRegisteredErrorType(error)) return true;
  // A string code marks an error of the service's API, unless it is a system call's (ENOENT, with the path in its message).
  const e = error as { code?: unknown; syscall?: unknown; errno?: unknown };
  return error instanceof Error && typeof e.code === 'string' && e.syscall === undefined && e.errno === undefined;
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
