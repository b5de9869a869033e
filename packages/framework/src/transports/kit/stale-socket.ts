import { lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { RuntimeDirError, ServiceAlreadyRunningError } from '../../core/errors/errors';

/**
 * Makes `path` free for a new listener. A socket file nobody accepts on is the leftover of
 * a dead owner and is removed; one that still accepts belongs to a live process and is
 * left alone; anything that is not a socket is never touched.
 */
export async function claimSocketPath(path: string, owner: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new RuntimeDirError(`${path} exists and is not a socket: remove it by hand`);
  if (await accepts(path)) {
    throw new ServiceAlreadyRunningError(`${owner} is already running: a live process listens on ${path}`);
  }
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
