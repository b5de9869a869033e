import { discardPages } from '@hostmesh/native';
import { FrameError } from '../core/errors/errors';
import { checkHeader, HEADER_BYTES } from './frame';
import type { InboundLimits } from './inbound-limits';

/** A frame abandoned halfway from this size up gives its pages back at once (a syscall, worth it only for large ones). */
const DISCARD_BYTES = 1 << 20;

/**
 * Splits a byte stream into whole frames. Frames that arrive inside one chunk are
 * handed out in place, as (chunk, start, end): no copy and no slice object; a frame
 * spanning chunks is assembled once into a buffer of its final size. `push` throws FrameError on a bad header, after
 * which the stream cannot be resynchronised and the connection must be dropped.
 *
 * With `limits`, a frame in progress first takes its size from the service's budget (a
 * frame that would run it over is a FrameError), and gives it back when it is whole or the
 * parser is disposed. Its buffer is allocated uninitialised: the kernel gives pages only as
 * bytes are written into them, so what an announcement costs is what actually arrives.
 */
export class FrameParser {
  private partial: Buffer | null = null;
  private filled = 0;
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private reserved = 0;

  constructor(
    private readonly maxBodyBytes: number,
    private readonly onFrame: (buffer: Buffer, start: number, end: number) => void,
    private readonly limits?: InboundLimits,
  ) {}

  /** Bytes of a frame received but not yet complete; a peer closing now truncated it. */
  get pendingBytes(): number {
    return this.filled;
  }

  /**
   * Takes the bytes chunk[start, end) (all of it by default): a transport reading a larger
   * buffer in place (a ring) passes its range instead of a slice of it.
   */
  push(chunk: Buffer, start = 0, end = chunk.length): void {
    let offset = start;
    if (this.partial !== null || this.filled > 0) {
      offset = this.continuePartial(chunk, start, end);
      if (offset < 0) return;
    }
    while (end - offset >= HEADER_BYTES) {
      const bodyLength = checkHeader(chunk, offset, this.maxBodyBytes);
      const frameEnd = offset + HEADER_BYTES + bodyLength;
      if (frameEnd > end) {
        this.partial = this.allocate(HEADER_BYTES + bodyLength);
        this.filled = chunk.copy(this.partial, 0, offset, end);
        return;
      }
      this.onFrame(chunk, offset, frameEnd);
      offset = frameEnd;
    }
    if (offset < end) {
      this.filled = chunk.copy(this.header, 0, offset, end);
    }
  }

  /** Consumes the start of chunk[start, end) into the frame in progress; returns where whole frames resume, or -1. */
  private continuePartial(chunk: Buffer, start: number, end: number): number {
    let offset = start;
    if (this.partial === null) {
      const take = Math.min(HEADER_BYTES - this.filled, end - start);
      chunk.copy(this.header, this.filled, start, start + take);
      this.filled += take;
      offset = start + take;
      if (this.filled < HEADER_BYTES) return -1;
      const bodyLength = checkHeader(this.header, 0, this.maxBodyBytes);
      this.partial = this.allocate(HEADER_BYTES + bodyLength);
      this.header.copy(this.partial, 0);
    }
    const frame = this.partial;
    const take = Math.min(frame.length - this.filled, end - offset);
    chunk.copy(frame, this.filled, offset, offset + take);
    this.filled += take;
    offset += take;
    if (this.filled < frame.length) return -1;
    this.partial = null;
    this.filled = 0;
    this.giveBack();
    this.onFrame(frame, 0, frame.length);
    return offset;
  }

  /** The connection is gone: the frame in progress, its pages and its share of the budget go too. */
  dispose(): void {
    if (this.partial !== null && this.partial.length >= DISCARD_BYTES) discardPages(this.partial);
    this.partial = null;
    this.giveBack();
  }

  private allocate(size: number): Buffer {
    if (this.limits !== undefined) {
      if (!this.limits.reserve(size)) {
        throw new FrameError(
          `a frame of ${size} bytes would take the service past its budget of ${this.limits.maxBufferedBytes} bytes for frames in progress ` +
            `(${this.limits.bufferedBytes} held now; maxBufferedBytes)`,
          { data: { size, limit: this.limits.maxBufferedBytes } },
        );
      }
      this.reserved = size;
    }
    return Buffer.allocUnsafe(size);
  }

  private giveBack(): void {
    if (this.reserved === 0) return;
    this.limits!.release(this.reserved);
    this.reserved = 0;
  }
}
