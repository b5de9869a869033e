import { chmod, unlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { inject, injectable, optional } from 'inversify';
import { MESH_CONFIG, type MeshConfig } from '../../runtime/config';
import { ConsoleLogger, LOGGER, type Logger } from '../../runtime/logger';
import { RuntimeDir } from '../../runtime/runtime-dir';
import { admitFrameSocket, PeerPolicy } from '../../security/peer-policy';
import type { Connection, ConnectRequest, ListenRequest, Transport, TransportAddress, TransportServer } from '../transport';
import { connectSocket } from './connect-socket';
import { SocketConnection } from './socket-connection';
import { SocketListener } from './socket-listener';
import { claimSocketPath } from './stale-socket';

/**
 * Unix domain stream sockets: the universal same-host mechanism. Every accepted peer is
 * checked against the peer policy (SO_PEERCRED, `peers` option) before any frame is read.
 */
@injectable('Singleton')
export class UdsTransport implements Transport {
  readonly kind = 'uds' as const;
  private readonly policy: PeerPolicy;
  private readonly logger: Logger;

  constructor(
    @inject(RuntimeDir) private readonly dir: RuntimeDir,
    @inject(MESH_CONFIG) @optional() config?: MeshConfig,
    @inject(LOGGER) @optional() logger?: Logger,
  ) {
    this.policy = new PeerPolicy(config);
    this.logger = (logger ?? new ConsoleLogger('hostmesh', 'warn')).child('uds');
  }

  async listen(request: ListenRequest): Promise<TransportServer> {
    const path = this.dir.socketPath(request.service, request.instance);
    await claimSocketPath(path, `${request.service}@${request.instance}`);
    const server = createServer();
    SocketListener.accept(
      server,
      request.maxPayloadBytes,
      (socket) => {
        const peer = admitFrameSocket(socket, this.policy, request.service, this.logger, request.maxPayloadBytes);
        return peer && { kind: 'uds', address: path, pid: peer.pid, uid: peer.uid, gid: peer.gid };
      },
      request.onConnection,
      request.inbound,
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // The directory is already 0700; the socket itself is 0600 as a second fence.
    await chmod(path, 0o600);
    return new SocketListener(server, { kind: 'uds', path }, async () => {
      try {
        await unlink(path);
      } catch {
        // already gone
      }
    });
  }

  async connect(address: TransportAddress, request: ConnectRequest): Promise<Connection> {
    if (address.kind !== 'uds') throw new TypeError(`uds transport cannot connect to a ${address.kind} address`);
    const socket = await connectSocket({ path: address.path }, address.path, request.timeoutMs);
    return new SocketConnection(socket, { kind: 'uds', address: address.path }, request.maxPayloadBytes);
  }
}
