import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { ServiceUnavailableError } from '../../core/errors/errors';

/** Opens a stream socket, failing after `timeoutMs` with the system's reason. */
export function connectSocket(options: NetConnectOpts, describe: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(options);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ServiceUnavailableError(`connecting to ${describe} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      resolve(socket);
    });
    const onError = (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ServiceUnavailableError(`cannot connect to ${describe}: ${error.code ?? error.message}`, { cause: error }));
    };
    socket.once('error', onError);
  });
}
