import { ConnectionLostError, QueueFullError, ServiceUnavailableError, CallTimeoutError } from '../core/errors/errors';
import { FrameCodec } from '../protocol/codec';
import { FrameKind, frameId, frameKind } from '../protocol/frame';
import { ConsoleLogger } from '../core/logger';
import type { Connection, ConnectionHandler, PeerInfo, Transport } from '../transports/contract/transport';
import { RpcClient } from './rpc-client';

/**
 * An in-memory connection the test drives by hand: it records frames, can report itself
 * congested, and lets the test play the service. For the rpc layer only; transports are
 * tested with real sockets.
 */
class ScriptedConnection implements Connection {
  readonly peer: PeerInfo = { kind: 'uds', address: 'scripted' };
  handler!: ConnectionHandler;
  congested = false;
  readonly sent: Array<{ kind: number; id: number; body: unknown }> = [];
  private readonly service = new FrameCodec(1 << 20);
  private readonly replies = new FrameCodec(1 << 20);
  private drainWaiters: Array<() => void> = [];

  get writable(): boolean {
    return !this.congested;
  }
  bind(handler: ConnectionHandler): void {
    this.handler = handler;
  }
  write(frame: Buffer): boolean {
    this.sent.push({ kind: frameKind(frame, 0), id: frameId(frame, 0), body: this.service.decode(frame, 0, frame.length) });
    return !this.congested;
  }
  whenWritable(): Promise<void> {
    return this.congested ? new Promise((resolve) => this.drainWaiters.push(resolve)) : Promise.resolve();
  }
  drain(): void {
    this.congested = false;
    for (const wake of this.drainWaiters.splice(0)) wake();
  }
  reply(id: number, value: unknown): void {
    const frame = this.replies.encode(FrameKind.Response, id, 0, value);
    this.handler.onFrame(frame, 0, frame.length, false);
  }
  pause(): void {}
  resume(): void {}
  close(): void {
    this.handler.onClose();
  }
  destroy(error?: Error): void {
    this.handler.onClose(error);
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

function clientWith(connect: () => Promise<Connection>, maxPendingCalls = 100): RpcClient {
  const transport: Transport = { kind: 'uds', listen: () => Promise.reject(new Error('unused')), connect };
  return new RpcClient({
    label: 'pricing',
    transport,
    resolve: async () => ({ kind: 'uds', path: '/nowhere' }),
    logger: new ConsoleLogger('test', 'silent'),
    maxPayloadBytes: 1 << 20,
    maxPendingCalls,
    reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
  });
}

describe('RpcClient', () => {
  it('holds calls while the transport is congested and sends them in order once it drains', async () => {
    const connection = new ScriptedConnection();
    const client = clientWith(async () => connection);
    const first = client.call(1, 'pricing.quote', ['a'], 1000);
    await flush();
    connection.congested = true;
    const second = client.call(1, 'pricing.quote', ['b'], 1000);
    await flush();
    const third = client.call(1, 'pricing.quote', ['c'], 1000);
    const fourth = client.call(1, 'pricing.quote', ['d'], 1000);
    await flush();
    // 'b' went out and filled the buffer; 'c' and 'd' wait instead of piling up in it.
    expect(connection.sent.map((f) => f.body)).toEqual([['a'], ['b']]);
    connection.drain();
    await flush();
    expect(connection.sent.map((f) => f.body)).toEqual([['a'], ['b'], ['c'], ['d']]);
    for (const frame of connection.sent) connection.reply(frame.id, (frame.body as string[])[0]!.toUpperCase());
    await expect(Promise.all([first, second, third, fourth])).resolves.toEqual(['A', 'B', 'C', 'D']);
    client.close();
  });

  it('refuses calls beyond maxPendingCalls with QueueFullError', async () => {
    const connection = new ScriptedConnection();
    const client = clientWith(async () => connection, 2);
    const pending = [client.call(1, 'pricing.quote', [1], 1000), client.call(1, 'pricing.quote', [2], 1000)];
    await expect(client.call(1, 'pricing.quote', [3], 1000)).rejects.toBeInstanceOf(QueueFullError);
    await flush();
    for (const frame of connection.sent) connection.reply(frame.id, 'ok');
    await Promise.all(pending);
    client.close();
  });

  it('fails a call that could not be sent within its timeout with ServiceUnavailableError and the reason', async () => {
    const client = clientWith(async () => {
      throw new Error('ECONNREFUSED /nowhere');
    });
    const started = Date.now();
    const error = await client.call(1, 'pricing.quote', [], 80).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).message).toBe('pricing could not be reached within 80 ms (last error: ECONNREFUSED /nowhere)');
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
    client.close();
  });

  it('times out a sent call, sends a cancel, and ignores the late reply while staying usable', async () => {
    const connection = new ScriptedConnection();
    const client = clientWith(async () => connection);
    const slow = client.call(1, 'pricing.quote', ['slow'], 30);
    await expect(slow).rejects.toBeInstanceOf(CallTimeoutError);
    const [request, cancel] = connection.sent;
    expect(cancel).toMatchObject({ kind: FrameKind.Cancel, id: request!.id });
    connection.reply(request!.id, { late: true });
    const next = client.call(1, 'pricing.quote', ['next'], 1000);
    await flush();
    connection.reply(connection.sent[2]!.id, { shape: 'new' });
    await expect(next).resolves.toEqual({ shape: 'new' });
    client.close();
  });

  it('fails calls in flight with ConnectionLostError when the connection drops, and reconnects for the next', async () => {
    const connections: ScriptedConnection[] = [];
    const client = clientWith(async () => {
      connections.push(new ScriptedConnection());
      return connections.at(-1)!;
    });
    const inFlight = client.call(1, 'pricing.quote', [], 1000);
    await flush();
    connections[0]!.destroy(new Error('peer reset'));
    const error = await inFlight.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect((error as Error).message).toContain('while pricing.quote was in flight: peer reset');
    const after = client.call(1, 'pricing.quote', [], 1000);
    for (let i = 0; i < 50 && connections.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    await flush();
    connections[1]!.reply(connections[1]!.sent[0]!.id, 'again');
    await expect(after).resolves.toBe('again');
    client.close();
  });

  it('fails everything pending when closed', async () => {
    const client = clientWith(() => new Promise(() => undefined));
    const waiting = client.call(1, 'pricing.quote', [], 10_000);
    client.close();
    await expect(waiting).rejects.toThrow('client for pricing closed before pricing.quote completed');
    await expect(client.call(1, 'pricing.quote', [], 10)).rejects.toThrow('client for pricing is closed');
  });
});
