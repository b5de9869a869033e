import { chmod, unlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { inject, injectable } from 'inversify';
import { RuntimeDir } from '../../runtime/runtime-dir';
import type { Connection, ConnectRequest, ListenRequest, Transport, TransportAddress, TransportServer } from '../transport';
import { connectSocket } from './connect-socket';
import { SocketConnection } from './socket-connection';
import { SocketListener } from './socket-listener';
import { claimSocketPath } from './stale-socket';

/** Unix domain stream sockets: the universal same-host mechanism. */
@injectable('Singleton')
export class UdsTransport implements Transport {
  readonly kind = 'uds' as const;

  constructor(@inject(RuntimeDir) private readonly dir: RuntimeDir) {}

  async listen(request: ListenRequest): Promise<TransportServer> {
    const path = this.dir.socketPath(request.service, request.instance);
    await claimSocketPath(path, `${request.service}@${request.instance}`);
    const server = createServer();
    SocketListener.accept(server, request.maxPayloadBytes, () => ({ kind: 'uds', address: path }), request.onConnection);
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
