import { createServer } from 'node:net';
import { inject, injectable } from 'inversify';
import type { Logger } from '../../core/logger';
import { PeerPolicy } from '../../core/peer-policy';
import type { RuntimeDir } from '../../core/runtime-dir';
import { TRANSPORT_CONTEXT, type TransportContext } from '../contract/plugin';
import type { Connection, ConnectRequest, ListenRequest, Transport, TransportAddress, TransportServer } from '../contract/transport';
import { admitFrameSocket } from '../kit/admit-frame-socket';
import { connectSocket } from '../kit/connect-socket';
import { listenPrivately } from '../kit/private-listener';
import { SocketConnection } from '../kit/socket-connection';
import { SocketListener } from '../kit/socket-listener';

/**
 * Unix domain stream sockets: the universal same-host mechanism. Every accepted peer is
 * checked against the peer policy (SO_PEERCRED, `peers` option) before any frame is read.
 */
@injectable('Singleton')
export class UdsTransport implements Transport {
  readonly kind = 'uds' as const;
  private readonly policy: PeerPolicy;
  private readonly logger: Logger;

  private readonly dir: RuntimeDir | undefined;

  constructor(@inject(TRANSPORT_CONTEXT) context: TransportContext) {
    this.dir = context.runtimeDir;
    this.policy = new PeerPolicy(context.peers);
    this.logger = context.logger.child('uds');
  }

  async listen(request: ListenRequest): Promise<TransportServer> {
    const path = this.dir!.socketPath(request.service, request.instance);
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
    return listenPrivately(server, path, `${request.service}@${request.instance}`, { kind: 'uds', path });
  }

  async connect(address: TransportAddress, request: ConnectRequest): Promise<Connection> {
    if (address.kind !== 'uds') throw new TypeError(`uds transport cannot connect to a ${address.kind} address`);
    const socket = await connectSocket({ path: address.path }, address.path, request.timeoutMs);
    return new SocketConnection(socket, { kind: 'uds', address: address.path }, request.maxPayloadBytes);
  }
}
