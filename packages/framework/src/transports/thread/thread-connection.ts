import { ConnectionLostError, FrameError } from '../../core/errors/errors';
import { FrameParser } from '../../protocol/frame-parser';
import type { InboundLimits } from '../../protocol/inbound-limits';
import { NO_HANDLER, type Connection, type ConnectionHandler, type PeerInfo } from '../contract/transport';
import { WAKE_CHECK_MS, type ThreadRing } from './thread-ring';

/** Records read per turn before the event loop gets its turn back. */
const BATCH = 64;
/** Bytes queued behind a full ring before `writable` turns false. */
const HIGH_WATER = 1 << 20;

/**
 * Frames between two threads of one process over a pair of rings: `outbound` is ours to
 * write, `inbound` the peer's. Records are chunks of a byte stream, parsed into frames as a
 * socket's bytes would be (the same checks, the same budget); a frame whole inside one
 * record is handed out in place, transient: the ring reuses its bytes once the handler returns.
 */
export class ThreadConnection implements Connection {
  private handler: ConnectionHandler = NO_HANDLER;
  private readonly parser: FrameParser;
  private readonly queue: Buffer[] = [];
  private queueOffset = 0;
  private queuedBytes = 0;
  private pumping = false;
  private paused = false;
  private resume_: (() => void) | null = null;
  private drainWaiters: Array<() => void> = [];
  private state: 'open' | 'closing' | 'closed' = 'open';

  constructor(
    private readonly inbound: ThreadRing,
    private readonly outbound: ThreadRing,
    readonly peer: PeerInfo,
    maxPayloadBytes: number,
    limits?: InboundLimits,
    /** Told once, when the connection is closed, so the transport forgets it. */
    private readonly onGone: () => void = () => undefined,
  ) {
    this.parser = new FrameParser(maxPayloadBytes, (buffer, start, end) => this.handler.onFrame(buffer, start, end, buffer.buffer === inbound.shared), limits);
  }

  /** True once closed or destroyed. */
  get closed(): boolean {
    return this.state === 'closed';
  }

  get writable(): boolean {
    return this.state === 'open' && this.queuedBytes < HIGH_WATER;
  }

  bind(handler: ConnectionHandler): void {
    this.handler = handler;
    void this.readLoop();
  }

  write(frame: Buffer, tail?: Buffer): boolean {
    if (this.state !== 'open') return false;
    const length = frame.length + (tail === undefined ? 0 : tail.length);
    if (this.queue.length === 0 && length <= this.outbound.maxRecord && this.outbound.tryWrite(frame, tail)) return true;
    this.queue.push(frame);
    if (tail !== undefined) this.queue.push(tail);
    this.queuedBytes += length;
    void this.pump();
    return this.writable;
  }

  whenWritable(): Promise<void> {
    if (this.writable || this.state === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.resume_?.();
    this.resume_ = null;
  }

  close(): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    if (this.queue.length === 0) this.finish(undefined);
    // else pump() finishes once the queue has gone out
  }

  destroy(error?: Error): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.finish(error);
  }

  /** Copies what waits behind a full ring in, record by record, as the peer makes room. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && this.state !== 'closed') {
        const part = this.queue[0]!;
        const end = Math.min(part.length, this.queueOffset + this.outbound.maxRecord);
        const chunk = this.queueOffset === 0 && end === part.length ? part : part.subarray(this.queueOffset, end);
        if (!this.outbound.tryWrite(chunk)) {
          if (this.outbound.closed) {
            // The peer is gone with our frames unread: the owner hears of it now, not never.
            this.finish(new ConnectionLostError(`${this.peer.address} closed before reading ${this.queuedBytes} bytes written to it`));
            break;
          }
          if ((await this.outbound.whenRoom()) === 'timed-out' && !this.outbound.closed && this.outbound.tryWrite(chunk)) {
            this.missedWakeup('outbound');
            this.queuedBytes -= chunk.length;
            this.advance(part, end);
          }
          continue;
        }
        this.queuedBytes -= chunk.length;
        this.advance(part, end);
      }
    } finally {
      this.pumping = false;
    }
    if (this.state === 'closing') this.finish(undefined);
  }

  private advance(part: Buffer, end: number): void {
    if (end === part.length) {
      this.queue.shift();
      this.queueOffset = 0;
    } else {
      this.queueOffset = end;
    }
    if (this.writable) this.wakeWriters();
  }

  /** Wake-ups that did not come (work was waiting when a wait timed out), over all thread connections. */
  static missedWakeups = 0;

  private missedWakeup(ring: 'inbound' | 'outbound'): void {
    ThreadConnection.missedWakeups++;
    if (ThreadConnection.missedWakeups === 1)
      process.emitWarning(`thread connection ${this.peer.address}: a wake-up on the ${ring} ring was missed; recovered after ${WAKE_CHECK_MS} ms`);
  }

  private readonly stopReading = (): boolean => this.paused || this.state === 'closed';

  private async readLoop(): Promise<void> {
    // The record's range of the ring, parsed in place: no slice object per record.
    const onRecord = (data: Buffer, start: number, end: number) => this.parser.push(data, start, end);
    while (this.state !== 'closed') {
      if (this.paused) {
        // The peer may close while this side is not reading: that ends the connection too.
        await Promise.race([new Promise<void>((resolve) => (this.resume_ = resolve)), this.inbound.whenClosedOrLater()]);
        this.resume_ = null;
        if (this.paused && this.inbound.closed) return this.finish(new ConnectionLostError(`${this.peer.address} closed while this side was paused`));
        continue;
      }
      let read: number;
      try {
        read = this.inbound.read(onRecord, BATCH, this.stopReading);
      } catch (error) {
        const failure = error instanceof FrameError ? error : new FrameError((error as Error).message);
        this.handler.onProtocolError(failure);
        this.destroy(failure);
        return;
      }
      if (read === BATCH) {
        // Let timers and I/O run between batches.
        await new Promise((resolve) => setImmediate(resolve));
      } else if (read === 0) {
        if (this.inbound.closed) {
          // The peer closed: what it wrote before has been read; a frame cut short is an error.
          const pending = this.parser.pendingBytes;
          if (pending === 0) return this.finish(undefined);
          const error = new FrameError(`truncated frame: the peer closed after ${pending} bytes of a frame`);
          this.handler.onProtocolError(error);
          return this.finish(error);
        }
        if ((await this.inbound.whenReadable()) === 'timed-out' && this.inbound.readable) this.missedWakeup('inbound');
      }
    }
  }

  private finish(error: Error | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.outbound.close();
    this.inbound.close();
    this.parser.dispose();
    this.resume_?.();
    this.wakeWriters();
    this.onGone();
    this.handler.onClose(error);
  }

  private wakeWriters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }
}
