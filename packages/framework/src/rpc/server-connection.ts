import {
  CallAbortedError,
  ConnectionLostError,
  FrameError,
  PayloadTooLargeError,
  QueueFullError,
  RouteNotFoundError,
  ServiceStoppingError,
} from '../core/errors/errors';
import { isSharedMemory } from '@hostmesh/native';
import { toWireError } from '../core/errors/wire';
import { FrameCodec, isRawBytes } from '../protocol/codec';
import { FrameFlag, FrameKind, HEADER_BYTES, frameFlags, frameId, frameKind, frameRoute } from '../protocol/frame';
import { describeError } from '../core/logger';
import type { Connection, ConnectionHandler } from '../transports/contract/transport';
import { METADATA_KEYS, readMetadata, type CallMetadata } from '../protocol/metadata';
import { CallContext, deadlineFrom, isPropagating, runInScope } from '../contracts/call-context';
import { endSpan, startConsumerSpan, startServerSpan, tracing, withTraceContext } from './tracing';
import { isPromiseLike, type EndpointRoute, type EventRoute } from './routes';
import { encodeLent } from './lent-encode';
import type { RpcServer } from './rpc-server';
import { StreamTable, type StreamConnection } from './streams/stream-table';
import type { StreamSender } from './streams/stream-sender';
import { isAsyncIterable } from './streams/is-stream';
import { DEFAULT_WINDOW } from './streams/stream-window';
import { IdTable } from './id-table';

const DROPPED = Symbol('dropped');
const NO_ITEMS: unknown[] = [];
/** Marks a refusal made before any handler ran: a caller may send such a call elsewhere, even one not idempotent. */
const NOT_RUN = Object.freeze({ notRun: true });

/**
 * The service side of one connection: decodes requests, invokes handlers, replies.
 * A handler's failure becomes an error reply; only bytes that are not frames end the
 * connection, and never another one.
 */
export class ServerConnection implements ConnectionHandler, StreamConnection {
  readonly codec: FrameCodec;
  /** Streams of this connection's calls, made when the first one opens. */
  private streams: StreamTable | null = null;
  /** Result streams ended by the service (it is stopping), with the error their callers get. */
  private endedStreams: Map<number, Error> | null = null;
  private contexts: IdTable<CallContext> | null = null;
  private closed = false;
  private paused = false;
  /** Calls of this connection whose handlers have not finished. */
  private running = 0;
  /** Whether the frame being handled lives in memory the transport reuses after onFrame. */
  private transient = false;

  constructor(
    private readonly server: RpcServer,
    private readonly connection: Connection,
  ) {
    this.codec = new FrameCodec(server.maxPayloadBytes);
    connection.bind(this);
  }

  get peer(): string {
    return this.connection.peer.address;
  }

  close(): void {
    this.connection.close();
  }

  onFrame(buffer: Buffer, start: number, end: number, transient: boolean): void {
    this.transient = transient;
    switch (frameKind(buffer, start)) {
      case FrameKind.Request:
        return this.onRequest(buffer, start, end);
      case FrameKind.Event:
        return this.onEvent(buffer, start, end);
      case FrameKind.Cancel:
        return this.onCancel(buffer, start, end);
      case FrameKind.StreamData:
      case FrameKind.StreamEnd:
      case FrameKind.Credit:
        return this.onStreamFrame(buffer, start, end);
      default:
        this.connection.destroy(this.dropped(new FrameError(`unexpected frame kind ${frameKind(buffer, start)} from a client`)));
    }
  }

  onProtocolError(error: Error): void {
    this.dropped(error);
  }

  onClose(): void {
    this.closed = true;
    if (this.contexts) for (const context of this.contexts.values()) context.cancel('the caller disconnected');
    this.contexts = null;
    this.streams?.closeAll(new ConnectionLostError(`the caller ${this.peer} disconnected`));
    this.server.forget(this);
  }

  private dropped(error: Error): Error {
    this.server.logger.warn(`dropped connection from ${this.peer}: ${describeError(error)}`);
    return error;
  }

