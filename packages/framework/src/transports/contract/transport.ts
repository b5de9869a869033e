import type { InboundLimits } from '../../protocol/inbound-limits';

/**
 * The mechanisms this process knows. Each transport's plugin adds its own kind by declaration
 * merging (`declare module '../contract/transport' { interface TransportKinds { shm: true } }`),
 * so adding a mechanism touches its own folder and the plugin list, nothing else.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by each plugin
export interface TransportKinds {}

/** Every IPC mechanism a binding can be carried by. */
export type TransportKind = keyof TransportKinds & string;

/** Where a listener can be reached; the shape beyond `kind` belongs to the transport. */
export type TransportAddress =
  { kind: 'uds'; path: string } | { kind: 'tcp'; host: string; port: number } | { kind: Exclude<TransportKind, 'uds' | 'tcp'>; [key: string]: unknown };

/** Who is on the other end, as far as the transport can tell. */
export interface PeerInfo {
  kind: TransportKind;
  /** Human-readable origin for logs: a socket path, `host:port`, … */
  address: string;
  pid?: number;
  uid?: number;
  gid?: number;
}

/** What the owner of a connection is told; every callback runs on the event loop thread. */
export interface ConnectionHandler {
  /**
   * A whole frame at buffer[start, end), header included. When `transient`, the memory
   * belongs to the transport (a shared-memory ring) and is reused once the call returns:
   * whatever must outlive the call is copied. Otherwise it is the receiver's to keep.
   */
  onFrame(buffer: Buffer, start: number, end: number, transient: boolean): void;
  /** The peer sent bytes that are not a frame; the connection is being destroyed. */
  onProtocolError(error: Error): void;
  /** The connection is gone; `error` is set when it did not close cleanly. */
  onClose(error?: Error): void;
}

/**
 * A bidirectional, ordered, reliable frame channel. Transports implement this and nothing
 * about routing, serialization or retries: those live once, in the rpc layer above.
 */
export interface Connection {
  readonly peer: PeerInfo;
  /** False once the transport's buffer is over its high-water mark: wait for `whenWritable()`. */
  readonly writable: boolean;
  /**
   * Frames must be self-contained (no per-connection codec state): set by transports whose
   * receiver may restart between frames, or that mix frames of many senders (queues).
   */
  readonly statelessFrames?: boolean;
  /** Must be called synchronously after the connection is handed out. */
  bind(handler: ConnectionHandler): void;
  /**
   * Queues one whole frame: `frame`, then `tail` when given (a large body sent from the
   * caller's buffer without a copy). Returns `writable` afterwards. `oneWay`: no answer to
   * this frame is expected soon (a stream's items), for transports that wait for answers
   * (shm spins for them); others ignore it.
   */
  write(frame: Buffer, tail?: Buffer, oneWay?: boolean): boolean;
  /** Resolves when buffered frames have drained, or the connection closed. */
  whenWritable(): Promise<void>;
  /** Stops delivering frames until `resume()`: backpressure towards the peer. */
  pause(): void;
  resume(): void;
  /** Flushes what was written, then closes. */
  close(): void;
  /** Closes at once, dropping anything unsent. */
  destroy(error?: Error): void;
  /**
   * For connections that keep what they delivered until it was handled (the event queue's
   * in-flight journal): called while a frame is being delivered, once per event; the token
   * goes back to `release` when every handler of the event has finished.
   */
  hold?(): number;
  /** With `keep` (shm), the views of the frame stay valid after the hold ends, until they are collected or released. */
  release?(token: number, keep?: boolean): void;
  /**
   * What a hold keeps: `'bytes'` (shm's pool: the frame's memory, so it may be read as views
   * until released) or, by default, the delivery (the event queue's journal slot).
   */
  readonly holdKind?: 'bytes' | 'delivery';
  /** For connections with memory shared with the peer: whether a frame of `bytes` may be kept (`release(token, true)`), or must be copied. */
  mayKeep?(bytes: number): boolean;
  /**
   * For connections with memory shared with the peer (shm's pool): `size` bytes there, for the
   * caller to fill and send as a Buffer argument without a copy; undefined when there is no room.
   */
  lend?(size: number): Buffer | undefined;
  /** Gives back a loan that will not be written. */
  unlend?(view: Buffer): void;
  /**
   * For connections with memory shared with the peer (shm's pool): writes `frame` then `tail`
   * as one frame in place, when `tail` lies in the frame held by `token` (a handler answering
   * with its pooled argument), handing the bytes to the peer with no copy; the hold must end
   * right after. Null when it cannot (nothing written: write it the usual way), else what
   * `write` returns.
   */
  writeInPlace?(token: number, frame: Buffer, tail: Buffer): boolean | null;
  /** For connections bound to a kernel object by name (queues): re-checks it after the registry changed. */
  revalidate?(): void;
}

/** What a connection tells before its owner binds a handler, and after it let go: nothing. */
export const NO_HANDLER: ConnectionHandler = {
  onFrame: () => undefined,
  onProtocolError: () => undefined,
  onClose: () => undefined,
};

export interface TransportServer {
  readonly address: TransportAddress;
  /** Stops accepting new connections; existing ones stay open for the owner to drain. */
  stopAccepting(): Promise<void>;
  /** Releases the listener's resources (socket file, …) once every connection is closed. */
  dispose(): Promise<void>;
  /** Gauges worth showing in diagnostics (queue depth, …). */
  describe?(): Record<string, unknown>;
}

export interface ListenRequest {
  service: string;
  instance: string;
  maxPayloadBytes: number;
  /**
   * For a durable transport: the service subscribes to events with an ordering key here and
   * runs this many replicas, so those events are split among them in as many partitions,
   * each taken by one replica (its instance number). Undefined or 1: one shared queue.
   */
  partitions?: number;
  /**
   * For a durable transport: the service subscribes here to events with an ordering key, so
   * what a previous run left is replayed in order before anything new is read.
   */
  ordered?: boolean;
  /** The service's budget for frames in progress, idle timeout and minimum frame rate, shared by its connections. */
  inbound?: InboundLimits;
  onConnection(connection: Connection): void;
  /**
   * Asked by transports with a handshake (shm, fifo) before they build a connection: an
   * error to send the peer instead (the service's connection limit), or undefined.
   */
  admit?(): Error | undefined;
}

export interface ConnectRequest {
  maxPayloadBytes: number;
  /** Give up connecting after this long. */
  timeoutMs: number;
  /**
   * The priority of frames of a route, for transports that order by it (queues: 0 lowest to
   * 31 highest, as POSIX message queues do). The caller knows its events' priorities; the
   * transport does not look them up.
   */
  priorityOf?(route: number): number;
}

export interface Transport {
  readonly kind: TransportKind;
  listen(request: ListenRequest): Promise<TransportServer>;
  connect(address: TransportAddress, request: ConnectRequest): Promise<Connection>;
  /** A transport configured with `options` (`TransportRegistry.resolve({ type, options })`). */
  withOptions?(options: Record<string, unknown>): Transport;
}

/** Multi-injection token: every ContainerModule that adds a transport binds it here. */
export const TRANSPORT = Symbol.for('hostmesh:transport');
