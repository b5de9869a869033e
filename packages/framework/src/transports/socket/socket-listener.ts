import type { Server, Socket } from 'node:net';
import type { Connection, PeerInfo, TransportAddress, TransportServer } from '../transport';
import { SocketConnection } from './socket-connection';

/** Wraps a listening net.Server; shared by the Unix and TCP transports. */
export class SocketListener implements TransportServer {
  private accepting = true;

  constructor(
    private readonly server: Server,
    readonly address: TransportAddress,
    private readonly release: () => Promise<void>,
  ) {}

  /** Hands every accepted socket to `onConnection` as a frame connection. */
  static accept(
    server: Server,
    maxPayloadBytes: number,
    describe: (socket: Socket) => PeerInfo,
    onConnection: (connection: Connection) => void,
  ): void {
    server.on('connection', (socket) => {
      socket.setNoDelay?.(true);
      onConnection(new SocketConnection(socket, describe(socket), maxPayloadBytes));
    });
  }

  stopAccepting(): Promise<void> {
    if (!this.accepting) return Promise.resolve();
    this.accepting = false;
    // net.Server#close stops accepting at once; its callback waits for open connections,
    // which the owner drains and closes itself.
    this.server.close();
    return Promise.resolve();
  }

  async dispose(): Promise<void> {
    await this.stopAccepting();
    await this.release();
  }
}