  /**
   * The decoded body, or DROPPED after ending a connection whose bytes are not a frame.
   * `held`: the transport keeps a transient frame's bytes until released, so Buffers in the
   * body are views of them rather than copies.
   */
  private decode(buffer: Buffer, start: number, end: number, held = false): unknown {
    try {
      return this.codec.decode(buffer, start, end, this.transient && !held);
    } catch (error) {
      this.connection.destroy(this.dropped(error as Error));
      return DROPPED;
    }
  }

  private onRequest(buffer: Buffer, start: number, end: number): void {
    // A pooled frame (shm) stays put while its handler runs: its Buffer arguments are views of
    // shared memory until the handler settles (the documented lease), not copies.
    const lease = this.transient && this.connection.holdKind === 'bytes' ? this.connection.hold!() : -1;
    const accepted = this.request(buffer, start, end, lease);
    if (!accepted && lease >= 0) this.connection.release!(lease);
  }

  /** Starts the call; false when it was answered (or dropped) without running a handler. */
  private request(buffer: Buffer, start: number, end: number, lease: number): boolean {
    const id = frameId(buffer, start);
    const routeId = frameRoute(buffer, start);
    const body = this.decode(buffer, start, end, lease >= 0);
    if (body === DROPPED) return false;
    // A raw body is the call's single Buffer argument.
    const flags = frameFlags(buffer, start);
    const args = flags & FrameFlag.RawBody ? [body] : body;
    const route = this.server.routes.get(routeId);
    if (route === undefined) {
      const endpoints = this.server.endpointNames;
      this.replyError(
        id,
        routeId,
        new RouteNotFoundError(`service '${this.server.service}' has no endpoint with route id ${routeId}; its endpoints: ${endpoints.join(', ') || 'none'}`, {
          data: { endpoints },
        }),
      );
      return false;
    }
    if (this.server.draining) {
      this.replyError(id, routeId, new ServiceStoppingError(`service '${this.server.service}' is stopping and accepts no new calls`, { data: NOT_RUN }));
      return false;
    }
    if (!Array.isArray(args)) {
      this.replyError(id, routeId, new FrameError(`request to ${route.name}: body is not an argument list`));
      return false;
    }
    if (this.running >= this.server.limits.maxInFlightPerConnection) {
      this.replyError(
        id,
        routeId,
        new QueueFullError(
          `${this.running} calls from this connection are already running in '${this.server.service}' (maxInFlightPerConnection): retry later or raise the limit`,
          { data: { limit: this.server.limits.maxInFlightPerConnection, notRun: true } },
        ),
      );
      return false;
    }
    // A context (and the metadata it is made of) only where the handler asks for one, or calls
    // made from it must find their parent (deadline, cancellation), or spans are recorded.
    const scoped = isPropagating();
    const traced = tracing();
    let context: CallContext | null = null;
    const streamed = (flags & FrameFlag.StreamArgument) !== 0;
    if (route.needsContext || scoped || traced || streamed) {
      const metadata = this.metadata(buffer, start, end);
      if (metadata === DROPPED) return false;
      if (streamed && !this.acceptStream(id, routeId, args, metadata)) return false;
      if (route.needsContext || scoped || traced) {
        context = new CallContext(route.name, id, this.connection.peer, undefined, metadata, deadlineFrom(metadata, route.timeoutMs));
        (this.contexts ??= new IdTable()).set(id, context);
      }
    }
    const bulkhead = route.bulkhead;
    if (bulkhead === null) {
      this.invoke(route, id, args, context, scoped, traced, lease);
      return true;
    }
    if (bulkhead.enter(() => this.startGuarded(route, id, args, context, scoped, traced, lease))) return true;
    if (context !== null) {
      context.end();
      this.contexts?.delete(id);
    }
    this.streams?.closeReceiver(id);
    this.replyError(
      id,
      routeId,
      new QueueFullError(`${route.name}: ${bulkhead.limit} calls are running and ${bulkhead.queue} waiting (its bulkhead): retry later`, {
        data: { limit: bulkhead.limit, queue: bulkhead.queue, notRun: true },
      }),
    );
    return false;
  }

  /** A call admitted by its endpoint's bulkhead, now or once a slot freed: not if its caller left meanwhile. */
  private startGuarded(route: EndpointRoute, id: number, args: unknown[], context: CallContext | null, scoped: boolean, traced: boolean, lease: number): void {
    if (this.closed || context?.cancelled === true) {
      context?.end();
      this.contexts?.delete(id);
      if (lease >= 0) this.connection.release!(lease);
      route.bulkhead!.leave();
      return;
    }
    this.invoke(route, id, args, context, scoped, traced, lease);
  }

