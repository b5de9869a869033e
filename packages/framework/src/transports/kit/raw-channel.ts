import type { Socket } from 'node:net';
import { ConsoleLogger } from '../../core/logger';
import type { RawChannel, RawChannelContext, TransportContext } from '../contract/plugin';
import type { Connection, ConnectRequest } from '../contract/transport';

// Helpers of the raw channels in the transports' folders (`<kind>.raw-channel.ts`): loaded
// only with them, through a plugin's `rawChannel()`, never by a process that just runs.

/** How a raw channel connects: the default payload limit (what comes back is dropped), 5 s to connect. */
export const RAW_CONNECT: ConnectRequest = { maxPayloadBytes: 64 << 20, timeoutMs: 5000 };

/** The context of a transport that a raw channel connects with: a silent client of a known address, with the caller's TLS files. */
export function rawTransportContext(context: RawChannelContext): TransportContext {
  return {
    runtimeDir: undefined,
    logger: new ConsoleLogger('raw', 'silent'),
    namespace: 'raw',
    instance: '0',
    gracePeriodMs: 0,
    peers: { uids: [], gids: [], authorize: undefined },
    ...(context.tls ? { tls: context.tls } : {}),
  };
}

/** A raw channel over a transport's own connection: its real handshake, then bytes written as they are (no framing, no checks). */
export function connectionChannel(connection: Connection): RawChannel {
  const closed = new Promise<void>((resolve) => connection.bind({ onFrame: () => undefined, onProtocolError: () => undefined, onClose: () => resolve() }));
  return { write: (bytes) => connection.write(bytes), closed, close: () => connection.destroy() };
}

/** A raw channel over a socket being opened: ready at `ready` ('secureConnect' for TLS), its bytes written as they are. */
export function socketChannel(socket: Socket, ready: 'connect' | 'secureConnect' = 'connect'): Promise<RawChannel> {
  return new Promise((resolve, reject) => {
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('data', () => undefined);
    socket.once('error', reject);
    socket.once(ready, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve({ write: (bytes) => socket.write(bytes), closed, close: () => socket.destroy() });
    });
  });
}
