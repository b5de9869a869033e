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
import { CONNECTION_ERROR_ID, FrameFlag, FrameKind, HEADER_BYTES, frameFlags, frameId, frameKind, frameRoute } from '../protocol/frame';
import { encodeMetadata, METADATA_KEYS, metadataScratch, type CallMetadata } from '../protocol/metadata';
import type { Logger } from '../core/logger';
import type { Connection, ConnectionHandler, Transport, TransportAddress } from '../transports/contract/transport';
import { Backoff } from './backoff';
import { PendingCalls } from './pending-calls';
import { StreamTable, type StreamConnection } from './streams/stream-table';
import type { StreamReceiver } from './streams/stream-receiver';
import type { StreamSender } from './streams/stream-sender';
import { streamedArgument } from './streams/is-stream';
import { DEFAULT_WINDOW, type StreamWindow } from './streams/stream-window';

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
  /** The call's result stream: made up front for a call declared to stream, else when the service opens one. */
  stream: StreamReceiver | null;
  /** Whether the service opened the result stream (its first StreamData frame arrived). */
  opened: boolean;
  /** The streamed argument's index, or -1; its sender runs once the request is sent. */
  streamArg: number;
  sender: StreamSender | null;
  /** Stream options: the credit window, the idle timeout (0: none), the overall deadline (Infinity: none). */
  window: StreamWindow;
  idleMs: number;
  endsAt: number;
  /** The consumer left a stream the service had not opened yet: it is cancelled when it opens. */
  abandoned: boolean;
}

