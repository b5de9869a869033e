import { hostname } from 'node:os';
import { inject, injectable } from 'inversify';
import {
  connect as natsConnect,
  createInbox,
  ErrorCode,
  headers,
  nuid,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type NatsError,
  type Subscription,
} from 'nats';
import { ConnectionLostError, FrameError, PeerRefusedError, ServiceUnavailableError, TlsError } from '../../core/errors/errors';
import { isTlsFailure } from '../kit/tls-options';
import { FrameParser } from '../../protocol/frame-parser';
import type { InboundLimits } from '../../protocol/inbound-limits';
import type { Logger } from '../../core/logger';
import { TRANSPORT_CONTEXT, type TransportContext } from '../contract/plugin';
import { NATS_OPTIONS, type NatsConfig } from './nats.options';
import {
  NO_HANDLER,
  type Connection,
  type ConnectionHandler,
  type ConnectRequest,
  type ListenRequest,
  type PeerInfo,
  type Transport,
  type TransportAddress,
  type TransportServer,
} from '../contract/transport';

/**
 * Subjects (see docs/nats.md). `<base>` = `hm.<namespace>.<service>.<instance>.<unique id>`.
 *
 *   <base>.open                 request: a client opens a connection        (the listener)
 *   hm.<ns>.<service>.open      the same, queue group: any one replica answers
 *   <base>.d.<id>               the client's bytes for connection <id>; an empty message ends it
 *   <base>.p.<id>               request: the client's heartbeat; the reply says whether <id> is known
 *   <inbox>.d                   the service's bytes for the client; an empty message ends it
 *
 * A connection is a byte stream cut into NATS messages of at most the server's max_payload:
 * frames larger than that travel as several messages (NATS keeps one publisher's messages in
 * order) and are reassembled by the same FrameParser the socket transports use.
 */
export interface NatsAddress {
  kind: 'nats';
  servers: string[];
  subject: string;
  [key: string]: unknown;
}

interface OpenRequest {
  id: string;
  inbox: string;
  pid?: number;
  host?: string;
  /** 1: this end speaks credit-based flow control (WINDOW_BYTES). */
  flow?: number;
}
/**
 * `heartbeatMs`: how often the service wants to hear from the client (its idle limit is 8×).
 * `flow: 1`: both ends use flow control; a peer of an earlier version says nothing and gets none.
 */
type OpenReply = { ok: true; subject: string; heartbeatMs: number; flow?: number } | { ok: false; error: string };

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));

/**
 * One NATS client connection per transport (per Mesh / ServiceHost), opened on first use and
 * closed when the last listener and connection are gone, so a process that stops using NATS
 * holds no socket to it.
 */
class SharedNats {
  private nc: Promise<NatsConnection> | null = null;
  private users = 0;
  private readonly connections = new Set<NatsConnectionBase>();
  readonly reconnectListeners = new Set<() => void>();

  constructor(
    private readonly servers: string[],
    private readonly logger: Logger,
    private readonly name: string,
    /** TLS files and credentials for the NATS server (docs/nats.md, "Securing the link"). */
    private readonly secure: Pick<NatsConfig, 'tls' | 'token' | 'user' | 'pass' | 'insecure'> = {},
  ) {}

  async acquire(): Promise<NatsConnection> {
    this.users++;
    try {
      return await this.current();
    } catch (error) {
      this.release();
      throw error;
    }
  }

