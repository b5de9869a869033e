import type { MessageQueue } from '@hostmesh/native';
import { FrameError } from '../../errors/errors';
import type { Connection, ConnectionHandler, PeerInfo } from '../transport';
import { forEachFrame } from './queue-frames';

const noHandler: ConnectionHandler = { onFrame: () => undefined, onProtocolError: () => undefined, onClose: () => undefined };

/**
 * The subscriber's side of its event queue, seen as a receive-only connection. A message
 * that is not made of frames is reported and skipped: the queue, and the events behind
 * it, live on.
 */
export class QueueReaderConnection implements Connection {
  readonly writable = false;
  readonly statelessFrames = true;
  readonly peer: PeerInfo;
  private handler: ConnectionHandler = noHandler;
  private closed = false;

  constructor(
    private readonly queue: MessageQueue,
    private readonly maxPayloadBytes: number,
  ) {
    this.peer = { kind: 'mqueue', address: queue.name };
  }

  bind(handler: ConnectionHandler): void {
    this.handler = handler;
    this.resume();
  }

  /** Events have no replies: nothing is ever written back into a queue. */
  write(): boolean {
    return false;
  }

  whenWritable(): Promise<void> {
    return Promise.resolve();
  }

  pause(): void {
    this.queue.pause();
  }

  resume(): void {
    if (this.closed) return;
    this.queue.onMessage((message) => {
      try {
        forEachFrame(message, message.length, this.maxPayloadBytes, (buffer, start, end) => this.handler.onFrame(buffer, start, end, true));
      } catch (error) {
        if (!(error instanceof FrameError) && !(error instanceof Error && 'code' in error)) throw error;
        this.handler.onProtocolError(error);
      }
    });
  }

  /** Stops consuming; the queue stays, with whatever it holds, for the next start. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.close();
    this.handler.onClose();
  }

  /** A bad message never ends consumption: the queue is the only way events reach us. */
  destroy(): void {}
}