  /** Puts a receiver in the place of the streamed argument; false (the connection dropped) when the request does not say where it goes. */
  private acceptStream(id: number, routeId: number, args: unknown[], metadata: CallMetadata | undefined): boolean {
    const index = metadata?.[METADATA_KEYS.stream];
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= args.length || args[index] != null) {
      this.connection.destroy(this.dropped(new FrameError(`request ${id} streams an argument but its metadata 'stream' names no nil argument`)));
      return false;
    }
    args[index] = (this.streams ??= new StreamTable(this)).openReceiver(id, routeId, DEFAULT_WINDOW);
    return true;
  }

  /** The frame's metadata, or DROPPED after ending a connection that sent a malformed section. */
  private metadata(buffer: Buffer, start: number, end: number): CallMetadata | undefined | typeof DROPPED {
    try {
      return readMetadata(buffer, start, end);
    } catch (error) {
      this.connection.destroy(this.dropped(error as Error));
      return DROPPED;
    }
  }

  private invoke(route: EndpointRoute, id: number, args: unknown[], context: CallContext | null, scoped: boolean, traced: boolean, lease: number): void {
    this.server.callStarted();
    this.running++;
    const started = performance.now();
    let result: unknown;
    try {
      if (traced) {
        const { span, context: active } = startServerSpan(route.name, this.connection.peer.kind, context!.metadata);
        context!.span = span;
        context!.trace = active;
        result = scoped ? withTraceContext(active, runInScope, context!, route.invoke, args) : withTraceContext(active, route.invoke, args, context);
      } else {
        result = scoped ? runInScope(context!, route.invoke, args) : route.invoke(args, context);
      }
    } catch (error) {
      this.complete(route, id, context, error, true, started, lease);
      return;
    }
    if (isPromiseLike(result)) {
      result.then(
        (value) => this.complete(route, id, context, value, false, started, lease),
        (error) => this.complete(route, id, context, error, true, started, lease),
      );
    } else {
      this.complete(route, id, context, result, false, started, lease);
    }
  }

  /** Answers the call, then gives back the pooled bytes of its arguments (a result may be one of them). */
  private complete(route: EndpointRoute, id: number, context: CallContext | null, value: unknown, failed: boolean, started: number, lease: number): void {
    // A handler that returns an async iterable streams its results; the call ends with the stream.
    if (!failed && !this.closed && isAsyncIterable(value)) {
      if (context === null || !context.callerGone) return this.streamResult(route, id, context, value, started, lease);
      // The caller left before the stream could open: the source is closed, never pulled.
      closeSource(value);
      value = undefined;
    }
    this.answer(route, id, context, value, failed, started, lease);
    if (lease >= 0) this.connection.release!(lease);
  }

  /** What every call does once its handler (or its result stream) is done, reply aside. */
  private finish(route: EndpointRoute, id: number, context: CallContext | null, error: unknown, failed: boolean, started: number): void {
    if (context) {
      context.end();
      this.contexts?.delete(id);
      if (context.span) endSpan(context.span, failed ? error : undefined);
    }
    route.metrics.done(started, failed);
    this.running--;
    this.server.callEnded();
    route.bulkhead?.leave();
    // A streamed argument the handler did not read to its end: its sender is told to stop.
    this.streams?.closeReceiver(id);
  }

  /** `lease`: the hold on the request's pooled bytes, ended right after (a result that is one of them may be answered in place). */
  private answer(route: EndpointRoute, id: number, context: CallContext | null, value: unknown, failed: boolean, started: number, lease = -1): void {
    this.finish(route, id, context, value, failed, started);
    if (this.closed) return;
    if (failed) return this.replyFailure(route, id, context, value);
    let frame: Buffer;
    try {
      frame =
        isRawBytes(value) && !this.codec.plain
          ? this.codec.encodeBytes(FrameKind.Response, id, route.id, value)
          : encodeLent(this.codec, this.connection, FrameKind.Response, id, route.id, value);
    } catch (error) {
      this.replyError(
        id,
        route.id,
        error instanceof PayloadTooLargeError
          ? new PayloadTooLargeError(error.data!.size as number, error.data!.limit as number, `response of ${route.name}`)
          : new FrameError(`response of ${route.name} cannot be encoded: ${(error as Error).message}`),
      );
      return;
    }
    this.write(frame, false, lease);
  }

  private replyFailure(route: EndpointRoute, id: number, context: CallContext | null, error: unknown): void {
    // The caller gave up (it cancelled or left, or the deadline it sent passed) and is not
    // waiting to learn how the handler stopped: no reply, and no unexpected error in the log.
    // A deadline the service only assumed (none was sent) may be wrong: the caller is answered.
    if (context !== null && (context.callerGone || (context.cancelled && context.header(METADATA_KEYS.deadline) !== undefined))) return;
    this.replyError(id, route.id, this.server.forCaller(route, id, this.peer, error));
  }

  /**
   * Sends a handler's async iterable as the call's result stream: an empty StreamData frame
   * opens it (the caller learns the call streams), items follow as the caller's credit allows,
   * then StreamEnd, or an error frame after the items sent before the error.
   */
  private streamResult(route: EndpointRoute, id: number, context: CallContext | null, source: AsyncIterable<unknown>, started: number, lease: number): void {
    // A stream lasts as long as its caller reads, unless the caller sent a deadline.
    context?.unbound();
    this.write(this.codec.encode(FrameKind.StreamData, id, route.id, NO_ITEMS));
    const sender = (this.streams ??= new StreamTable(this)).startSender(id, route.id, source, `the result stream of ${route.name}`);
    const run = this.runSender(sender, context);
    // Cancelled endpoints end here (streamDone) even if their source still waits inside next().
    run.then(
      (ended) => this.streamDone(route, sender, context, ended ? undefined : null, started, lease),
      (error: unknown) => this.streamDone(route, sender, context, error ?? new Error('the stream threw undefined'), started, lease),
    );
  }

  /** Pulls the source inside the call's scope and trace context, where the handler ran. */
  private runSender(sender: StreamSender, context: CallContext | null): Promise<boolean> {
    if (context === null) return sender.runUntilStopped();
    const pump = (): Promise<boolean> =>
      isPropagating() ? (runInScope(context, () => sender.runUntilStopped(), []) as Promise<boolean>) : sender.runUntilStopped();
    return context.trace === undefined ? pump() : withTraceContext(context.trace, pump);
  }

  /** `outcome`: undefined when the source ended, null when the sender was stopped, else the error. */
  private streamDone(route: EndpointRoute, sender: StreamSender, context: CallContext | null, outcome: unknown, started: number, lease: number): void {
    const id = sender.id;
    this.streams?.senderDone(sender);
    const ended = this.endedStreams?.get(id);
    if (ended !== undefined) this.endedStreams!.delete(id);
    const failed = outcome !== undefined && outcome !== null;
    this.finish(route, id, context, outcome, failed, started);
    if (lease >= 0) this.connection.release!(lease);
    if (this.closed) return;
    if (ended !== undefined) this.replyError(id, route.id, ended);
    else if (failed) this.replyFailure(route, id, context, outcome);
    else if (outcome === undefined) this.write(this.codec.encode(FrameKind.StreamEnd, id, route.id, null));
    // Stopped because the caller cancelled: it waits for nothing.
  }

  /** The service is stopping: result streams end now, their callers told so (retryable), rather than holding the drain up. */
  endStreams(): void {
    const streams = this.streams;
    if (streams === null) return;
    for (const sender of streams.activeSenders()) {
      (this.endedStreams ??= new Map()).set(
        sender.id,
        new ServiceStoppingError(`service '${this.server.service}' is stopping: the stream ended early; call again to resume elsewhere`),
      );
      // A generator that watches its signal stops too.
      this.contexts?.get(sender.id)?.cancel('the service is stopping');
      sender.stop();
    }
  }

  // StreamConnection: what the streams of this connection write through.
  get writable(): boolean {
    return this.connection.writable;
  }

  whenWritable(): Promise<void> {
    return this.connection.whenWritable();
  }

  writeFrame(frame: Buffer, oneWay = false): boolean {
    if (this.closed) return false;
    this.write(frame, oneWay);
    return true;
  }

  private onStreamFrame(buffer: Buffer, start: number, end: number): void {
    // Every frame is decoded, even for a stream already gone: the codec's record state depends on it.
    const body = this.decode(buffer, start, end);
    if (body === DROPPED) return;
    const id = frameId(buffer, start);
    const streams = this.streams;
    if (streams === null) return;
    let error: FrameError | undefined;
    switch (frameKind(buffer, start)) {
      case FrameKind.StreamData:
        error = streams.onData(id, body, (frameFlags(buffer, start) & FrameFlag.RawBody) !== 0, end - start - HEADER_BYTES);
        break;
      case FrameKind.StreamEnd:
        streams.onEnd(id);
        break;
      default:
        error = streams.onCredit(id, body);
    }
    if (error !== undefined) this.connection.destroy(this.dropped(error));
  }

  private replyError(id: number, routeId: number, error: unknown): void {
    if (this.closed) return;
    this.write(this.codec.encode(FrameKind.Error, id, routeId, toWireError(error)));
  }

  /** `lease`: see `answer`. */
  private write(frame: Buffer, oneWay = false, lease = -1): void {
    let tail = this.codec.tail;
    if (tail !== null) this.codec.tail = null;
    if (tail !== null && lease >= 0) {
      const written = this.connection.writeInPlace?.(lease, frame, tail) ?? null;
      if (written !== null) return this.afterWrite(written);
    }
    // A pooled argument echoed to a socket caller: the socket may write it after the handler's lease ended.
    if (tail !== null && this.connection.lend === undefined && isSharedMemory(tail)) tail = Buffer.from(tail);
    this.afterWrite(tail === null ? this.connection.write(frame, undefined, oneWay) : this.connection.write(frame, tail, oneWay));
  }

  /** When the caller does not read its replies, stop reading its requests until it does. */
  private afterWrite(written: boolean): void {
    if (written || this.paused) return;
    this.paused = true;
    this.connection.pause();
    void this.connection.whenWritable().then(() => {
      this.paused = false;
      if (!this.closed) this.connection.resume();
    });
  }

  private onEvent(buffer: Buffer, start: number, end: number): void {
    const body = this.decode(buffer, start, end);
    if (body === DROPPED) return;
    const metadata = this.metadata(buffer, start, end);
    if (metadata === DROPPED) return;
    const routeId = frameRoute(buffer, start);
    const route = this.server.events.get(routeId);
    if (route === undefined) {
      this.server.logger.once(
        `event:${routeId}`,
        'warn',
        `ignoring events with route id ${routeId} from ${this.peer}: '${this.server.service}' does not subscribe to them`,
      );
      return;
    }
    this.deliver(route, frameId(buffer, start), body, metadata);
  }

  private deliver(route: EventRoute, sequence: number, body: unknown, metadata: CallMetadata | undefined): void {
    let event: object;
    let id: string;
    try {
      // Every event travels as [event id, event]: the id lets subscribers drop duplicates.
      if (!Array.isArray(body) || body.length !== 2 || typeof body[0] !== 'string') {
        throw new FrameError(`${route.name} event body is not [id, event]`);
      }
      id = body[0];
      event = route.revive(body[1]);
    } catch (error) {
      this.server.logger.warn(`dropping malformed ${route.name} event from ${this.peer}: ${describeError(error)}`);
      return;
    }
    route.metrics.done(performance.now(), false);
    if (route.keyOf !== undefined) {
      this.deliverInOrder(route, sequence, id, event, metadata);
      return;
    }
    const scoped = isPropagating();
    const traced = tracing();
    // One delivery hold per event (the event queue's journal records it handled when it ends); event bodies are copies, so shared bytes need none.
    const token = this.connection.holdKind === 'bytes' ? -1 : (this.connection.hold?.() ?? -1);
    const handlers = route.handlers;
    if (handlers.length === 1) {
      this.server.callStarted();
      this.invokeHandler(route, handlers[0]!, sequence, id, event, metadata, scoped, traced, token, null);
      return;
    }
    let pending = handlers.length;
    const settled = () => {
      if (--pending === 0) this.connection.release?.(token);
    };
    for (const handler of handlers) {
      this.server.callStarted();
      this.invokeHandler(route, handler, sequence, id, event, metadata, scoped, traced, -1, settled);
    }
  }

  /**
   * An event with an ordering key waits for the events of its key delivered before it: one
   * delivery hold for all its handlers, taken now (the journal keeps it while it waits), and
   * the key's lane moves on once every handler has settled.
   */
  private deliverInOrder(route: EventRoute, sequence: number, id: string, event: object, metadata: CallMetadata | undefined): void {
    let key: string;
    try {
      key = route.keyOf!(event);
    } catch (error) {
      this.server.logger.warn(`dropping ${route.name} event ${id} from ${this.peer}: ${describeError(error)}`);
      return;
    }
    const token = this.connection.holdKind === 'bytes' ? -1 : (this.connection.hold?.() ?? -1);
    this.server.callStarted();
    this.server.lanes.run(key, (done) => {
      let pending = route.handlers.length + 1;
      const settled = () => {
        if (--pending > 0) return;
        this.server.callEnded();
        this.connection.release?.(token);
        done();
      };
      const scoped = isPropagating();
      const traced = tracing();
      for (const handler of route.handlers) {
        this.server.callStarted();
        this.invokeHandler(route, handler, sequence, id, event, metadata, scoped, traced, -1, settled);
      }
      settled();
    });
  }

  private invokeHandler(
    route: EventRoute,
    handler: EventRoute['handlers'][number],
    sequence: number,
    id: string,
    event: object,
    metadata: CallMetadata | undefined,
    scoped: boolean,
    traced: boolean,
    token: number,
    settled: (() => void) | null,
  ): void {
    const args: unknown[] = [event];
    let context: CallContext | null = null;
    try {
      if (handler.contextIndex >= 0 || scoped || traced) context = new CallContext(route.name, sequence, this.connection.peer, id, metadata);
      if (handler.contextIndex >= 0) args[handler.contextIndex] = context;
      let result: unknown;
      if (traced) {
        const { span, context: active } = startConsumerSpan(route.name, this.connection.peer.kind, metadata, id);
        context!.span = span;
        context!.trace = active;
        result = scoped ? withTraceContext(active, runInScope, context!, handler.invoke, args) : withTraceContext(active, handler.invoke, args);
      } else {
        result = scoped ? runInScope(context!, handler.invoke, args) : handler.invoke(args);
      }
      if (isPromiseLike(result)) {
        result.then(
          () => this.handled(token, context, undefined, settled),
          (error) => this.handlerFailed(handler.label, error, token, context, settled),
        );
        return;
      }
    } catch (error) {
      this.handlerFailed(handler.label, error, token, context, settled);
      return;
    }
    this.handled(token, context, undefined, settled);
  }

  private handled(token: number, context: CallContext | null, error?: unknown, settled?: (() => void) | null): void {
    context?.end();
    if (context?.span) endSpan(context.span, error);
    this.server.callEnded();
    this.connection.release?.(token);
    settled?.();
  }

  /** A failed handler counts as handled: the error is logged, and the event is not delivered again. */
  private handlerFailed(label: string, error: unknown, token: number, context: CallContext | null, settled?: (() => void) | null): void {
    this.server.logger.error(`${label} failed`, error);
    this.handled(token, context, error, settled);
  }

  private onCancel(buffer: Buffer, start: number, end: number): void {
    if (this.decode(buffer, start, end) === DROPPED) return;
    const id = frameId(buffer, start);
    const context = this.contexts?.get(id);
    if (context) context.cancel('the caller cancelled the call');
    if (this.streams === null) return;
    // A result stream stops, and a streamed argument the handler still reads ends with the cancellation.
    this.streams.stopSender(id);
    this.streams.receiver(id)?.fail(new CallAbortedError('the caller cancelled the call'));
    this.streams.closeReceiver(id);
  }
}

/** Closes an async iterable nobody will read (its generator's `finally` blocks run). */
function closeSource(source: AsyncIterable<unknown>): void {
  try {
    const done = source[Symbol.asyncIterator]().return?.();
    if (done !== undefined) Promise.resolve(done).then(undefined, () => undefined);
  } catch {
    // its clean-up failed: nobody waits for it
  }
}
