import type { Connection, ConnectionHandler, PeerInfo } from '../transports/contract/transport';

const noop: ConnectionHandler = { onFrame: () => undefined, onProtocolError: () => undefined, onClose: () => undefined };

/**
 * Two connected in-memory ends that hand frames over on the next microtask. For unit tests
 * of the layers above the transports (and the framework's own CPU measurements): it moves
 * frames, not bytes through a kernel, and is never evidence that a mechanism works.
 */
export function inProcessPair(): [Connection, Connection] {
  const a = new InProcessConnection();
  const b = new InProcessConnection();
  a.other = b;
  b.other = a;
  return [a, b];
}

class InProcessConnection implements Connection {
  readonly peer: PeerInfo = { kind: 'uds', address: 'in-process' };
  readonly writable = true;
  other!: InProcessConnection;
  private handler: ConnectionHandler = noop;
  private inbox: Buffer[] = [];
  private scheduled = false;
  private closed = false;

  bind(handler: ConnectionHandler): void {
    this.handler = handler;
  }

  write(frame: Buffer, tail?: Buffer): boolean {
    if (this.closed) return false;
    const target = this.other;
    target.inbox.push(tail ? Buffer.concat([frame, tail]) : frame);
    if (!target.scheduled) {
      target.scheduled = true;
      queueMicrotask(target.deliver);
    }
    return true;
  }

  private readonly deliver = (): void => {
    this.scheduled = false;
    const frames = this.inbox;
    this.inbox = [];
    for (const frame of frames) if (!this.closed) this.handler.onFrame(frame, 0, frame.length, false);
  };

  whenWritable(): Promise<void> {
    return Promise.resolve();
  }
  pause(): void {}
  resume(): void {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler.onClose();
    this.other.close();
  }

  destroy(): void {
    this.close();
  }
}
