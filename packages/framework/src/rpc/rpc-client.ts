import { isSharedMemory } from '@hostmesh/native';
import { performance } from 'node:perf_hooks';
import {
  CallAbortedError,
  CallTimeoutError,
  ConnectionLostError,
  FrameError,
  PayloadTooLargeError,
  PeerRefusedError,
  QueueFullError,
  RouteNotFoundError,
  ServiceUnavailableError,
  TooManyConnectionsError,
} from '../core/errors/errors';
import { fromWireError } from '../core/errors/wire';
import { FrameCodec, isRawBytes } from '../protocol/codec';
import { holdsSharedViews } from './buffer-leases';
import { encodeLent } from './lent-encode';
import { CONNECTION_ERROR_ID, FrameKind, frameId, frameKind } from '../protocol/frame';
import { encodeMetadata, metadataScratch, type CallMetadata } from '../protocol/metadata';
import type { Logger } from '../core/logger';
import type { Connection, ConnectionHandler, Transport, TransportAddress } from '../transports/contract/transport';
import { Backoff } from './backoff';

export interface RpcClientOptions {
  /** Who we talk to, for messages: `pricing`, `pricing@0`. */
  label: string;
  transport: Transport;
  /** Finds the address to (re)connect to; throws when no instance is there. */
  resolve(): Promise<TransportAddress>;
  logger: Logger;
  maxPayloadBytes: number;
  maxPendingCalls: number;
  reconnect: { initialDelayMs: number; maxDelayMs: number };
  /** Speak plain msgpack (flag 0x10), as a client in another language would. */
  plainMsgpack?: boolean;
  /** The priority of a route's frames, for transports that order by it (ConnectRequest.priorityOf). */
  priorityOf?(route: number): number;
}

interface PendingCall {
  id: number;
  kind: FrameKind.Request | FrameKind.Event;
  route: number;
  routeName: string;
  body: unknown;
  deadline: number;
  timeoutMs: number;
  sent: boolean;
  resolve(value: unknown): void;
  reject(error: Error): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** Sent beside the arguments (with the remaining deadline, for a request that sends it). */
  headers: CallMetadata | undefined;
  /** Whether a request tells the service its deadline (see `call`). */
  sendDeadline: boolean;
}

/** A request taken out of one client to be sent through another (see `handOver`). */
export interface HandedOverCall {
  route: number;
  routeName: string;
  args: unknown[];
  remainingMs: number;
  signal: AbortSignal | undefined;
  headers: CallMetadata | undefined;
  sendDeadline: boolean;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

type State = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

const RESOLVED: Promise<void> = Promise.resolve();

/** A loan sent once already, or a released result, reads as empty: sending it would send nothing. */
function refuseSpent(argument: unknown, routeName: string): void {
  if (argument instanceof Uint8Array && argument.buffer.byteLength === 0 && isSharedMemory(argument)) {
    throw new TypeError(`${routeName}: its Buffer argument is a loan already sent, or a released result (it reads as empty)`);
  }
}

/** Says which call a size error belongs to; the message is built only when it is needed. */
function nameTheCall(error: Error, call: PendingCall): Error {
  if (error instanceof PayloadTooLargeError) {
    const what = call.kind === FrameKind.Event ? `event ${call.routeName}` : `request to ${call.routeName}`;
    return new PayloadTooLargeError(error.data!.size as number, error.data!.limit as number, what);
  }
  return error;
}

/**
 * One logical connection to one service over one transport: correlates replies with
 * calls, enforces timeouts and cancellation, waits out disconnects (up to each call's
 * timeout) and reconnects with backoff. Nothing is dropped silently: every call ends in
 * a reply, a typed error or a timeout.
 */
export class RpcClient implements ConnectionHandler {
  private state: State = 'idle';
  private connection: Connection | null = null;
  private codec: FrameCodec | null = null;
  private congested = false;
  private readonly pending = new Map<number, PendingCall>();
  private queue: PendingCall[] = [];
  private queueHead = 0;
  private nextId = 1;
  private readonly backoff: Backoff;
  private retryTimer: NodeJS.Timeout | null = null;
  private lastError: Error | undefined;
  /** Why the service is closing the current connection, when it said so. */
  private refusal: Error | undefined;
  /** Whether the current (or last) connection carried a call: one that did is worth restoring at once. */
  private used = false;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private deadlineAt = Infinity;
  private idleWaiters: Array<() => void> = [];
  private readonly metadataScratch = metadataScratch();

