import type { Socket } from 'node:net';
import { FrameError, ServiceUnavailableError } from '../../core/errors/errors';

/** Handshake messages are single JSON lines, bounded in size and time. */
const MAX_LINE = 4096;

export function writeLine(socket: Socket, value: unknown): void {
  socket.write(JSON.stringify(value) + '\n');
}

export function readLine(socket: Socket, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error: Error | undefined, value?: unknown) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const newline = text.indexOf('\n');
      if (newline < 0) {
        if (text.length > MAX_LINE) finish(new FrameError(`handshake line longer than ${MAX_LINE} bytes`));
        return;
      }
      try {
        finish(undefined, JSON.parse(text.slice(0, newline)));
      } catch {
        finish(new FrameError('handshake line is not JSON'));
      }
    };
    const onClose = () => finish(new ServiceUnavailableError('the peer closed the socket during the handshake'));
    const timer = setTimeout(() => finish(new ServiceUnavailableError(`no handshake within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}
