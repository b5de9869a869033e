import { chmod, unlink } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { peerCredentials, ShmChannel } from '@hostmesh/native';
import { inject, injectable } from 'inversify';
import { ServiceUnavailableError } from '../../errors/errors';
import { MESH_CONFIG, type MeshConfig } from '../../runtime/config';
import { LOGGER, type Logger } from '../../runtime/logger';
import { RuntimeDir } from '../../runtime/runtime-dir';
import { handshakeRefusal, PeerPolicy, refuseHandshake, sendHandshakeRefusal, socketPeer } from '../../security/peer-policy';
import { connectSocket } from '../socket/connect-socket';
import { SocketListener } from '../socket/socket-listener';
import { claimSocketPath } from '../socket/stale-socket';
import type { Connection, ConnectRequest, ListenRequest, Transport, TransportAddress, TransportServer } from '../transport';
import { readLine, writeLine } from '../socket/line-socket';
import { ShmConnection } from './shm-connection';

/** How long a handshake may take before the socket is dropped. */
const HANDSHAKE_MS = 5000;

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

  constructor(
    @inject(RuntimeDir) private readonly dir: RuntimeDir,
    @inject(MESH_CONFIG) private readonly config: MeshConfig,
    @inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child('shm');
    this.policy = new PeerPolicy(config);
  }

  async listen(request: ListenRequest): Promise<TransportServer> {
    const path = this.dir.socketPath(request.service, `${request.instance}.shm`);
    await claimSocketPath(path, `${request.service}@${request.instance} (shm)`);
    const server = createServer((socket) => {
      void this.accept(socket, request).catch((error: Error) => {
        this.logger.warn(`shm handshake from ${describePeer(socket)} failed: ${error.message}`);
        socket.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(path, 0o600);
    return new SocketListener(server, { kind: 'shm', path, ringBytes: this.config.shm.ringBytes }, async () => {
      await unlink(path).catch(() => undefined);
    });
  }

  async connect(address: TransportAddress, request: ConnectRequest): Promise<Connection> {
    if (address.kind !== 'shm' || typeof address.path !== 'string') throw new TypeError(`shm transport cannot connect to a ${address.kind} address`);
    const path = address.path;
    const socket = await connectSocket({ path }, path, request.timeoutMs);
    try {
      writeLine(socket, { v: 1, pid: process.pid });
      const reply = (await readLine(socket, HANDSHAKE_MS)) as { channel?: unknown; error?: unknown; refused?: unknown };
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
        spin: this.config.shm.spin,
      });
      connection.attach(channel);
      return connection;
    } catch (error) {
      socket.destroy();
      throw error;
    }
  }

  private async accept(socket: Socket, request: ListenRequest): Promise<void> {
    // Who it is, before reading a byte: the peer policy (SO_PEERCRED allow-list, authorize hook).
    const credentials = socketPeer(socket);
    const refusal = credentials ? this.policy.refusal(credentials, request.service) : 'the kernel gave no peer credentials';
    if (!credentials || refusal !== undefined) {
      refuseHandshake(socket, this.policy, credentials, request.service, refusal!, this.logger);
      return;
    }
    const hello = (await readLine(socket, HANDSHAKE_MS)) as { pid?: unknown };
    if (hello.pid !== credentials.pid) {
      // It must not lie about its pid: the channel is named after it.
      refuseHandshake(socket, this.policy, credentials, request.service, `claimed pid ${String(hello.pid)} but the kernel says ${credentials.pid}`, this.logger);
      return;
    }
    const busy = request.admit?.();
    if (busy !== undefined) {
      sendHandshakeRefusal(socket, busy);
      return;
    }
    const name = this.dir.objectName(`${request.service}.${request.instance}.${credentials.pid}.${++this.sequence}`);
    const peer = { kind: 'shm' as const, address: name, pid: credentials.pid, uid: credentials.uid, gid: credentials.gid };
    const connection = new ShmConnection(null, socket, peer, request.maxPayloadBytes, request.inbound);
    const channel = ShmChannel.create(name, {
      capacity: this.config.shm.ringBytes,
      onMessage: connection.onMessage,
      onClose: connection.onChannelClosed,
      onError: connection.onRingCorrupted,
      spin: this.config.shm.spin,
    });
    connection.attach(channel);
    request.onConnection(connection);
    writeLine(socket, { v: 1, channel: name });
  }
}

function describePeer(socket: Socket): string {
  try {
    return `pid ${peerCredentials(socket).pid}`;
  } catch {
    return 'an unknown peer';
  }
}
