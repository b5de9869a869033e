import { constants, openSync, unlinkSync } from 'node:fs';
import { chmod, unlink } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { mkfifo } from '@hostmesh/native';
import { inject, injectable, optional } from 'inversify';
import { ServiceUnavailableError } from '../../errors/errors';
import { MESH_CONFIG, type MeshConfig } from '../../runtime/config';
import { LOGGER, type Logger } from '../../runtime/logger';
import { RuntimeDir } from '../../runtime/runtime-dir';
import { handshakeRefusal, PeerPolicy, refuseHandshake, sendHandshakeRefusal, socketPeer } from '../../security/peer-policy';
import { connectSocket } from '../socket/connect-socket';
import { readLine, writeLine } from '../socket/line-socket';
import { SocketConnection } from '../socket/socket-connection';
import { SocketListener } from '../socket/socket-listener';
import { claimSocketPath } from '../socket/stale-socket';
import type { Connection, ConnectRequest, ListenRequest, Transport, TransportAddress, TransportServer } from '../transport';

const HANDSHAKE_MS = 5000;

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

  constructor(
    @inject(RuntimeDir) private readonly dir: RuntimeDir,
    @inject(LOGGER) logger: Logger,
    @inject(MESH_CONFIG) @optional() config?: MeshConfig,
  ) {
    this.logger = logger.child('fifo');
    this.policy = new PeerPolicy(config);
  }

  async listen(request: ListenRequest): Promise<TransportServer> {
    const path = this.dir.socketPath(request.service, `${request.instance}.fifo`);
    await claimSocketPath(path, `${request.service}@${request.instance} (fifo)`);
    const server = createServer((socket) => {
      void this.accept(socket, request).catch((error: Error) => {
        this.logger.warn(`fifo handshake failed: ${error.message}`);
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
    return new SocketListener(server, { kind: 'fifo', path }, async () => {
      await unlink(path).catch(() => undefined);
    });
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
    // Who it is, before reading a byte: the peer policy (SO_PEERCRED allow-list, authorize hook).
    const credentials = socketPeer(link);
    const refusal = credentials ? this.policy.refusal(credentials, request.service) : 'the kernel gave no peer credentials';
    if (!credentials || refusal !== undefined) {
      refuseHandshake(link, this.policy, credentials, request.service, refusal!, this.logger);
      return;
    }
    const hello = (await readLine(link, HANDSHAKE_MS)) as { pid?: unknown };
    if (hello.pid !== credentials.pid) {
      refuseHandshake(link, this.policy, credentials, request.service, `claimed pid ${String(hello.pid)} but the kernel says ${credentials.pid}`, this.logger);
      return;
    }
    const busy = request.admit?.();
    if (busy !== undefined) {
      sendHandshakeRefusal(link, busy);
      return;
    }
    const base = this.dir.socketPath(request.service, `${request.instance}.fifo.${credentials.pid}.${++this.sequence}`);
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
