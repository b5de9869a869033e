import type { Socket } from 'node:net';
import { FrameError } from '../../core/errors/errors';
import { FrameParser } from '../../protocol/frame-parser';
import { STALLED_FRAME_MS, type InboundLimits } from '../../protocol/inbound-limits';
import { NO_HANDLER, type Connection, type ConnectionHandler, type PeerInfo } from '../contract/transport';

/** How often a frame in progress is checked against the minimum rate (InboundLimits). */
const RATE_CHECK_MS = 1_000;

export interface SocketConnectionOptions {
  /** Where frames are written, when not to `socket` (a pipe pair). */
  output?: Socket;
  /** A socket whose life is this connection's: the handshake link of a pipe pair. */
  companion?: Socket;
  /** On a service's side: its budget for frames in progress, idle timeout and minimum rate. */
  inbound?: InboundLimits;
}

/**
 * A byte stream carrying length-prefixed frames: a Unix or TCP socket, or a pair of pipes
 * (frames read from `socket`, written to `output`).
 */
export class SocketConnection implements Connection {
  private handler: ConnectionHandler = NO_HANDLER;
  private readonly parser: FrameParser;
  private drained: Promise<void> | null = null;
  private closed = false;
  private closeError: Error | undefined;
  private stallTimer: NodeJS.Timeout | null = null;
  /** Bytes read so far: progress, whichever frame they belong to. */
  private received = 0;
  private stallMark = -1;
  private stallSince = 0;
  /** When the frame in progress began, less the time this side did not read; -1: none. */
  private frameSince = -1;
  /** When this side stopped reading; -1 while it reads. */
  private pausedAt = -1;
  private spoke = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private tickWrites = 0;
  private corked = false;
  private readonly output: Socket;
  private readonly companion: Socket | undefined;
  private readonly inbound: InboundLimits | undefined;

  constructor(
    private readonly socket: Socket,
    readonly peer: PeerInfo,
    maxPayloadBytes: number,
    options: SocketConnectionOptions = {},
  ) {
    this.output = options.output ?? socket;
    this.companion = options.companion;
    this.inbound = options.inbound;
    this.parser = new FrameParser(
      maxPayloadBytes,
      (buffer, start, end) => {
        this.spoke = true;
        // The rate is judged per frame: the next one starts its own clock.
        this.frameSince = -1;
        this.handler.onFrame(buffer, start, end, false);
      },
      this.inbound,
    );
    if (this.inbound) {
      const idleMs = this.inbound.idleTimeoutMs;
      this.idleTimer = setTimeout(() => {
        // A first frame still arriving is the minimum rate's to judge, not this timer's.
        if (!this.spoke && this.parser.pendingBytes === 0) this.protocolError(new FrameError(`no frame within ${idleMs} ms of connecting (idleTimeoutMs)`));
      }, idleMs);
      this.idleTimer.unref();
    }
    const output = this.output;
    const companion = this.companion;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    for (const stream of new Set([socket, output, ...(companion ? [companion] : [])])) {
      stream.on('error', (error) => {
        this.closeError ??= error;
      });
      stream.on('close', () => this.onSocketClose());
    }
  }

  get writable(): boolean {
    return !this.closed && !this.output.writableNeedDrain;
  }

  bind(handler: ConnectionHandler): void {
    this.handler = handler;
  }

  write(frame: Buffer, tail?: Buffer): boolean {
    if (this.closed) return false;
    // The first frame of a tick leaves at once (lowest latency); frames that follow in the
    // same tick, and header + body pairs, are corked and leave in one writev at its end.
    if (this.tickWrites++ === 0) process.nextTick(this.endTick);
    if ((tail !== undefined || this.tickWrites > 1) && !this.corked) {
      this.corked = true;
      this.output.cork();
    }
    const writable = this.output.write(frame);
    return tail === undefined ? writable : this.output.write(tail);
  }

  private readonly endTick = (): void => {
    this.tickWrites = 0;
    if (!this.corked) return;
    this.corked = false;
    this.output.uncork();
  };

