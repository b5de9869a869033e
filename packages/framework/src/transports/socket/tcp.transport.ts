import { createServer } from 'node:net';
import { inject, injectable } from 'inversify';
import { MESH_CONFIG, type MeshConfig } from '../../runtime/config';
import type { Connection, ConnectRequest, ListenRequest, Transport, TransportAddress, TransportServer } from '../transport';
import { connectSocket } from './connect-socket';
import { SocketConnection } from './socket-connection';
import { SocketListener } from './socket-listener';

export interface TcpOptions {
  host: string;
  port: number;
}

/** TCP sockets, for peers on other hosts. Binds loopback unless a host is configured. */
@injectable('Singleton')
export class TcpTransport implements Transport {
  readonly kind = 'tcp' as const;
  private readonly options: TcpOptions;

  constructor(@inject(MESH_CONFIG) config: Pick<MeshConfig, 'tcp'>) {
    this.options = { host: config.tcp.host, port: config.tcp.port };
  }

  withOptions(options: Record<string, unknown>): Transport {
    const host = typeof options.host === 'string' ? options.host : this.options.host;
    const port = typeof options.port === 'number' ? options.port : this.options.port;
    return new TcpTransport({ tcp: { host, port, enabled: true } });
  }

  async listen(request: ListenRequest): Promise<TransportServer> {
    const server = createServer();
    SocketListener.accept(
      server,
      request.maxPayloadBytes,
      (socket) => ({ kind: 'tcp', address: `${socket.remoteAddress}:${socket.remotePort}` }),
      request.onConnection,
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.options.host, port: this.options.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : this.options.port;
    return new SocketListener(server, { kind: 'tcp', host: this.options.host, port }, async () => undefined);
  }

  async connect(address: TransportAddress, request: ConnectRequest): Promise<Connection> {
    if (address.kind !== 'tcp') throw new TypeError(`tcp transport cannot connect to a ${address.kind} address`);
    const where = `${address.host}:${address.port}`;
    const socket = await connectSocket({ host: address.host, port: address.port }, where, request.timeoutMs);
    socket.setNoDelay(true);
    return new SocketConnection(socket, { kind: 'tcp', address: where }, request.maxPayloadBytes);
  }
}