/** What a streaming call adds to a call's options. */
export interface StreamCallOptions {
  signal?: AbortSignal;
  headers?: CallMetadata;
  sendDeadline?: boolean;
  /** The receive window: how much the service may send ahead of the consumer. */
  window?: StreamWindow;
  /** Fail with CallTimeoutError when the consumer waits longer than this for an item. */
  idleTimeoutMs?: number;
  /** The stream's overall deadline, from now (it is also sent to the service); none by default. */
  deadlineMs?: number;
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
const DROPPED = Symbol('dropped');

/** Errors the peer sent (as opposed to ones this side made: not connected, timed out, too many pending). */
const peerErrors = new WeakSet<Error>();

/** Whether `error` came from the service in an error reply. */
export function fromPeer(error: unknown): boolean {
  return error instanceof Error && peerErrors.has(error);
}

/** A loan sent once already, or a released result, reads as empty: sending it would send nothing. */
function refuseSpent(argument: unknown, routeName: string): void {
  // A spent loan reads as empty: its length first, the cheap test that almost every argument fails.
  if (argument instanceof Uint8Array && argument.byteLength === 0 && argument.buffer.byteLength === 0 && isSharedMemory(argument)) {
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
export class RpcClient implements ConnectionHandler, StreamConnection {
  private state: State = 'idle';
  private connection: Connection | null = null;
  /** The current connection's codec (streams encode with it too). */
  codec: FrameCodec | null = null;
  private congested = false;
  private readonly pending = new PendingCalls<PendingCall>();
  private queue: PendingCall[] = [];
  private queueHead = 0;
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
  /** Streams of calls in flight, both ways; made when the first one starts. */
  private streams: StreamTable | null = null;

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
    return this.submit(FrameKind.Request, route, routeName, args, timeoutMs, signal, headers, sendDeadline, null);
  }

  /**
   * A call whose result is a stream (the contract says so): returns the stream at once.
   * `openTimeoutMs` bounds the wait for the service to open it; after that only
   * `options.idleTimeoutMs` and `options.deadlineMs` do.
   */
  stream(route: number, routeName: string, args: unknown[], openTimeoutMs: number, options: StreamCallOptions = {}): StreamReceiver {
    const receiver = (this.streams ??= new StreamTable(this)).createReceiver(0, route, options.window ?? DEFAULT_WINDOW);
    const more = {
      window: options.window ?? DEFAULT_WINDOW,
      idleMs: options.idleTimeoutMs ?? 0,
      endsAt: options.deadlineMs === undefined ? Infinity : performance.now() + options.deadlineMs,
      receiver,
    };
    const timeoutMs = options.deadlineMs === undefined ? openTimeoutMs : Math.min(openTimeoutMs, options.deadlineMs);
    const sendDeadline = options.sendDeadline === true || options.deadlineMs !== undefined;
    this.submit(FrameKind.Request, route, routeName, args, timeoutMs, options.signal, options.headers, sendDeadline, more).then(
      (value) => receiver.fail(new TypeError(`${routeName} answered with a single value, not a stream (${typeof value})`)),
      (error: Error) => receiver.fail(error),
    );
    return receiver;
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
    return this.submit(FrameKind.Event, route, eventName, body, timeoutMs, undefined, headers, false, null) as Promise<void>;
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
    for (const call of this.pending.values()) {
      if (call.sent || call.kind !== FrameKind.Request || call.stream !== null || !take(call.routeName)) continue;
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

  /** The instance this client talks to left: calls not sent yet fail now (ServiceUnavailableError: never reached a handler), to go elsewhere. */
  abandonWaiting(reason: string): void {
    for (const call of this.pending.values()) {
      if (!call.sent && call.kind === FrameKind.Request) this.settle(call, new ServiceUnavailableError(`${this.options.label}: ${reason}`));
    }
    this.compactQueue();
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
    for (const call of this.pending.values()) {
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
    stream: { window: StreamWindow; idleMs: number; endsAt: number; receiver: StreamReceiver } | null,
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
        stream: null,
        opened: false,
        streamArg: -1,
        sender: null,
        window: stream?.window ?? DEFAULT_WINDOW,
        idleMs: stream?.idleMs ?? 0,
        endsAt: stream?.endsAt ?? Infinity,
        abandoned: false,
      };
      if (kind === FrameKind.Request) {
        try {
          call.streamArg = streamedArgument(body as unknown[], routeName);
        } catch (error) {
          reject(error as Error);
          return;
        }
      }
      if (stream !== null) call.stream = stream.receiver;
      this.pending.set(call);
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
    return this.pending.allocateId();
  }

  private send(call: PendingCall): void {
    // A declared stream its consumer left before the request went out: nothing to send, nothing to wait for.
    if (call.stream !== null && !call.stream.isOpen) {
      this.settle(call, undefined, undefined, true);
      return;
    }
    const codec = this.codec!;
    const body = call.body;
    let frame: Buffer;
    try {
      // A request tells the service how long its caller still waits (a stream with a deadline:
      // until that, not just until it opens); an event carries only headers.
      const streamed = call.streamArg >= 0;
      const headers = streamed ? { ...call.headers, [METADATA_KEYS.stream]: call.streamArg } : call.headers;
      const metadata =
        call.sendDeadline || headers !== undefined
          ? encodeMetadata(
              call.sendDeadline ? (call.endsAt === Infinity ? call.deadline : call.endsAt) - performance.now() : undefined,
              headers,
              this.metadataScratch,
            )
          : null;
      // The streamed argument follows the request as StreamData frames; nil holds its place.
      const args = streamed ? (body as unknown[]).map((arg, i) => (i === call.streamArg ? null : arg)) : body;
      // A call whose only argument is a Buffer sends it as a raw body: no codec, no copy.
      if (call.kind === FrameKind.Request && (body as unknown[]).length === 1) refuseSpent((body as unknown[])[0], call.routeName);
      frame =
        call.kind === FrameKind.Request && !codec.plain && (args as unknown[]).length === 1 && isRawBytes((args as unknown[])[0])
          ? codec.encodeBytes(call.kind, call.id, call.route, (args as Uint8Array[])[0]!, undefined, metadata)
          : encodeLent(codec, this.connection!, call.kind, call.id, call.route, args, undefined, metadata);
      if (streamed) frame[3] |= FrameFlag.StreamArgument;
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
    else if (call.stream !== null) this.streams!.track(call.stream, call.id);
    if (call.streamArg >= 0) this.sendArgument(call, (body as unknown[])[call.streamArg] as AsyncIterable<unknown>);
    if (!writable) this.waitForDrain();
  }

  /** Sends a call's streamed argument as the service's credit allows, then StreamEnd; a source that throws fails the call. */
  private sendArgument(call: PendingCall, source: AsyncIterable<unknown>): void {
    const streams = (this.streams ??= new StreamTable(this));
    const sender = streams.startSender(call.id, call.route, source, `the streamed argument of ${call.routeName}`);
    call.sender = sender;
    const codec = this.codec;
    sender.runUntilStopped().then(
      (ended) => {
        streams.senderDone(sender);
        if (ended && this.codec === codec && this.pending.get(call.id) === call) this.writeFrame(codec!.encode(FrameKind.StreamEnd, call.id, call.route, null));
      },
      (error: unknown) => {
        streams.senderDone(sender);
        if (this.pending.get(call.id) !== call) return;
        this.cancelRemote(call);
        this.settle(call, error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  // StreamConnection: what the streams write through.
  get writable(): boolean {
    return this.state === 'connected' && !this.congested && this.connection!.writable;
  }

  whenWritable(): Promise<void> {
    return this.connection === null ? RESOLVED : this.connection.whenWritable();
  }

  writeFrame(frame: Buffer, oneWay = false): boolean {
    const connection = this.connection;
    const codec = this.codec;
    if (connection === null || codec === null) return false;
    let tail = codec.tail;
    if (tail !== null) {
      codec.tail = null;
      if (connection.lend === undefined && isSharedMemory(tail)) tail = Buffer.from(tail);
    }
    if (!(tail === null ? connection.write(frame, undefined, oneWay) : connection.write(frame, tail, oneWay)) && !this.congested) this.waitForDrain();
    return true;
  }

  /** The consumer of call `id`'s stream waits for an item, or no longer does: the idle timeout runs only while it waits. */
  waiting(id: number, waiting: boolean): void {
    const call = this.pending.get(id);
    if (call === undefined || call.idleMs <= 0 || !call.opened) return;
    call.deadline = waiting ? Math.min(call.endsAt, performance.now() + call.idleMs) : call.endsAt;
    if (waiting) this.watchDeadline(call.deadline);
  }

  /** The consumer left its result stream: the call is over for this side (StreamTable has sent the cancel). */
  cancelled(id: number): void {
    const call = this.pending.get(id);
    if (call === undefined || call.stream === null) return;
    // The service may not have made the stream yet, and would not know what the cancel meant.
    if (call.sent && !call.opened) call.abandoned = true;
    else this.settle(call, undefined, undefined, true);
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
        for (const call of this.pending.values()) this.settle(call, error);
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
      if (kind >= FrameKind.StreamData || kind === FrameKind.Cancel) return this.onStreamFrame(buffer, start, end, transient, kind);
      this.connection?.destroy(new FrameError(`unexpected frame kind ${kind} from ${this.options.label}`));
      return;
    }
    const body = this.decodeFrame(buffer, start, end, transient, kind === FrameKind.Response);
    if (body === DROPPED) return;
    const token = this.heldToken;
    const keep = this.heldKeep;
    const id = frameId(buffer, start);
    if (id === CONNECTION_ERROR_ID && kind === FrameKind.Error) return this.onConnectionRefused(body);
    const call = this.pending.get(id);
    // Kept: the views' lease ends when they are released or collected; no views (or no caller): it ends now.
    if (token >= 0) this.connection!.release!(token, keep && call !== undefined && call.stream === null && holdsSharedViews(body));
    if (call === undefined) return;
    if (kind === FrameKind.Response && call.stream !== null) {
      this.settle(call, new TypeError(`${call.routeName} answered with a single value, not a stream`));
      return;
    }
    this.settle(call, kind === FrameKind.Response ? undefined : this.remoteError(call, body), body);
  }

  /**
   * Decodes a frame, every one in order (the codec's record state depends on it), even late
   * ones. A result or stream item in the pool (shm, `pooled`) is handed out in place: its
   * Buffers are views, held until released or collected (buffer-leases.ts), while this
   * client keeps little enough of the pool; past that it is copied, and its hold ends once
   * the copy is made. The hold's token is left in `heldToken` (-1 for a frame in the ring:
   * no further cost on the small-call path), whether to keep it in `heldKeep`. DROPPED after
   * ending a connection whose frame does not decode.
   */
  private decodeFrame(buffer: Buffer, start: number, end: number, transient: boolean, pooled: boolean): unknown {
    let token = -1;
    let keep = false;
    if (transient && pooled && this.connection?.holdKind === 'bytes') {
      token = this.connection.hold!();
      keep = token >= 0 && this.connection.mayKeep!(end - start);
    }
    this.heldToken = token;
    this.heldKeep = keep;
    try {
      return this.codec!.decode(buffer, start, end, transient && !keep);
    } catch (error) {
      if (token >= 0) this.connection?.release!(token);
      this.options.logger.warn(`dropping connection to ${this.options.label}: ${(error as Error).message}`);
      this.connection?.destroy(error as Error);
      return DROPPED;
    }
  }

  private heldToken = -1;
  private heldKeep = false;

  private onStreamFrame(buffer: Buffer, start: number, end: number, transient: boolean, kind: FrameKind): void {
    const body = this.decodeFrame(buffer, start, end, transient, kind === FrameKind.StreamData);
    if (body === DROPPED) return;
    const token = this.heldToken;
    const keep = this.heldKeep;
    // Read from the header before the hold ends: the frame's memory goes with it.
    const id = frameId(buffer, start);
    const raw = (frameFlags(buffer, start) & FrameFlag.RawBody) !== 0;
    const route = frameRoute(buffer, start);
    if (token >= 0) this.connection!.release!(token, keep && holdsSharedViews(body));
    const call = this.pending.get(id);
    if (call === undefined) {
      // A stream opening for a call this side gave up on (timed out, aborted) before it opened: the service is told.
      if (kind === FrameKind.StreamData && Array.isArray(body) && body.length === 0 && this.codec !== null) {
        this.writeFrame(this.codec.encode(FrameKind.Cancel, id, route, null));
      }
      return;
    }
    this.streams ??= new StreamTable(this);
    if (call.abandoned) {
      if (kind === FrameKind.StreamData) this.cancelRemote(call);
      if (kind === FrameKind.StreamData || kind === FrameKind.StreamEnd) this.settle(call, undefined, undefined, true);
      return;
    }
    let error: FrameError | undefined;
    switch (kind) {
      case FrameKind.StreamData:
        if (!call.opened) this.opened(call);
        error = this.streams.onData(id, body, raw, end - start - HEADER_BYTES);
        break;
      case FrameKind.StreamEnd:
        if (!call.opened) this.opened(call);
        this.streams.onEnd(id);
        this.settle(call, undefined, undefined, true);
        break;
      case FrameKind.Credit:
        error = this.streams.onCredit(id, body);
        break;
      default:
        // Cancel: the service reads no more of the streamed argument.
        this.streams.stopSender(id);
    }
    if (error !== undefined) {
      this.options.logger.warn(`dropping connection to ${this.options.label}: ${error.message}`);
      this.connection?.destroy(error);
    }
  }

  /** The service opened the call's result stream: it lasts now until it ends, is cancelled, idles out or reaches its deadline. */
  private opened(call: PendingCall): void {
    call.opened = true;
    if (call.stream === null) {
      // Not declared as a stream: the call's promise resolves to the stream.
      call.stream = this.streams!.createReceiver(call.id, call.route, call.window);
      this.streams!.track(call.stream, call.id);
      call.resolve(call.stream);
    }
    call.stream.open();
    // A deadline the service was sent, it keeps: so does this side (a call not declared to stream sent its own).
    if (call.sendDeadline && call.endsAt === Infinity) call.endsAt = call.deadline;
    call.deadline = call.endsAt;
    // A consumer already waiting starts its idle clock now.
    if (call.stream.isWaiting) this.waiting(call.id, true);
  }

  /** The service said why it is closing this connection (a limit, a refused peer): the calls sent on it fail with that. */
  private onConnectionRefused(body: unknown): void {
    const error = fromWireError(body, `connection error from ${this.options.label}`);
    this.options.logger.warn(`${this.options.label} refused the connection: ${error.message}`);
    this.refusal = error;
    for (const call of this.pending.values()) if (call.sent) this.settle(call, error);
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
    // Streams cannot resume on another connection: their calls fail below, their senders stop.
    if (this.streams !== null) for (const sender of this.streams.activeSenders()) sender.stop();
    for (const call of this.pending.values()) {
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
    peerErrors.add(error);
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

  /**
   * Ends a call exactly once: `error` undefined resolves with `value`. A streaming call's
   * stream gets the error instead (after the items it holds); `streamOver`: its stream ended or was cancelled.
   */
  private settle(call: PendingCall, error: Error | undefined, value?: unknown, streamOver = false): void {
    if (this.pending.get(call.id) !== call) return;
    this.pending.delete(call.id);
    if (call.onAbort) call.signal!.removeEventListener('abort', call.onAbort);
    if (call.sender !== null && !call.sender.isStopped) call.sender.stop();
    if (call.stream !== null && (call.opened || streamOver || error !== undefined)) {
      if (error !== undefined) call.stream.fail(error);
      this.streams!.forget(call.id);
      if (!call.opened) call.reject(error ?? new TypeError(`${call.routeName} ended before it opened`));
    } else if (error) call.reject(error);
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
    for (const call of this.pending.values()) {
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
    if (call.opened) {
      this.cancelRemote(call);
      const why = call.deadline >= call.endsAt ? 'reached its deadline' : `sent no item for ${call.idleMs} ms (idleTimeoutMs)`;
      this.settle(call, new CallTimeoutError(`the stream of ${call.routeName} on ${this.options.label} ${why}`));
      return;
    }
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
