import { chmod, unlink } from 'node:fs/promises';
import type { Server } from 'node:net';
import type { TransportAddress } from '../contract/transport';
import { SocketListener } from './socket-listener';
import { claimSocketPath } from './stale-socket';

/**
 * Listens on a Unix socket at `path` that only this user reaches: a stale file left by a
 * dead owner is claimed (a live one is an error naming `owner`), and the socket is 0600
 * inside the runtime directory's 0700. The listener removes the file when disposed.
 */
export async function listenPrivately(
  server: Server,
  path: string,
  owner: string,
  address: TransportAddress,
  gauges?: () => Record<string, unknown>,
): Promise<SocketListener> {
  await claimSocketPath(path, owner);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  return new SocketListener(
    server,
    address,
    async () => {
      await unlink(path).catch(() => undefined);
    },
    gauges,
  );
}
