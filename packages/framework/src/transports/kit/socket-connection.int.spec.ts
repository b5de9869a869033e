import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { HEADER_BYTES, writeHeader, FrameKind } from '../../protocol/frame';
import { tempRuntimeDir } from '../../testing/temp-runtime';
import { InboundLimits } from '../../protocol/inbound-limits';
import { SocketConnection } from './socket-connection';

/**
 * The stall watch of a frame in progress, over a real Unix socket pair (timers faked so
 * the 10 s watch takes no 10 s): a peer that stops sending halfway is dropped, but a frame
 * that cannot grow because this side stopped reading (its own backpressure) is not.
 */
describe('SocketConnection stall watch', () => {
  const runtime = tempRuntimeDir();
  const sockets: Socket[] = [];
  afterAll(() => {
    for (const socket of sockets) socket.destroy();
    runtime.remove();
  });
  afterEach(() => jest.useRealTimers());

  async function pair(inbound?: InboundLimits): Promise<{ server: SocketConnection; client: Socket; errors: Error[] }> {
    const path = join(runtime.path, `s${sockets.length}.sock`);
    const accepted = new Promise<Socket>((resolve) => {
      const listener = createServer((socket) => {
        listener.close();
        resolve(socket);
      }).listen(path);
    });
    const client = connect(path);
    const socket = await accepted;
    sockets.push(client, socket);
    const server = new SocketConnection(socket, { kind: 'uds', address: path }, 1 << 20, { inbound });
    const errors: Error[] = [];
    server.bind({ onFrame: () => undefined, onProtocolError: (error) => errors.push(error), onClose: () => undefined });
    return { server, client, errors };
  }

  async function sendHalfAFrame(client: Socket, server: SocketConnection): Promise<void> {
    const frame = Buffer.alloc(HEADER_BYTES + 100);
    writeHeader(frame, FrameKind.Request, 0, 1, 1, 100);
    const arrived = new Promise<void>((resolve) => (server as unknown as { socket: Socket }).socket.once('data', () => setImmediate(resolve)));
    client.write(frame.subarray(0, HEADER_BYTES + 10));
    await arrived;
  }

  it('drops a peer that stops sending halfway through a frame', async () => {
    const { server, client, errors } = await pair();
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    await sendHalfAFrame(client, server);
    jest.advanceTimersByTime(25_000);
    expect(errors.map((error) => error.message)).toEqual(['truncated frame: 26 bytes received, then nothing for 10000 ms']);
  });

  it('does not drop the peer while this side has paused reading, and watches again once it resumes', async () => {
    const { server, client, errors } = await pair();
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    await sendHalfAFrame(client, server);
    server.pause();
    jest.advanceTimersByTime(60_000);
    expect(errors).toEqual([]);
    server.resume();
    jest.advanceTimersByTime(25_000);
    expect(errors).toHaveLength(1);
  });

  async function send(client: Socket, server: SocketConnection, bytes: Buffer): Promise<void> {
    const socket = (server as unknown as { socket: Socket }).socket;
    const arrived = new Promise<void>((resolve) => {
      socket.once('data', () => setImmediate(resolve));
      socket.once('close', () => resolve()); // dropped: the assertions say so
    });
    client.write(bytes);
    await arrived;
  }
  const frameOf = (id: number) => {
    const frame = Buffer.alloc(HEADER_BYTES + 100);
    writeHeader(frame, FrameKind.Request, 0, id, 1, 100);
    return frame;
  };

  it('judges the rate per frame: a peer streaming frames back to back, each chunk ending mid-frame, is never dropped', async () => {
    const { server, client, errors } = await pair(new InboundLimits(1 << 20, 60_000, 65_536));
    server.bind({ onFrame: () => undefined, onProtocolError: (error) => errors.push(error), onClose: () => undefined });
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    await send(client, server, frameOf(1).subarray(0, 50));
    for (let id = 1; id <= 6; id++) {
      jest.advanceTimersByTime(5000);
      // The rest of this frame and the first half of the next, in one chunk.
      await send(client, server, Buffer.concat([frameOf(id).subarray(50), frameOf(id + 1).subarray(0, 50)]));
    }
    jest.advanceTimersByTime(5000);
    expect(errors).toEqual([]);
  });

  it('does not count time paused from inside a frame handler (a reply that backed up), and watches again on resume', async () => {
    const { server, client, errors } = await pair(new InboundLimits(1 << 20, 60_000, 65_536));
    server.bind({ onFrame: () => server.pause(), onProtocolError: (error) => errors.push(error), onClose: () => undefined });
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    // A whole frame (its handler pauses reading) and the start of the next, in one chunk.
    await send(client, server, Buffer.concat([frameOf(1), frameOf(2).subarray(0, 30)]));
    jest.advanceTimersByTime(60_000);
    expect(errors).toEqual([]);
    server.resume();
    jest.advanceTimersByTime(25_000);
    expect(errors.map((error) => error.message)).toEqual(['truncated frame: 30 bytes received, then nothing for 10000 ms']);
  });
});
