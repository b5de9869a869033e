import { constants, openSync, unlinkSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { mkfifo } from '@hostmesh/native';
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
import { SocketConnection } from '../kit/socket-connection';

/**
 * Frames over a pair of named pipes per connection: what works where only pipes may be
 * used, and the carrier of shell integration (see FifoEndpoint for the JSON-lines side).
 * The service makes both FIFOs (0600) when a client knocks on its handshake socket (the
 * peer policy is checked on SO_PEERCRED before anything is read), the client opens them,
 * and the names are removed at once: only the two processes hold them. The handshake
 * socket stays open as the liveness link.
 */
@injectable('Singleton')
export class FifoTransport implements Transport {
  readonly kind = 'fifo' as const;
  private readonly logger: Logger;
  private readonly policy: PeerPolicy;
  private sequence = 0;

  private readonly dir: RuntimeDir | undefined;

  constructor(@inject(TRANSPORT_CONTEXT) context: TransportContext) {
    this.dir = context.runtimeDir;
    this.logger = context.logger.child('fifo');
    this.policy = new PeerPolicy(context.peers);
  }

  async listen(request: ListenRequest): Promise<TransportServer> {
    const path = this.dir!.socketPath(request.service, `${request.instance}.fifo`);
    const server = createServer((socket) => {
      void this.accept(socket, request).catch((error: Error) => {
        this.logger.warn(`fifo handshake failed: ${error.message}`);
        socket.destroy();
      });
    });
    return listenPrivately(server, path, `${request.service}@${request.instance} (fifo)`, { kind: 'fifo', path });
  }

  async connect(address: TransportAddress, request: ConnectRequest): Promise<Connection> {
    if (address.kind !== 'fifo' || typeof address.path !== 'string') throw new TypeError(`fifo transport cannot connect to a ${address.kind} address`);
    const link = await connectSocket({ path: address.path }, address.path, request.timeoutMs);
    try {
      writeLine(link, { v: 1, pid: process.pid });
      const reply = (await readLine(link, HANDSHAKE_MS)) as { toService?: unknown; toClient?: unknown; error?: unknown; refused?: unknown };
      const refused = handshakeRefusal(reply, `fifo handshake with ${address.path}`);
      if (refused) throw refused;
      if (typeof reply.toService !== 'string' || typeof reply.toClient !== 'string') {
        throw new ServiceUnavailableError(`fifo handshake with ${address.path} refused: ${String(reply.error ?? 'no pipes offered')}`);
      }
      const input = pipeSocket(reply.toClient, 'read');
      const output = pipeSocket(reply.toService, 'write');
      writeLine(link, { opened: true });
      return new SocketConnection(input, { kind: 'fifo', address: reply.toService }, request.maxPayloadBytes, { output, companion: quiet(link) });
    } catch (error) {
      link.destroy();
      throw error;
    }
  }

  private async accept(link: Socket, request: ListenRequest): Promise<void> {
    const credentials = await acceptHandshake(link, request, this.policy, this.logger);
    if (!credentials) return;
    const base = this.dir!.socketPath(request.service, `${request.instance}.fifo.${credentials.pid}.${++this.sequence}`);
    const [toService, toClient] = [`${base}.in`, `${base}.out`];
    try {
      for (const path of [toService, toClient]) mkfifo(path, 0o600);
      // Read-write on our side: opening never waits, and the client can open its ends at once.
      const input = pipeSocket(toService, 'rdwr-read');
      const output = pipeSocket(toClient, 'rdwr-write');
      const peer = { kind: 'fifo' as const, address: toService, pid: credentials.pid, uid: credentials.uid, gid: credentials.gid };
      request.onConnection(new SocketConnection(input, peer, request.maxPayloadBytes, { output, companion: quiet(link), inbound: request.inbound }));
      writeLine(link, { v: 1, toService, toClient });
      await readLine(link, HANDSHAKE_MS); // { opened: true }
    } finally {
      for (const path of [toService, toClient]) {
        try {
          unlinkSync(path);
        } catch {
          // not made
        }
      }
    }
  }
}

type PipeMode = 'read' | 'write' | 'rdwr-read' | 'rdwr-write';

function pipeSocket(path: string, mode: PipeMode): Socket {
  const flags = mode === 'read' ? constants.O_RDONLY : mode === 'write' ? constants.O_WRONLY : constants.O_RDWR;
  const fd = openSync(path, flags | constants.O_NONBLOCK);
  const reads = mode === 'read' || mode === 'rdwr-read';
  return new Socket({ fd, readable: reads, writable: !reads });
}

/**
 * After the handshake the link carries nothing; it lives as long as the connection, and the
 * kernel closes it when either process dies, which ends the connection on the other side.
 */
function quiet(link: Socket): Socket {
  link.on('data', () => undefined);
  return link;
}
