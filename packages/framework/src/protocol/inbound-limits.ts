/** A frame in progress that stops growing for this long is treated as truncated, its peer dropped. */
export const STALLED_FRAME_MS = 10_000;

/**
 * What peers may make one service hold while their frames arrive, shared by all its
 * connections on every transport: a byte budget for frames in progress (so a dozen peers
 * announcing 64 MiB each cannot make it buffer 768 MiB), how long a connection may stay
 * without sending a single frame, and the slowest rate at which a frame may arrive.
 */
export class InboundLimits {
  private buffered = 0;

  constructor(
    /** Bytes of frames in progress the service holds at once, over every connection. */
    readonly maxBufferedBytes: number,
    /** A connection that has not sent one whole frame this long after it opened is closed. */
    readonly idleTimeoutMs: number,
    /** After a 10 s grace, a frame in progress must have arrived at least this fast on average. */
    readonly minBytesPerSecond: number,
  ) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Takes `bytes` of the budget, or returns false (and takes nothing) when it would run over. */
  reserve(bytes: number): boolean {
    if (this.buffered + bytes > this.maxBufferedBytes) return false;
    this.buffered += bytes;
    return true;
  }

  release(bytes: number): void {
    this.buffered -= bytes;
  }
}