  release(): void {
    if (--this.users > 0 || !this.nc) return;
    const closing = this.nc;
    this.nc = null;
    void closing.then(
      // Flush what is buffered (end-of-stream messages), but never wait on a NATS server that is away.
      (nc) =>
        Promise.race([nc.flush().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000).unref())])
          .then(() => nc.close())
          .catch(() => undefined),
      () => undefined,
    );
  }

  track(connection: NatsConnectionBase): void {
    this.connections.add(connection);
  }

  untrack(connection: NatsConnectionBase): void {
    this.connections.delete(connection);
  }

  private current(): Promise<NatsConnection> {
    if (this.nc) return this.nc;
    const { tls, token, user, pass, insecure } = this.secure;
    const opening = natsConnect({
      servers: this.servers,
      name: this.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: 2000,
      // Servers a cluster gossips are not ours to trust in plaintext: only the configured ones,
      // unless the link is TLS (required of every server then) or plaintext was allowed.
      ignoreClusterUpdates: !tls && !insecure,
      ...(tls ? { tls: { caFile: tls.ca, certFile: tls.cert, keyFile: tls.key } } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(user !== undefined ? { user, pass } : {}),
    }).then(
      (nc) => {
        void this.watch(nc);
        return nc;
      },
      (error: Error) => {
        if (this.nc === opening) this.nc = null;
        throw connectError(this.servers, error);
      },
    );
    this.nc = opening;
    return opening;
  }

  /**
   * A NATS connection that drops may have lost messages in flight (core NATS is at most
   * once), so every hostmesh connection over it fails at once with a retryable error; the
   * client reconnects (and NATS restores the listeners' subscriptions) when NATS is back.
   */
  private async watch(nc: NatsConnection): Promise<void> {
    const fail = (why: string) => {
      for (const connection of [...this.connections]) {
        if (connection.nc === nc) connection.destroy(new ConnectionLostError(`NATS connection ${why}`));
      }
    };
    void nc.closed().then(() => fail('closed'));
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        this.logger.warn(`NATS disconnected from ${String(status.data)}: failing connections over it`);
        fail(`to ${String(status.data)} lost`);
      } else if (status.type === 'reconnect') {
        this.logger.info(`NATS reconnected to ${String(status.data)}`);
        for (const listener of this.reconnectListeners) listener();
      }
    }
  }
}

/**
 * Why NATS refused us, typed: credentials the server does not accept and TLS failures are
 * final (retrying cannot help), anything else (server down, unreachable) is retryable.
 */
function connectError(servers: string[], error: Error & { code?: string }): Error {
  const where = servers.join(', ');
  if (error.code === ErrorCode.AuthorizationViolation || error.code === ErrorCode.AuthenticationExpired) {
    return new PeerRefusedError(
      `the NATS server at ${where} refused this process: ${error.message} (check nats.token or nats.user/pass; HOSTMESH_NATS_TOKEN, HOSTMESH_NATS_USER/PASS)`,
      {
        cause: error,
        data: { address: where, reason: error.code },
      },
    );
  }
  const cause = (error as { cause?: Error & { code?: string } }).cause;
  if (error.code === ErrorCode.ServerOptionNotAvailable) {
    // We asked for TLS (nats.tls) and the server does not offer it: retrying cannot help.
    return new TlsError(`the NATS server at ${where} does not offer ${error.message || 'TLS'} (nats.tls is set)`, {
      cause: error,
      data: { address: where, reason: error.code },
    });
  }
  // A connection cut mid-handshake (a restart, a handshake timeout under load) is worth retrying.
  const transient = /EOF|ECONNRESET|EPIPE|ETIMEDOUT|ECONNREFUSED/i.test(`${error.code ?? ''} ${error.message} ${cause?.code ?? ''} ${cause?.message ?? ''}`);
  if (!transient && (error.code === ErrorCode.Tls || isTlsFailure(error) || (cause !== undefined && isTlsFailure(cause)))) {
    return new TlsError(`TLS to the NATS server at ${where} failed: ${cause?.message ?? error.message} (nats.tls uses the tls.ca/cert/key files)`, {
      cause: error,
      data: { address: where, reason: cause?.code ?? error.code },
    });
  }
  return new ServiceUnavailableError(`cannot connect to NATS at ${where}: ${error.message}`, { cause: error });
}

/**
 * Bytes a side may have published that the peer has not yet consumed. The receiver grants
 * credit as its owner takes bytes (an empty message with a CREDIT header: the total consumed);
 * a paused receiver grants none, so the sender's `writable` turns false and what waits at the
 * receiver stays within this window plus one frame.
 */
const WINDOW_BYTES = 8 << 20;
const CREDIT = 'Hm-Credit';