  whenWritable(): Promise<void> {
    if (!this.output.writableNeedDrain || this.closed) return Promise.resolve();
    this.drained ??= new Promise<void>((resolve) => {
      const done = () => {
        this.output.off('drain', done);
        this.output.off('close', done);
        this.drained = null;
        resolve();
      };
      this.output.on('drain', done);
      this.output.on('close', done);
    });
    return this.drained;
  }

  // While we do not read, a frame in progress cannot grow: that is our backpressure, not a
  // stalled peer, so the stall watch stops with the reading and starts again with it.
  pause(): void {
    this.socket.pause();
    this.clearStall();
    this.pausedAt = performance.now();
  }

  resume(): void {
    this.socket.resume();
    if (this.pausedAt !== -1 && this.frameSince !== -1) {
      // Time spent not reading does not count against the frame; one begun while paused starts now.
      const now = performance.now();
      this.frameSince = this.frameSince < this.pausedAt ? this.frameSince + (now - this.pausedAt) : now;
    }
    this.pausedAt = -1;
    if (this.parser.pendingBytes > 0) this.watchStall();
  }

  close(): void {
    if (this.closed) return;
    this.output.end();
    if (this.output !== this.socket) this.socket.destroy();
    // A peer that never reads must not keep us half-open forever.
    setTimeout(() => this.output.destroy(), 5_000).unref();
  }

  destroy(error?: Error): void {
    if (error) this.closeError ??= error;
    this.socket.destroy();
    this.output.destroy();
    this.companion?.destroy();
  }

  private onData(chunk: Buffer): void {
    this.received += chunk.length;
    try {
      this.parser.push(chunk);
    } catch (error) {
      this.protocolError(error instanceof FrameError ? error : new FrameError(String(error), { cause: error }));
      return;
    }
    if (this.parser.pendingBytes === 0) {
      this.frameSince = -1;
      return;
    }
    if (this.frameSince === -1) this.frameSince = performance.now();
    // A reply written while handling this chunk may have paused reading: resume() watches again.
    if (this.pausedAt === -1) this.watchStall();
  }

  private protocolError(error: Error): void {
    if (this.closed) return;
    this.closeError ??= error;
    this.handler.onProtocolError(error);
    this.destroy();
  }

  /**
   * While a frame is in progress: a peer that sends nothing more for STALLED_FRAME_MS is
   * dropped, and on a service's side, one whose frame arrives slower on average than the
   * minimum rate (after the same grace), such as one byte every 9 s, is dropped too.
   */
  private watchStall(): void {
    if (this.stallTimer) return;
    if (this.frameSince === -1) this.frameSince = performance.now();
    this.stallMark = this.received;
    this.stallSince = performance.now();
    this.stallTimer = setInterval(
      () => {
        const pending = this.parser.pendingBytes;
        const at = performance.now();
        if (pending === 0) {
          this.clearStall();
          return;
        }
        if (this.received !== this.stallMark) {
          this.stallMark = this.received;
          this.stallSince = at;
        } else if (at - this.stallSince >= STALLED_FRAME_MS) {
          this.clearStall();
          this.protocolError(new FrameError(`truncated frame: ${pending} bytes received, then nothing for ${STALLED_FRAME_MS} ms`));
          return;
        }
        const minimum = this.inbound?.minBytesPerSecond ?? 0;
        const took = at - this.frameSince;
        if (pending < (minimum * (took - STALLED_FRAME_MS)) / 1000) {
          this.clearStall();
          this.protocolError(
            new FrameError(
              `frame arriving too slowly: ${pending} bytes in ${Math.round(took)} ms, under the minimum of ${minimum} B/s after ${STALLED_FRAME_MS} ms (minFrameBytesPerSecond)`,
            ),
          );
        }
      },
      this.inbound ? RATE_CHECK_MS : STALLED_FRAME_MS,
    );
    this.stallTimer.unref();
  }

  private clearStall(): void {
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.stallTimer = null;
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.output.destroy();
    this.companion?.destroy();
    this.clearStall();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const pending = this.parser.pendingBytes;
    this.parser.dispose();
    if (pending > 0 && !this.closeError) {
      this.closeError = new FrameError(`truncated frame: the peer closed after ${pending} bytes of a frame`);
      this.handler.onProtocolError(this.closeError);
    }
    this.handler.onClose(this.closeError);
  }
}
