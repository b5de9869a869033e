import { randomBytes } from 'node:crypto';
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { inject, injectable } from 'inversify';
import { ConnectionLostError, ServiceUnavailableError } from '../../core/errors/errors';
import { fromWireError, toWireError } from '../../core/errors/wire';
import { TRANSPORT_CONTEXT, type TransportContext } from '../contract/plugin';
import type { Connection, ConnectRequest, ListenRequest, Transport, TransportAddress, TransportServer } from '../contract/transport';
import { ThreadConnection } from './thread-connection';
import { ThreadRing } from './thread-ring';
import { THREAD_GONE_CHANNEL } from '../../core/thread-exit';
import { THREAD_OPTIONS, type ThreadOptions } from './thread.options';

/** Where a thread listener is reached: its rendezvous channel, in this process only. */
export interface ThreadAddress {
  kind: 'thread';
  channel: string;
  pid: number;
  threadId: number;
}

interface OpenRequest {
  type: 'open';
  id: string;
  replyTo: string;
  threadId: number;
  toService: SharedArrayBuffer;
  toClient: SharedArrayBuffer;
}

type OpenReply = { type: 'accepted'; id: string } | { type: 'refused'; id: string; error: unknown };

/**
 * Services hosted in worker threads of one process, called from its other threads over
 * SharedArrayBuffer rings woken with Atomics.waitAsync / Atomics.notify: no syscall, no
 * copy through the kernel. A client opens a connection by posting its two rings on the
 * listener's BroadcastChannel; the listener replies on the client's. A thread that exits is
 * announced on THREAD_GONE_CHANNEL (by whoever started it), and its connections end with
 * ConnectionLostError. Callers in other processes use the service's other bindings.
 */
@injectable('Singleton')
export class ThreadTransport implements Transport {
  readonly kind = 'thread' as const;
  /** Open connections by the thread on their other end, to end them when it exits. */
  private readonly byPeerThread = new Map<number, Set<ThreadConnection>>();
  private gone: BroadcastChannel | null = null;

  constructor(
    @inject(THREAD_OPTIONS) private readonly options: ThreadOptions,
    @inject(TRANSPORT_CONTEXT) private readonly context: Pick<TransportContext, 'namespace'>,
  ) {}

  async listen(request: ListenRequest): Promise<TransportServer> {
    const channel = `hostmesh.thread.${this.context.namespace}.${request.service}.${request.instance}.${randomBytes(6).toString('hex')}`;
    const rendezvous = new BroadcastChannel(channel);
    let accepting = true;
    const open = new Set<ThreadConnection>();
    rendezvous.onmessage = (event) => {
      const message = (event as MessageEvent).data as OpenRequest;
      if (message?.type !== 'open') return;
      const reply = new BroadcastChannel(message.replyTo);
      const refuse = (error: Error) => {
        reply.postMessage({ type: 'refused', id: message.id, error: toWireError(error) } satisfies OpenReply);
        reply.close();
      };
      if (!accepting) return refuse(new ServiceUnavailableError(`${request.service}@${request.instance} is stopping`));
      const busy = request.admit?.();
      if (busy !== undefined) return refuse(busy);
      const peer = { kind: 'thread' as const, address: `thread ${message.threadId}`, pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() };
      const connection: ThreadConnection = new ThreadConnection(
        new ThreadRing(message.toService),
        new ThreadRing(message.toClient),
        peer,
        request.maxPayloadBytes,
        request.inbound,
        () => {
          open.delete(connection);
          this.forget(message.threadId, connection);
        },
      );
      open.add(connection);
      this.track(message.threadId, connection);
      request.onConnection(connection);
      reply.postMessage({ type: 'accepted', id: message.id } satisfies OpenReply);
      reply.close();
    };
    const address: ThreadAddress = { kind: 'thread', channel, pid: process.pid, threadId };
    return {
      address: address as unknown as TransportAddress,
      stopAccepting: async () => {
        accepting = false;
      },
      dispose: async () => {
        accepting = false;
        rendezvous.close();
        for (const connection of open) connection.destroy();
      },
      describe: () => ({ kind: 'thread', channel, connections: open.size }),
    };
  }

  async connect(address: TransportAddress, request: ConnectRequest): Promise<Connection> {
    const target = address as unknown as Partial<ThreadAddress>;
    if (target.kind !== 'thread' || typeof target.channel !== 'string') throw new TypeError(`thread transport cannot connect to a ${address.kind} address`);
    if (target.pid !== process.pid) {
      throw new ServiceUnavailableError(`${target.channel} is in process ${String(target.pid)}: a thread listener is reached only from its own process`);
    }
    const toService = ThreadRing.create(this.options.ringBytes);
    const toClient = ThreadRing.create(this.options.ringBytes);
    const id = randomBytes(6).toString('hex');
    const replyTo = `${target.channel}.reply.${id}`;
    const peerThread = target.threadId ?? -1;
    // Made, and watched for its peer's exit, before the peer hears of it: an exit during the
    // rendezvous ends it like any other.
    const connection: ThreadConnection = new ThreadConnection(
      toClient,
      toService,
      { kind: 'thread', address: target.channel, pid: process.pid },
      request.maxPayloadBytes,
      undefined,
      () => this.forget(peerThread, connection),
    );
    this.track(peerThread, connection);
    const replies = new BroadcastChannel(replyTo);
    try {
      const reply = await new Promise<OpenReply>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new ServiceUnavailableError(`no thread listener answered on ${target.channel} within ${request.timeoutMs} ms`)),
          request.timeoutMs,
        );
        replies.onmessage = (event) => {
          const data = (event as MessageEvent).data as OpenReply;
          if (data?.id !== id) return;
          clearTimeout(timer);
          resolve(data);
        };
        const rendezvous = new BroadcastChannel(target.channel!);
        rendezvous.postMessage({ type: 'open', id, replyTo, threadId, toService: toService.shared, toClient: toClient.shared } satisfies OpenRequest);
        rendezvous.close();
      });
      if (reply.type === 'refused') throw fromWireError(reply.error, `thread connection to ${target.channel}`);
    } catch (error) {
      // Closed rings end whatever a listener that answers late makes of them.
      connection.destroy();
      throw error;
    } finally {
      replies.close();
    }
    if (connection.closed) throw new ServiceUnavailableError(`the thread behind ${target.channel} exited while the connection was being made`);
    return connection;
  }

  private track(peerThread: number, connection: ThreadConnection): void {
    let set = this.byPeerThread.get(peerThread);
    if (set === undefined) this.byPeerThread.set(peerThread, (set = new Set()));
    set.add(connection);
    if (this.gone === null) {
      this.gone = new BroadcastChannel(THREAD_GONE_CHANNEL);
      this.gone.onmessage = (event) => {
        const exited = ((event as MessageEvent).data as { threadId?: number })?.threadId;
        for (const each of this.byPeerThread.get(exited ?? -1) ?? []) each.destroy(new ConnectionLostError(`thread ${exited} exited`));
      };
      // Listening for exits must not keep a process alive.
      (this.gone as unknown as { unref?: () => void }).unref?.();
    }
  }

  private forget(peerThread: number, connection: ThreadConnection): void {
    const set = this.byPeerThread.get(peerThread);
    set?.delete(connection);
    if (set?.size === 0) this.byPeerThread.delete(peerThread);
    if (this.byPeerThread.size === 0 && this.gone !== null) {
      this.gone.close();
      this.gone = null;
    }
  }
}
