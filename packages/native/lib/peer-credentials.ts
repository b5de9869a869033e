import type { Socket } from 'node:net';
import { native } from './native';
import { requireInteger } from './validate';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/**
 * The process on the other end of a Unix socket, as the kernel recorded it at connect
 * time (SO_PEERCRED): it cannot be forged by the peer.
 */
export function peerCredentials(socket: Socket | number): PeerCredentials {
  const fd = typeof socket === 'number' ? socket : (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) throw new TypeError('peerCredentials needs a connected Unix socket (or its fd)');
  return native.peerCredentials(requireInteger(fd, 'fd', 0, 2 ** 31 - 1));
}
