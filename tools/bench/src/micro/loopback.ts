import type { Connection, ConnectionHandler, PeerInfo } from '@hostmesh/framework';

/**
 * A pair of in-memory connections that deliver frames synchronously on the next
 * microtask: measures the framework's own CPU cost per call with no kernel in the way.
 * Not a transport, and never evidence that one works.
 */
export function loopbackPair(): [Connection, Connection] {
  const a = new LoopbackConnection();
  const b = new LoopbackConnection();
  a.peerEnd = b;
  b.peerEnd = a;
  return [a, b];
}

const noop: ConnectionHandler = { onFrame: () => undefined, onProtocolError: () => undefined, onClose: () => undefined };

class LoopbackConnection implements Connection {
  readonly peer: PeerInfo = { kind: 'uds', address: 'loopback' };
  readonly writable = true;
  peerEnd!: LoopbackConnection;
  handler: ConnectionHandler = noop;
  private queue: Buffer[] = [];
  private scheduled = false;

  bind(handler: ConnectionHandler): void {
    this.handler = handler;
  }
  write(frame: Buffer): boolean {
    const target = this.peerEnd;
    target.queue.push(frame);
    if (!target.scheduled) {
      target.scheduled = true;
      queueMicrotask(target.deliver);
    }
    return true;
  }
  private readonly deliver = (): void => {
    this.scheduled = false;
    const frames = this.queue;
    this.queue = [];
    for (const frame of frames) this.handler.onFrame(frame, 0, frame.length, false);
  };
  whenWritable(): Promise<void> {
    return Promise.resolve();
  }
  pause(): void {}
  resume(): void {}
  close(): void {}
  destroy(): void {}
}