/** What both ends of a virtual connection share: a byte stream over NATS messages, with credit-based flow control. */
abstract class NatsConnectionBase implements Connection {
  readonly statelessFrames = false;
  private handler: ConnectionHandler = NO_HANDLER;
  private bound = false;
  private paused = false;
  private readonly parser: FrameParser;
  /** Chunks that arrived before `bind` or while paused; `null` marks the peer's end. */
  private backlog: (Uint8Array | null)[] = [];
  protected closed = false;
  lastHeard = Date.now();
  private sent = 0;
  private granted = 0;
  private consumed = 0;
  private consumedAtLastGrant = 0;
  private drainWaiters: Array<() => void> = [];
  /** Set when both ends agreed to flow control at the open (a peer of an earlier version does not know the credit messages). */
  private flow = false;

  enableFlow(): void {
    this.flow = true;
  }

  constructor(
    readonly nc: NatsConnection,
    protected readonly shared: SharedNats,
    readonly peer: PeerInfo,
    maxPayloadBytes: number,
    /** Where this side's bytes go. */
    protected outbox: string,
    /** On a service's side: its budget for frames in progress, shared with its other connections. */
    inbound?: InboundLimits,
  ) {
    this.parser = new FrameParser(maxPayloadBytes, (buffer, start, end) => this.handler.onFrame(buffer, start, end, false), inbound);
    shared.track(this);
  }

  get writable(): boolean {
    return !this.closed && (!this.flow || this.sent - this.granted < WINDOW_BYTES);
  }

  bind(handler: ConnectionHandler): void {
    this.handler = handler;
    this.bound = true;
    if (this.backlog.length > 0) setImmediate(() => this.drainBacklog());
  }

  write(frame: Buffer, tail?: Buffer): boolean {
    if (this.closed) return false;
    const max = this.nc.info?.max_payload ?? 1024 * 1024;
    try {
      if (tail === undefined) {
        this.publishChunks(frame, max);
      } else if (frame.length + tail.length <= max) {
        this.nc.publish(this.outbox, Buffer.concat([frame, tail], frame.length + tail.length));
      } else {
        this.publishChunks(frame, max);
        this.publishChunks(tail, max);
      }
    } catch (error) {
      this.destroy(new ConnectionLostError(`NATS publish to ${this.outbox} failed: ${(error as Error).message}`, { cause: error }));
      return false;
    }
    this.sent += frame.length + (tail === undefined ? 0 : tail.length);
    return this.writable;
  }

  private publishChunks(bytes: Uint8Array, max: number): void {
    if (bytes.length === 0) return; // an empty message means "end of stream"
    for (let at = 0; at < bytes.length; at += max) this.nc.publish(this.outbox, bytes.subarray(at, Math.min(at + max, bytes.length)));
  }

