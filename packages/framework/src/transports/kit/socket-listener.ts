import type { Server, Socket } from 'node:net';
import type { InboundLimits } from '../../protocol/inbound-limits';
import type { Connection, PeerInfo, TransportAddress, TransportServer } from '../contract/transport';
import { SocketConnection } from './socket-connection';

/** Wraps a listening net.Server; shared by the Unix and TCP transports. */
export class SocketListener implements TransportServer {
  private accepting = true;

  constructor(
    private readonly server: Server,
    readonly address: TransportAddress,
    private readonly release: () => Promise<void>,
    /** The transport's own gauges for diagnostics (shm: how its pool was used). */
    private readonly gauges?: () => Record<string, unknown>,
  ) {}

  describe(): Record<string, unknown> {
    return { kind: this.address.kind, address: this.address, ...this.gauges?.() };
  }

  /**
   * Hands every accepted socket to `onConnection` as a frame connection. `describe` may
   * return false to refuse the peer: it has then dealt with the socket, and no byte of it
   * is parsed.
   */
  static accept(
    server: Server,
    maxPayloadBytes: number,
    describe: (socket: Socket) => PeerInfo | false,
    onConnection: (connection: Connection) => void,
    inbound?: InboundLimits,
  ): void {
    server.on('connection', (socket) => {
      const peer = describe(socket);
      if (peer === false) return;
      socket.setNoDelay?.(true);
      onConnection(new SocketConnection(socket, peer, maxPayloadBytes, { inbound }));
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