  constructor(private readonly options: RpcClientOptions) {
    this.backoff = new Backoff(options.reconnect.initialDelayMs, options.reconnect.maxDelayMs);
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** Calls or events not yet settled. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * `headers` travel as frame metadata. With `sendDeadline`, so does the time left of
   * `timeoutMs` when the frame leaves; without it the service assumes the endpoint's own
   * timeout, which is what a caller that sets none waits (and the hot path sends no section).
   */
  call(
    route: number,
    routeName: string,
    args: unknown[],
    timeoutMs: number,
    signal?: AbortSignal,
    headers?: CallMetadata,
    sendDeadline = false,
  ): Promise<unknown> {
    return this.submit(FrameKind.Request, route, routeName, args, timeoutMs, signal, headers, sendDeadline);
  }

  /**
   * Sends an event; resolves once it is handed to the transport. When the peer's buffer is
   * full, `wait` holds it (up to `timeoutMs`, then QueueFullError) and `reject` fails at once.
   */
  emit(route: number, eventName: string, body: unknown, timeoutMs: number, whenFull: 'wait' | 'reject' = 'wait', headers?: CallMetadata): Promise<void> {
    const ready = this.state === 'connected' && !this.congested && this.queueHead === this.queue.length;
    if (whenFull === 'reject' && this.state === 'connected' && !ready) {
      return Promise.reject(new QueueFullError(`${this.options.label} is full: ${eventName} rejected (whenFull: 'reject')`));
    }
    // Fast path: nothing to wait for, so no pending entry, no timer, no new promise.
    if (ready) {
      let frame: Buffer;
      try {
        const metadata = headers === undefined ? null : encodeMetadata(undefined, headers, this.metadataScratch);
        frame = this.codec!.encode(FrameKind.Event, this.nextEventId(), route, body, undefined, metadata);
      } catch (error) {
        return Promise.reject(
          error instanceof PayloadTooLargeError
            ? new PayloadTooLargeError(error.data!.size as number, error.data!.limit as number, `event ${eventName}`)
            : error,
        );
      }
      if (!this.connection!.write(frame)) this.waitForDrain();
      return RESOLVED;
    }
    return this.submit(FrameKind.Event, route, eventName, body, timeoutMs, undefined, headers, false) as Promise<void>;
  }

  private eventSequence = 0;

  /** Events need no reply, so their frame id is just a sequence (it never meets a pending call). */
  private nextEventId(): number {
    this.eventSequence = (this.eventSequence + 1) >>> 0;
    return this.eventSequence;
  }

  /** The registry changed: reconnect now if waiting out a backoff (the peer may be back), re-check a queue-bound connection. */
  nudge(): void {
    if (this.state === 'connected') this.connection!.revalidate?.();
    if (this.state !== 'backoff' || this.retryTimer === null) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    void this.connect();
  }

  /**
   * Takes out the requests not sent yet for which `take(routeName)` says yes, unsettled, so
   * the caller can send them another way (the service now answers them on another
   * mechanism); each keeps its promise, deadline and AbortSignal.
   */
  handOver(take: (routeName: string) => boolean): HandedOverCall[] {
    const moved: HandedOverCall[] = [];
    for (const call of [...this.pending.values()]) {
      if (call.sent || call.kind !== FrameKind.Request || !take(call.routeName)) continue;
      this.pending.delete(call.id);
      if (call.onAbort) call.signal!.removeEventListener('abort', call.onAbort);
      moved.push({
        route: call.route,
        routeName: call.routeName,
        args: call.body as unknown[],
        remainingMs: Math.max(1, call.deadline - performance.now()),
        signal: call.signal,
        headers: call.headers,
        sendDeadline: call.sendDeadline,
        resolve: call.resolve,
        reject: call.reject,
      });
    }
    if (moved.length > 0) this.compactQueue();
    if (this.pending.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    return moved;
  }

  /** Resolves when nothing is pending (everything sent got its reply, every event was written). */
  whenIdle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Fails whatever is pending and closes the connection after flushing what was written;
   * resolves when the connection is closed.
   */
  close(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    this.state = 'closed';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.retryTimer = this.deadlineTimer = null;
    for (const call of [...this.pending.values()]) {
      this.settle(call, new ServiceUnavailableError(`client for ${this.options.label} closed before ${call.routeName} completed`));
    }
    this.queue = [];
    this.queueHead = 0;
    const connection = this.connection;
    this.connection = null;
    if (connection === null) return Promise.resolve();
    return new Promise((resolve) => {
      this.closedWaiter = resolve;
      connection.close();
    });
  }

  private closedWaiter: (() => void) | null = null;

  private submit(
    kind: FrameKind.Request | FrameKind.Event,
    route: number,
    routeName: string,
    body: unknown,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    headers: CallMetadata | undefined,
    sendDeadline: boolean,
  ): Promise<unknown> {
    if (this.state === 'closed') {
      return Promise.reject(new ServiceUnavailableError(`client for ${this.options.label} is closed`));
    }
    if (signal?.aborted) return Promise.reject(new CallAbortedError(`${routeName} was aborted before it was sent`));
    if (this.pending.size >= this.options.maxPendingCalls) {
      return Promise.reject(
        new QueueFullError(`${this.pending.size} calls to ${this.options.label} are pending (maxPendingCalls): retry later or raise the limit`),
      );
    }
    return new Promise((resolve, reject) => {
      const id = this.allocateId();
      const deadline = performance.now() + timeoutMs;
      const call: PendingCall = {
        id,
        kind,
        route,
        routeName,
        body,
        deadline,
        timeoutMs,
        sent: false,
        resolve,
        reject,
        signal,
        onAbort: undefined,
        headers,
        sendDeadline,
      };
      this.pending.set(id, call);
      this.watchDeadline(deadline);
      if (signal) {
        call.onAbort = () => this.abort(call);
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      if (this.state === 'connected' && !this.congested && this.queueHead === this.queue.length) {
        this.send(call);
      } else {
        this.queue.push(call);
        if (this.state === 'idle') void this.connect();
      }
    });
  }

  private allocateId(): number {
    let id = this.nextId;
    while (this.pending.has(id)) id = id === 0xffff_ffff ? 1 : id + 1;
    this.nextId = id === 0xffff_ffff ? 1 : id + 1;
    return id;
  }

  private send(call: PendingCall): void {
    const codec = this.codec!;
    const body = call.body;
    let frame: Buffer;
    try {
      // A request tells the service how long its caller still waits; an event carries only headers.
      const metadata =
        call.sendDeadline || call.headers !== undefined
          ? encodeMetadata(call.sendDeadline ? call.deadline - performance.now() : undefined, call.headers, this.metadataScratch)
          : null;
      // A call whose only argument is a Buffer sends it as a raw body: no codec, no copy.
      if (call.kind === FrameKind.Request && (body as unknown[]).length === 1) refuseSpent((body as unknown[])[0], call.routeName);
      frame =
        call.kind === FrameKind.Request && !codec.plain && (body as unknown[]).length === 1 && isRawBytes((body as unknown[])[0])
          ? codec.encodeBytes(call.kind, call.id, call.route, (body as Uint8Array[])[0]!, undefined, metadata)
          : encodeLent(codec, this.connection!, call.kind, call.id, call.route, body, undefined, metadata);
    } catch (error) {
      this.settle(call, nameTheCall(error as Error, call));
      return;
    }
    call.sent = true;
    this.used = true;
    call.body = undefined;
    let tail = codec.tail;
    // A view of shared memory (a handler passing its pooled argument on) may be released before a socket writes it.
    if (tail !== null && this.connection!.lend === undefined && isSharedMemory(tail)) tail = Buffer.from(tail);
    let writable: boolean;
    if (tail === null) {
      writable = this.connection!.write(frame);
    } else {
      codec.tail = null;
      writable = this.connection!.write(frame, tail);
    }
    // A loan the codec copied (a small part of one) is spent too: its run goes back now, not at
    // the next GC. (Free when no loan is out: the connection looks no further.)
    if (tail === null && this.connection?.unlend !== undefined && (body as unknown[]).length === 1) {
      const argument = (body as unknown[])[0];
      if (argument instanceof Uint8Array) this.connection.unlend(argument as Buffer);
    }
    if (call.kind === FrameKind.Event) this.settle(call, undefined);
    if (!writable) this.waitForDrain();
  }

  private waitForDrain(): void {
    const connection = this.connection!;
    this.congested = true;
    void connection.whenWritable().then(() => {
      if (connection !== this.connection) return;
      this.congested = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.state === 'connected' && !this.congested && this.queueHead < this.queue.length) {
      const call = this.queue[this.queueHead++]!;
      if (this.pending.get(call.id) === call && !call.sent) this.send(call);
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    }
  }

  private async connect(): Promise<void> {
    this.state = 'connecting';
    let connection: Connection;
    try {
      const address = await this.options.resolve();
      connection = await this.options.transport.connect(address, {
        maxPayloadBytes: this.options.maxPayloadBytes,
        timeoutMs: Math.max(100, this.options.reconnect.maxDelayMs),
        priorityOf: this.options.priorityOf,
      });
    } catch (error) {
      if ((this.state as State) === 'closed') return;
      this.lastError = error as Error;
      // The service answered, and said no: waiting until the timeout would only hide why.
      if (error instanceof PeerRefusedError || error instanceof TooManyConnectionsError) {
        for (const call of [...this.pending.values()]) this.settle(call, error);
      }
      this.scheduleReconnect();
      return;
    }
    if ((this.state as State) === 'closed') {
      connection.destroy();
      return;
    }
    connection.bind(this);
    this.connection = connection;
    this.codec = new FrameCodec(this.options.maxPayloadBytes, connection.statelessFrames === true, this.options.plainMsgpack === true);
    this.congested = false;
    this.state = 'connected';
    this.used = this.pending.size > 0;
    this.lastError = undefined;
    this.backoff.reset();
    this.flush();
  }

  private scheduleReconnect(): void {
    // Keep trying while calls wait, or at once after losing a connection that was in use
    // (to find the service again, or learn it is gone). A connection that carried nothing
    // is not reopened until a call needs it: the service's idle timeout (idleTimeoutMs) would
    // only close it again.
    if (this.pending.size === 0 && !this.used) {
      this.state = 'idle';
      return;
    }
    this.state = 'backoff';
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.state === 'backoff') void this.connect();
    }, this.backoff.next());
    this.retryTimer.unref();
  }

  /** A Buffer to send as an argument without a copy, where the connection shares memory with the service (see Connection.lend). */
  lend(size: number): Buffer | undefined {
    return this.connection?.lend?.(size);
  }

  onFrame(buffer: Buffer, start: number, end: number, transient: boolean): void {
    const kind = frameKind(buffer, start);
    if (kind !== FrameKind.Response && kind !== FrameKind.Error) {
      this.connection?.destroy(new FrameError(`unexpected frame kind ${kind} from ${this.options.label}`));
      return;
    }
    // A result in the pool (shm) is handed out in place: its Buffers are views, held until
    // released or collected (buffer-leases.ts), while this client keeps little enough of the
    // pool; past that it is copied, and its hold ends once the copy is made. (A frame in the
    // ring has no hold: -1, with no further cost on the small-call path.)
    let token = -1;
    let keep = false;
    if (transient && kind === FrameKind.Response && this.connection?.holdKind === 'bytes') {
      token = this.connection.hold!();
      keep = token >= 0 && this.connection.mayKeep!(end - start);
    }
    // Decode every frame in order, even late ones: the codec's record state depends on it.
    let body: unknown;
    try {
      body = this.codec!.decode(buffer, start, end, transient && !keep);
    } catch (error) {
      if (token >= 0) this.connection?.release!(token);
      this.options.logger.warn(`dropping connection to ${this.options.label}: ${(error as Error).message}`);
      this.connection?.destroy(error as Error);
      return;
    }
    const id = frameId(buffer, start);
    if (id === CONNECTION_ERROR_ID && kind === FrameKind.Error) return this.onConnectionRefused(body);
    const call = this.pending.get(id);
    // Kept: the views' lease ends when they are released or collected; no views (or no caller): it ends now.
    if (token >= 0) this.connection!.release!(token, keep && call !== undefined && holdsSharedViews(body));
    if (call === undefined) return;
    this.settle(call, kind === FrameKind.Response ? undefined : this.remoteError(call, body), body);
  }

  /** The service said why it is closing this connection (a limit, a refused peer): the calls sent on it fail with that. */
  private onConnectionRefused(body: unknown): void {
    const error = fromWireError(body, `connection error from ${this.options.label}`);
    this.options.logger.warn(`${this.options.label} refused the connection: ${error.message}`);
    this.refusal = error;
    for (const call of [...this.pending.values()]) if (call.sent) this.settle(call, error);
  }

  onProtocolError(error: Error): void {
    this.options.logger.warn(`dropping connection to ${this.options.label}: ${error.message}`);
  }

  onClose(error?: Error): void {
    if (this.closedWaiter) {
      this.closedWaiter();
      this.closedWaiter = null;
    }
    if (this.connection === null) return;
    this.connection = null;
    this.codec = null;
    this.congested = false;
    const reason = error ? `: ${error.message}` : '';
    for (const call of [...this.pending.values()]) {
      if (call.sent) {
        this.settle(call, new ConnectionLostError(`connection to ${this.options.label} lost while ${call.routeName} was in flight${reason}`));
      }
    }
    if (this.state === 'closed') return;
    this.lastError = this.refusal ?? error ?? new Error('the service closed the connection');
    // A refusing service is busy: back off instead of reconnecting at once.
    if (this.refusal === undefined) this.backoff.reset();
    this.refusal = undefined;
    this.scheduleReconnect();
  }

  private remoteError(call: PendingCall, body: unknown): Error {
    const error = fromWireError(body, `error reply from ${this.options.label}`);
    if ((error as { code?: unknown }).code === RouteNotFoundError.code) {
      // The service says which endpoints it has (an older one does not).
      const endpoints = (error as { data?: { endpoints?: unknown } }).data?.endpoints;
      const known = Array.isArray(endpoints) ? `; its endpoints: ${endpoints.join(', ') || 'none'}` : '';
      return new RouteNotFoundError(`${this.options.label} has no endpoint '${call.routeName}'${known}`, {
        data: { route: call.routeName, ...(Array.isArray(endpoints) ? { endpoints } : {}) },
      });
    }
    return error;
  }

  /** Ends a call exactly once: `error` undefined resolves with `value`. */
  private settle(call: PendingCall, error: Error | undefined, value?: unknown): void {
    if (this.pending.get(call.id) !== call) return;
    this.pending.delete(call.id);
    if (call.onAbort) call.signal!.removeEventListener('abort', call.onAbort);
    if (error) call.reject(error);
    else call.resolve(value);
    if (this.pending.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  private abort(call: PendingCall): void {
    if (this.pending.get(call.id) !== call) return;
    this.cancelRemote(call);
    this.settle(call, new CallAbortedError(`${call.routeName} was aborted by the caller`));
  }

  private cancelRemote(call: PendingCall): void {
    if (!call.sent || this.state !== 'connected' || call.kind !== FrameKind.Request) return;
    try {
      this.connection!.write(this.codec!.encode(FrameKind.Cancel, call.id, call.route, null));
    } catch {
      // best effort: the reply, if it ever comes, is ignored
    }
  }

  /** One timer for all calls, armed for the earliest deadline; expiry scans the table. */
  private watchDeadline(deadline: number): void {
    if (deadline >= this.deadlineAt) return;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineAt = deadline;
    this.deadlineTimer = setTimeout(this.onDeadline, Math.max(0, Math.ceil(deadline - performance.now())));
  }

  private readonly onDeadline = (): void => {
    this.deadlineTimer = null;
    this.deadlineAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const call of [...this.pending.values()]) {
      if (call.deadline <= now) this.expire(call);
      else if (call.deadline < next) next = call.deadline;
    }
    if (next !== Infinity) this.watchDeadline(next);
    this.compactQueue();
  };

  /** Drops queued calls that already ended, so a long outage cannot grow the queue. */
  private compactQueue(): void {
    if (this.queueHead === 0 && this.queue.length === 0) return;
    this.queue = this.queue.slice(this.queueHead).filter((call) => this.pending.get(call.id) === call && !call.sent);
    this.queueHead = 0;
  }

  private expire(call: PendingCall): void {
    if (call.sent) {
      this.cancelRemote(call);
      this.settle(call, new CallTimeoutError(`${call.routeName} on ${this.options.label} got no reply within ${call.timeoutMs} ms`));
      return;
    }
    if (this.state === 'connected' && this.congested) {
      this.settle(call, new QueueFullError(`${this.options.label} stayed full for ${call.timeoutMs} ms: ${call.routeName} was not sent`));
      return;
    }
    const why = this.lastError ? ` (last error: ${this.lastError.message})` : '';
    this.settle(call, new ServiceUnavailableError(`${this.options.label} could not be reached within ${call.timeoutMs} ms${why}`));
  }
}