  whenWritable(): Promise<void> {
    if (this.writable || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private wakeWriters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Tells the peer how much of its stream was consumed, once a quarter window has been. */
  private grant(): void {
    if (!this.flow || this.consumed - this.consumedAtLastGrant < WINDOW_BYTES / 4 || this.closed) return;
    this.consumedAtLastGrant = this.consumed;
    const credit = headers();
    credit.set(CREDIT, String(this.consumed));
    try {
      this.nc.publish(this.outbox, EMPTY, { headers: credit });
    } catch (error) {
      // A lost grant would leave the sender waiting for good: end the connection instead.
      this.destroy(new ConnectionLostError(`NATS publish of flow credit to ${this.outbox} failed: ${(error as Error).message}`, { cause: error }));
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.backlog.length > 0) setImmediate(() => this.drainBacklog());
  }

  close(): void {
    this.finish(undefined, true);
  }

  destroy(error?: Error): void {
    this.finish(error, true);
  }

  /** A message of the peer's stream: bytes, (empty) its end, or (with a CREDIT header) what it consumed of ours. */
  deliver(data: Uint8Array, meta?: MsgHdrs): void {
    if (this.closed) return;
    this.lastHeard = Date.now();
    const credit = meta?.get(CREDIT);
    if (credit) {
      this.granted = Math.max(this.granted, Number(credit));
      if (this.writable) this.wakeWriters();
      return;
    }
    const chunk = data.length === 0 ? null : data;
    if (!this.bound || this.paused || this.backlog.length > 0) {
      this.backlog.push(chunk);
      return;
    }
    this.consume(chunk);
  }

  private drainBacklog(): void {
    while (this.bound && !this.paused && !this.closed && this.backlog.length > 0) this.consume(this.backlog.shift()!);
  }

  private consume(chunk: Uint8Array | null): void {
    if (chunk === null) {
      const pending = this.parser.pendingBytes;
      if (pending > 0) {
        const error = new FrameError(`truncated frame: the peer closed after ${pending} bytes of a frame`);
        this.handler.onProtocolError(error);
        this.finish(error, false);
      } else {
        this.finish(undefined, false);
      }
      return;
    }
    try {
      this.parser.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.consumed += chunk.byteLength;
      this.grant();
    } catch (error) {
      const frameError = error instanceof FrameError ? error : new FrameError(String(error), { cause: error });
      this.handler.onProtocolError(frameError);
      this.finish(frameError, true);
    }
  }

  /** Ends the connection once: tells the peer (unless it ended it), then the owner. */
  protected finish(error: Error | undefined, tellPeer: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.backlog = [];
    this.parser.dispose();
    if (tellPeer && !this.nc.isClosed()) {
      try {
        this.nc.publish(this.outbox, EMPTY);
      } catch {
        // the NATS connection is going away: the peer's heartbeat notices
      }
    }
    this.shared.untrack(this);
    this.released();
    this.wakeWriters();
    const handler = this.handler;
    // Never re-entrantly from inside the owner's own write/close.
    queueMicrotask(() => handler.onClose(error));
  }

  protected abstract released(): void;
}

/** The service's side of one client. */
class NatsServerConnection extends NatsConnectionBase {
  constructor(
    nc: NatsConnection,
    shared: SharedNats,
    peer: PeerInfo,
    maxPayloadBytes: number,
    inbox: string,
    private readonly onReleased: () => void,
    inbound?: InboundLimits,
  ) {
    super(nc, shared, peer, maxPayloadBytes, `${inbox}.d`, inbound);
  }

  protected released(): void {
    this.onReleased();
  }
}

/** The client's side: owns its inbox subscription and heartbeat. */
class NatsClientConnection extends NatsConnectionBase {
  private subscription: Subscription | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private pinging = false;

  constructor(
    nc: NatsConnection,
    shared: SharedNats,
    peer: PeerInfo,
    maxPayloadBytes: number,
    readonly id: string,
    readonly inbox: string,
    private subject: string,
    private readonly heartbeatMs: number,
  ) {
    super(nc, shared, peer, maxPayloadBytes, '');
    this.subscription = nc.subscribe(`${inbox}.d`, { callback: (_error, msg) => this.deliver(msg.data, msg.headers) });
  }

  /** Set once the service accepted: where this side's bytes go from now on. */
  opened(subject: string, serviceHeartbeatMs: number): void {
    this.subject = subject;
    this.outbox = `${subject}.d.${this.id}`;
    const every = Math.max(10, Math.min(this.heartbeatMs, serviceHeartbeatMs || this.heartbeatMs));
    this.heartbeat = setInterval(() => void this.ping(), every);
    this.heartbeat.unref();
  }

  /**
   * The service's liveness: a request it must answer. When the service's process is gone,
   * NATS knows at once (its TCP connection closed) and answers "no responders"; a service
   * that restarted answers that it does not know this connection; silence means a hung
   * service or a broken path. Each fails the connection's calls with ConnectionLostError.
   */
  private async ping(): Promise<void> {
    if (this.pinging || this.closed) return;
    this.pinging = true;
    try {
      const reply = await this.nc.request(`${this.subject}.p.${this.id}`, EMPTY, { timeout: Math.max(2000, this.heartbeatMs * 4) });
      if (reply.data[0] !== 0x31 /* '1' */)
        this.destroy(new ConnectionLostError(`the service at ${this.subject} no longer knows this connection (it restarted)`));
    } catch (error) {
      const code = (error as NatsError).code;
      if (this.closed || this.nc.isClosed()) return;
      if (code === ErrorCode.NoResponders) {
        this.destroy(new ConnectionLostError(`the service at ${this.subject} is gone (no NATS subscriber)`));
      } else if (code === ErrorCode.Timeout) {
        this.destroy(new ConnectionLostError(`the service at ${this.subject} did not answer a heartbeat`));
      }
    } finally {
      this.pinging = false;
    }
  }

  protected released(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.subscription?.unsubscribe();
    this.subscription = null;
    this.shared.release();
  }
}

class NatsListener implements TransportServer {
  private accepting = true;
  private disposed = false;
  private sweeper: NodeJS.Timeout;

  constructor(
    readonly address: NatsAddress,
    private readonly subscriptions: Subscription[],
    private readonly openSubscriptions: Subscription[],
    private readonly connections: Map<string, NatsServerConnection>,
    private readonly shared: SharedNats,
    idleMs: number,
  ) {
    // A client whose process or NATS link died stops sending heartbeats: drop it.
    this.sweeper = setInterval(
      () => {
        const deadline = Date.now() - idleMs;
        for (const connection of [...connections.values()]) {
          if (connection.lastHeard < deadline) {
            connection.destroy(new ConnectionLostError(`no heartbeat from ${connection.peer.address} for ${idleMs} ms`));
          }
        }
      },
      Math.max(100, Math.floor(idleMs / 4)),
    );
    this.sweeper.unref();
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  async stopAccepting(): Promise<void> {
    if (!this.accepting) return;
    this.accepting = false;
    for (const subscription of this.openSubscriptions) subscription.unsubscribe();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.stopAccepting();
    clearInterval(this.sweeper);
    for (const connection of [...this.connections.values()]) connection.destroy();
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.shared.release();
  }

  describe(): Record<string, unknown> {
    return { kind: 'nats', address: this.address, connections: this.connections.size };
  }
}

/** Request/response and events over a NATS server: for deployments of many hosts (docs/nats.md). */
@injectable('Singleton')
export class NatsTransport implements Transport {
  readonly kind = 'nats' as const;
  private readonly shared: SharedNats;
  private readonly servers: string[];
  private readonly heartbeatMs: number;
  private readonly goneListeners = new Set<(subject: string) => void>();

  private readonly namespace: string;

  constructor(@inject(NATS_OPTIONS) options: NatsConfig, @inject(TRANSPORT_CONTEXT) context: Pick<TransportContext, 'namespace' | 'logger'>) {
    this.servers = options.servers;
    this.heartbeatMs = options.heartbeatMs;
    this.namespace = context.namespace;
    this.shared = new SharedNats(this.servers, context.logger, `hostmesh ${process.pid}`, options);
  }

  /** Called each time the process's NATS connection is back after a disconnect. */
  onReconnect(listener: () => void): () => void {
    this.shared.reconnectListeners.add(listener);
    return () => this.shared.reconnectListeners.delete(listener);
  }

  /**
   * Calls `listener` with a listener subject NATS said nobody subscribes to any more (its
   * process is gone): the directory forgets it at once instead of after its expiry.
   */
  onGone(listener: (subject: string) => void): () => void {
    this.goneListeners.add(listener);
    return () => this.goneListeners.delete(listener);
  }

  private gone(subject: string): void {
    for (const listener of this.goneListeners) listener(subject);
  }

  /** The process's NATS connection, for the directory; pair with `releaseConnection`. */
  acquireConnection(): Promise<NatsConnection> {
    return this.shared.acquire();
  }

  releaseConnection(): void {
    this.shared.release();
  }

  async listen(request: ListenRequest): Promise<TransportServer> {
    const nc = await this.shared.acquire();
    const service = `hm.${this.namespace}.${request.service}`;
    // One subject per listener: the same service@instance may run on two hosts, and both must
    // never accept the same connection (each would run its calls). Clients take it from the
    // registry; the queue group on `<service>.open` reaches any one of them.
    const subject = `${service}.${request.instance}.${nuid.next()}`;
    const connections = new Map<string, NatsServerConnection>();
    let listener: NatsListener | undefined;

    const open = (error: NatsError | null, msg: Msg): void => {
      if (error || !listener?.isAccepting) return;
      let hello: OpenRequest;
      try {
        hello = JSON.parse(decoder.decode(msg.data)) as OpenRequest;
        if (typeof hello.id !== 'string' || typeof hello.inbox !== 'string' || connections.has(hello.id)) throw new Error('bad hello');
      } catch {
        msg.respond(json({ ok: false, error: 'malformed open request' } satisfies OpenReply));
        return;
      }
      const where = `${hello.host ?? '?'}:${hello.pid ?? '?'} via ${hello.inbox}`;
      const connection = new NatsServerConnection(
        nc,
        this.shared,
        { kind: 'nats', address: where, pid: hello.pid },
        request.maxPayloadBytes,
        hello.inbox,
        () => connections.delete(hello.id),
        request.inbound,
      );
      connections.set(hello.id, connection);
      if (hello.flow === 1) connection.enableFlow();
      // The reply first: the client learns it is open before any frame (a refusal) arrives.
      msg.respond(json({ ok: true, subject, heartbeatMs: this.heartbeatMs, ...(hello.flow === 1 ? { flow: 1 } : {}) } satisfies OpenReply));
      request.onConnection(connection);
    };
    const lastToken = (s: string) => s.slice(s.lastIndexOf('.') + 1);
    const subscriptions = [
      nc.subscribe(`${subject}.d.*`, { callback: (error, msg) => !error && connections.get(lastToken(msg.subject))?.deliver(msg.data, msg.headers) }),
      nc.subscribe(`${subject}.p.*`, {
        callback: (error, msg) => {
          if (error) return;
          const connection = connections.get(lastToken(msg.subject));
          if (connection) connection.lastHeard = Date.now();
          msg.respond(encoder.encode(connection ? '1' : '0'));
        },
      }),
    ];
    const openSubscriptions = [nc.subscribe(`${subject}.open`, { callback: open }), nc.subscribe(`${service}.open`, { queue: service, callback: open })];
    // The subscriptions are in place at the server before the service is announced.
    await nc.flush();
    const idleMs = Math.max(3000, this.heartbeatMs * 8);
    listener = new NatsListener(
      { kind: 'nats', servers: this.servers, subject },
      [...subscriptions, ...openSubscriptions],
      openSubscriptions,
      connections,
      this.shared,
      idleMs,
    );
    return listener;
  }

  async connect(address: TransportAddress, request: ConnectRequest): Promise<Connection> {
    if (address.kind !== 'nats' || typeof address.subject !== 'string') throw new TypeError(`nats transport cannot connect to a ${address.kind} address`);
    const target = address.subject;
    const nc = await this.shared.acquire();
    const id = nuid.next();
    const inbox = createInbox();
    let connection: NatsClientConnection;
    try {
      connection = new NatsClientConnection(nc, this.shared, { kind: 'nats', address: target }, request.maxPayloadBytes, id, inbox, target, this.heartbeatMs);
    } catch (error) {
      this.shared.release();
      throw new ServiceUnavailableError(`cannot connect to ${target} over NATS: ${(error as Error).message}`, { cause: error });
    }
    let reply: OpenReply;
    try {
      const msg = await nc.request(`${target}.open`, json({ id, inbox, pid: process.pid, host: hostname(), flow: 1 } satisfies OpenRequest), {
        timeout: Math.max(100, request.timeoutMs),
      });
      reply = JSON.parse(decoder.decode(msg.data)) as OpenReply;
    } catch (error) {
      connection.destroy();
      const code = (error as NatsError).code;
      if (code === ErrorCode.NoResponders) this.gone(target);
      const why =
        code === ErrorCode.NoResponders
          ? 'no service listens there'
          : code === ErrorCode.Timeout
            ? `no answer within ${request.timeoutMs} ms`
            : (error as Error).message;
      throw new ServiceUnavailableError(`cannot connect to ${target} over NATS: ${why}`, { cause: error });
    }
    if (!reply.ok) {
      connection.destroy();
      throw new ServiceUnavailableError(`${target} refused the NATS connection: ${reply.error}`);
    }
    if (reply.flow === 1) connection.enableFlow();
    connection.opened(reply.subject, reply.heartbeatMs);
    return connection;
  }
}
