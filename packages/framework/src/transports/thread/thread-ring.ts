/**
 * A single-producer, single-consumer byte ring in a SharedArrayBuffer, between two threads of
 * one process: the producer copies records in and publishes its head; the consumer reads them
 * in place and publishes its tail. Each side sleeps with `Atomics.waitAsync` (which does not
 * block its event loop) and is woken with `Atomics.notify` only when it said it was sleeping.
 *
 * Layout: control words (Int32), then `capacity` data bytes. A record is an 8-byte header
 * (int32 length, int32 flags) and its bytes, padded to 8; a record that does not fit before
 * the end of the data area leaves a WRAP length there and starts again at 0. Records are
 * chunks of a byte stream: the receiver parses frames out of them as it would from a socket.
 */
const HEAD = 0;
const READER_WAITING = 1;
const CLOSED = 2;
// The consumer's words sit on another cache line than the producer's.
const TAIL = 16;
const WRITER_WAITING = 17;
const CONTROL_BYTES = 128;
const RECORD_HEADER = 8;
const WRAP = -1;

/** Node 16+ has it; TypeScript's lib has it only from es2024 on. */
type WaitAsync = (array: Int32Array, index: number, value: number, timeout: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * A wait also ends after this long, and the side looks again. Node 20 posts the resolution of
 * a notified waitAsync as a platform task that may wait for the next event of the loop
 * (nodejs/node#44409, #44729): seen in the quick bench as a wake-up that came only with this
 * check. So a late wake-up costs at most this much latency, never a hang (counted in
 * ThreadConnection.missedWakeups, and warned about once).
 */
export const WAKE_CHECK_MS = 100;

export class ThreadRing {
  readonly control: Int32Array;
  readonly data: Buffer;
  readonly capacity: number;
  /** The largest record body: half the ring, so a record always fits after the wrap. */
  readonly maxRecord: number;

  constructor(readonly shared: SharedArrayBuffer) {
    this.control = new Int32Array(shared, 0, CONTROL_BYTES / 4);
    this.capacity = shared.byteLength - CONTROL_BYTES;
    this.data = Buffer.from(shared, CONTROL_BYTES, this.capacity);
    this.maxRecord = this.capacity / 2 - RECORD_HEADER;
  }

  /** A ring of `capacity` data bytes (a power of two, at least 4096). */
  static create(capacity: number): ThreadRing {
    if (!Number.isInteger(capacity) || capacity < 4096 || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`ring capacity ${capacity} is not a power of two of at least 4096`);
    }
    return new ThreadRing(new SharedArrayBuffer(CONTROL_BYTES + capacity));
  }

  get closed(): boolean {
    return Atomics.load(this.control, CLOSED) !== 0;
  }

  /** Marks the ring closed and wakes both sides: the consumer drains what is left, then ends. */
  close(): void {
    Atomics.store(this.control, CLOSED, 1);
    Atomics.notify(this.control, HEAD);
    Atomics.notify(this.control, TAIL);
    Atomics.notify(this.control, CLOSED);
  }

  /** Resolves when the ring closes, or after WAKE_CHECK_MS: for a side that is not reading (paused). */
  whenClosedOrLater(): Promise<string> {
    if (this.closed) return Promise.resolve('not-equal');
    const waited = waitAsync(this.control, CLOSED, 0, WAKE_CHECK_MS);
    return waited.async ? (waited.value as Promise<string>) : Promise.resolve('not-equal');
  }

  // --- producer ---

  /**
   * Copies `first`, then `second` when given (together at most maxRecord bytes), in as one
   * record. Returns false, writing nothing, when there is no room yet.
   */
  tryWrite(first: Buffer, second?: Buffer): boolean {
    const length = first.length + (second === undefined ? 0 : second.length);
    const head = Atomics.load(this.control, HEAD);
    const tail = Atomics.load(this.control, TAIL);
    const need = (RECORD_HEADER + length + 7) & ~7;
    let at = head & (this.capacity - 1);
    const skip = at + need > this.capacity ? this.capacity - at : 0;
    if (((head - tail) >>> 0) + skip + need > this.capacity) return false;
    if (skip > 0) {
      this.data.writeInt32LE(WRAP, at);
      at = 0;
    }
    this.data.writeInt32LE(length, at);
    this.data.writeInt32LE(0, at + 4);
    first.copy(this.data, at + RECORD_HEADER);
    if (second !== undefined) second.copy(this.data, at + RECORD_HEADER + first.length);
    Atomics.store(this.control, HEAD, (head + skip + need) | 0);
    if (Atomics.load(this.control, READER_WAITING) !== 0) {
      Atomics.store(this.control, READER_WAITING, 0);
      Atomics.notify(this.control, HEAD);
    }
    return true;
  }

  /** Resolves when the consumer has made room (or the ring closed). */
  whenRoom(): Promise<string> {
    const tail = Atomics.load(this.control, TAIL);
    Atomics.store(this.control, WRITER_WAITING, 1);
    // The consumer may have moved between the failed write and the flag: look again.
    if (Atomics.load(this.control, TAIL) !== tail || this.closed) return Promise.resolve('not-equal');
    const waited = waitAsync(this.control, TAIL, tail, WAKE_CHECK_MS);
    return waited.async ? (waited.value as Promise<string>) : Promise.resolve('not-equal');
  }

  // --- consumer ---

  /**
   * Hands each record to `onRecord(data, start, end)` in place, up to `limit` of them (fewer once `stop()` says so),
   * then publishes the tail once. Returns how many were read.
   */
  read(onRecord: (data: Buffer, start: number, end: number) => void, limit: number, stop: () => boolean): number {
    const head = Atomics.load(this.control, HEAD);
    let tail = Atomics.load(this.control, TAIL);
    let count = 0;
    // `stop` is asked before each record: a handler that paused or closed its connection gets no more.
    while (tail !== head && count < limit && !stop()) {
      let at = tail & (this.capacity - 1);
      let length = this.data.readInt32LE(at);
      if (length === WRAP) {
        tail = (tail + this.capacity - at) | 0;
        at = 0;
        length = this.data.readInt32LE(0);
      }
      if (length < 0 || length > this.maxRecord) throw new RangeError(`thread ring corrupted: a record of ${length} bytes`);
      tail = (tail + ((RECORD_HEADER + length + 7) & ~7)) | 0;
      count++;
      onRecord(this.data, at + RECORD_HEADER, at + RECORD_HEADER + length);
    }
    if (count > 0 || tail !== Atomics.load(this.control, TAIL)) {
      Atomics.store(this.control, TAIL, tail);
      if (Atomics.load(this.control, WRITER_WAITING) !== 0) {
        Atomics.store(this.control, WRITER_WAITING, 0);
        Atomics.notify(this.control, TAIL);
      }
    }
    return count;
  }

  /** True when a record is waiting. */
  get readable(): boolean {
    return Atomics.load(this.control, HEAD) !== Atomics.load(this.control, TAIL);
  }

  /** Resolves when the producer has published more (or the ring closed). */
  whenReadable(): Promise<string> {
    const tail = Atomics.load(this.control, TAIL);
    Atomics.store(this.control, READER_WAITING, 1);
    // The producer may have published between the last read and the flag: look again.
    const head = Atomics.load(this.control, HEAD);
    if (head !== tail || this.closed) return Promise.resolve('not-equal');
    const waited = waitAsync(this.control, HEAD, head, WAKE_CHECK_MS);
    return waited.async ? (waited.value as Promise<string>) : Promise.resolve('not-equal');
  }
}
