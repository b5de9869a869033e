import { createServer, type Socket } from 'node:net';
import { frameBlocks, peerCredentials, ShmChannel, ShmPool } from '@hostmesh/native';
import { inject, injectable } from 'inversify';
import { ServiceUnavailableError } from '../../core/errors/errors';
import type { Logger } from '../../core/logger';
import { handshakeRefusal, PeerPolicy } from '../../core/peer-policy';
import type { RuntimeDir } from '../../core/runtime-dir';
import { TRANSPORT_CONTEXT, type TransportContext } from '../contract/plugin';
import type { Connection, ConnectRequest, ListenRequest, Transport, TransportAddress, TransportServer } from '../contract/transport';
import { connectSocket } from '../kit/connect-socket';
import { acceptHandshake, HANDSHAKE_MS } from '../kit/handshake';
import { readLine, writeLine } from '../kit/line-socket';
import { listenPrivately } from '../kit/private-listener';
import { ShmConnection, type PoolCounters } from './shm-connection';
import { SHM_OPTIONS, type ShmOptions } from './shm.options';

/**
 * Shared-memory rings for request/response on one host. A client connects to the
 * service's handshake socket; the service checks who it is (SO_PEERCRED: same uid by
 * default), creates a channel (two rings and their doorbells, 0600, named after both
 * ends) and tells the client its name; the client maps it. The socket then stays open as
 * the liveness link of the pair: one ring pair per connection, so producers never contend.
 */
@injectable('Singleton')
export class ShmTransport implements Transport {
  readonly kind = 'shm' as const;
  private readonly logger: Logger;
  private readonly policy: PeerPolicy;
  private sequence = 0;

  private readonly dir: RuntimeDir | undefined;

  constructor(
    @inject(SHM_OPTIONS) private readonly options: ShmOptions,
    @inject(TRANSPORT_CONTEXT) context: TransportContext,
  ) {
    this.dir = context.runtimeDir;
    this.logger = context.logger.child('shm');
    this.policy = new PeerPolicy(context.peers);
  }

  async listen(request: ListenRequest): Promise<TransportServer> {
    const path = this.dir!.socketPath(request.service, `${request.instance}.shm`);
    // What this listener's connections did with their pools: its diagnostics show it.
    const counters: PoolCounters = { copied: 0, lent: 0, answeredInPlace: 0, throughRing: 0 };
    const server = createServer((socket) => {
      void this.accept(socket, request, counters).catch((error: Error) => {
        this.logger.warn(`shm handshake from ${describePeer(socket)} failed: ${error.message}`);
        socket.destroy();
      });
    });
    return listenPrivately(server, path, `${request.service}@${request.instance} (shm)`, { kind: 'shm', path, ringBytes: this.options.ringBytes }, () => ({
      pool: { ...counters },
      // Process-wide: memory kept for large frames that took the ring (and copies waiting for it).
      frameBlockBytes: frameBlocks(),
    }));
  }

  async connect(address: TransportAddress, request: ConnectRequest): Promise<Connection> {
    if (address.kind !== 'shm' || typeof address.path !== 'string') throw new TypeError(`shm transport cannot connect to a ${address.kind} address`);
    const path = address.path;
    const socket = await connectSocket({ path }, path, request.timeoutMs);
    try {
      // `returns`: this side takes answers made in its own half of the pool (POOL_RETURN).
      writeLine(socket, { v: 1, pid: process.pid, returns: true });
      const reply = (await readLine(socket, HANDSHAKE_MS)) as { channel?: unknown; pool?: unknown; error?: unknown; refused?: unknown };
      const refused = handshakeRefusal(reply, `shm handshake with ${path}`);
      if (refused) throw refused;
      if (typeof reply.channel !== 'string') {
        throw new ServiceUnavailableError(`shm handshake with ${path} refused: ${String(reply.error ?? 'no channel offered')}`);
      }
      const connection = new ShmConnection(null, socket, { kind: 'shm', address: reply.channel }, request.maxPayloadBytes);
      const channel = ShmChannel.open(reply.channel, {
        onMessage: connection.onMessage,
        onClose: connection.onChannelClosed,
        onError: connection.onRingCorrupted,
        spin: this.options.spin,
      });
      let pool: ShmPool | null = null;
      try {
        // The service names its pool only when it has one; one that cannot be opened is refused like its channel.
        if (typeof reply.pool === 'string') pool = ShmPool.open(reply.pool);
      } catch (error) {
        channel.close();
        throw error;
      }
      connection.attach(channel, pool, { peerTakes: false, takes: true });
      return connection;
    } catch (error) {
      socket.destroy();
      throw error;
    }
  }

  private async accept(socket: Socket, request: ListenRequest, counters: PoolCounters): Promise<void> {
    const credentials = await acceptHandshake(socket, request, this.policy, this.logger);
    if (!credentials) return;
    const name = this.dir!.objectName(`${request.service}.${request.instance}.${credentials.pid}.${++this.sequence}`);
    const peer = { kind: 'shm' as const, address: name, pid: credentials.pid, uid: credentials.uid, gid: credentials.gid };
    const peerTakesReturns = credentials.hello.returns === true;
    const connection = new ShmConnection(null, socket, peer, request.maxPayloadBytes, request.inbound, counters);
    const channel = ShmChannel.create(name, {
      capacity: this.options.ringBytes,
      onMessage: connection.onMessage,
      onClose: connection.onChannelClosed,
      onError: connection.onRingCorrupted,
      spin: this.options.spin,
    });
    let pool: ShmPool | null = null;
    try {
      if (this.options.poolBytes > 0) pool = ShmPool.create(`${name}.pool`, this.options.poolBytes);
    } catch (error) {
      channel.close();
      throw error;
    }
    connection.attach(channel, pool, { peerTakes: peerTakesReturns, takes: false });
    request.onConnection(connection);
    writeLine(socket, pool === null ? { v: 1, channel: name } : { v: 1, channel: name, pool: pool.name });
  }
}

function describePeer(socket: Socket): string {
  try {
    return `pid ${peerCredentials(socket).pid}`;
  } catch {
    return 'an unknown peer';
  }
}
