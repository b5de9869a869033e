/**
 * A single-producer/single-consumer ring of variable-length messages in shared memory.
 *
 * Control block (192 bytes, three cache lines: head and tail each on a line of its own;
 * the flags share the third, which both sides write, but only when one parks or waits):
 *   +0    head     u32  bytes ever published (producer writes)
 *   +64   tail     u32  bytes ever released  (consumer writes)
 *   +128  parked   u32  1 = the consumer sleeps: the producer that finds it so after
 *                        publishing sets it back to 0 and rings the doorbell
 *   +132  waiting  u32  1 = the producer waits for room: ring its doorbell after releasing
 *
 * Data: `capacity` bytes (a power of two). A message is a u32 length, the bytes, padding
 * to 8. A message never wraps: when it does not fit before the end, the producer writes
 * the WRAP marker and continues at offset 0.
 *
 * Ordering: both sides use Atomics (sequentially consistent: `xchg` on x86) for the
 * indices and flags. The two sequences that must not be reordered, "publish head, then
 * read parked (and, if set, compare-and-swap it to 0)" and "store parked, then re-read
 * head", are each a seq_cst store followed by a seq_cst load (the compare-and-swap, a
 * `lock cmpxchg`, is a full barrier too), so a wake-up can never be lost (ring.spec.ts
 * checks the store-then-load pairing across processes with a store-buffer litmus test).
 *
 * The consumer trusts nothing it reads: a length or index that does not fit the ring is
 * a RingCorruptedError, never an out-of-bounds read.
 */
export const RING_CONTROL_BYTES = 192;
const HEAD = 0;
const TAIL = 64;
const PARKED = 128;
const WAITING = 132;
const WRAP = -1;
const LENGTH_BYTES = 4;

/** The peer wrote something into the ring that cannot be a message. */
export class RingCorruptedError extends Error {
  override readonly name = 'RingCorruptedError';
}

export type MessageHandler = (buffer: Buffer, start: number, end: number) => void;

function align8(value: number): number {
  return (value + 7) & ~7;
}

export class Ring {
  /** Largest message that always fits, whatever the position of the ring. */
  readonly maxMessageBytes: number;
  private readonly mask: number;
  private readonly head: number;
  private readonly tail: number;
  private readonly parked: number;
  private readonly waiting: number;
  /** Producer's copy of head and last seen tail; consumer's copy of tail. */
  private localHead: number;
  private seenTail: number;
  private localTail: number;

  constructor(
    private readonly bytes: Buffer,
    private readonly words: Int32Array,
    control: number,
    private readonly data: number,
    readonly capacity: number,
  ) {
    if (capacity < 64 || (capacity & (capacity - 1)) !== 0) throw new RangeError(`ring capacity must be a power of two ≥ 64, got ${capacity}`);
    if (control % 64 !== 0 || data % 8 !== 0) throw new RangeError('ring control must be 64-byte and data 8-byte aligned');
    this.mask = capacity - 1;
    this.maxMessageBytes = capacity / 2 - LENGTH_BYTES - 8;
    this.head = (control + HEAD) >> 2;
    this.tail = (control + TAIL) >> 2;
    this.parked = (control + PARKED) >> 2;
    this.waiting = (control + WAITING) >> 2;
    this.localHead = Atomics.load(words, this.head);
    this.seenTail = this.localTail = Atomics.load(words, this.tail);
  }

  /** Byte offset of the head word, for native spinning. */
  get headByteOffset(): number {
    return this.head << 2;
  }

  /** The consumer's position: the head value meaning "nothing new". */
  get consumed(): number {
    return this.localTail >>> 0;
  }

  // ---- producer side -------------------------------------------------------------

  /**
   * Copies `message` (then `extra`) into the ring as one message and publishes it; with
   * `publish` false it is not yet visible to the consumer (a batch, made visible at once by
   * `publish()`: one fenced store of the head for all of it). Returns false, writing
   * nothing, when there is no room yet.
   */
  write(message: Uint8Array, extra?: Uint8Array, publish = true): boolean {
    const length = message.byteLength + (extra === undefined ? 0 : extra.byteLength);
    if (length > this.maxMessageBytes) {
      throw new RangeError(`message of ${length} bytes exceeds the ring's maximum of ${this.maxMessageBytes} bytes`);
    }
    const need = align8(LENGTH_BYTES + length);
    let head = this.localHead;
    let index = head & this.mask;
    const contiguous = this.capacity - index;
    const total = need <= contiguous ? need : contiguous + need;
    if (this.capacity - ((head - this.seenTail) >>> 0) < total) {
      this.seenTail = Atomics.load(this.words, this.tail);
      if (this.capacity - ((head - this.seenTail) >>> 0) < total) return false;
    }
    if (need > contiguous) {
      this.words[(this.data + index) >> 2] = WRAP;
      head = (head + contiguous) | 0;
      index = 0;
    }
    const at = this.data + index;
    this.words[at >> 2] = length;
    this.bytes.set(message, at + LENGTH_BYTES);
    if (extra !== undefined) this.bytes.set(extra, at + LENGTH_BYTES + message.byteLength);
    this.localHead = (head + need) | 0;
    // A published write publishes what was written unpublished before it too.
    this.unpublished = !publish;
    if (publish) Atomics.store(this.words, this.head, this.localHead);
    return true;
  }

  private unpublished = false;

  /** Makes what was written with `publish` false visible to the consumer; false if there was nothing. */
  publish(): boolean {
    if (!this.unpublished) return false;
    this.unpublished = false;
    Atomics.store(this.words, this.head, this.localHead);
    return true;
  }

  /** After publishing: does the consumer sleep (and need its doorbell rung)? */
  consumerParked(): boolean {
    return Atomics.load(this.words, this.parked) === 1;
  }

  /**
   * After publishing: whether the consumer sleeps and this producer is to ring its doorbell.
   * The producer takes the flag back (1 → 0) as it answers yes, so while the consumer wakes
   * up (tens of µs) the messages that follow do not ring again, each a system call. The
   * consumer sets it anew when it next parks (and re-reads the head after, as before).
   */
  claimWake(): boolean {
    // Read first: a compare-and-swap takes the line exclusive even when it fails, and most sends find the consumer awake.
    return Atomics.load(this.words, this.parked) === 1 && Atomics.compareExchange(this.words, this.parked, 1, 0) === 1;
  }

  /** Whether a message of `length` bytes fits now. */
  hasRoomFor(length: number): boolean {
    const need = align8(LENGTH_BYTES + length);
    const index = this.localHead & this.mask;
    const total = need <= this.capacity - index ? need : this.capacity - index + need;
    this.seenTail = Atomics.load(this.words, this.tail);
    return this.capacity - ((this.localHead - this.seenTail) >>> 0) >= total;
  }

  /** Tells the consumer we wait for room; true (and withdrawn) if room for `length` is already there. */
  announceWaiting(length: number): boolean {
    Atomics.store(this.words, this.waiting, 1);
    if (!this.hasRoomFor(length)) return false;
    Atomics.store(this.words, this.waiting, 0);
    return true;
  }

  stopWaiting(): void {
    Atomics.store(this.words, this.waiting, 0);
  }

  // ---- consumer side -------------------------------------------------------------

  /**
   * Hands every published message to `handler`, in order, in place: the bytes are valid
   * until read() returns, then their room is released. Returns how many were delivered.
   * A message whose handler throws is still consumed, so one bad message cannot wedge
   * the ring; the exception propagates after the room is released. `stop` is asked
   * before each message (the owner may close mid-batch).
   */
  read(handler: MessageHandler, limit = Number.MAX_SAFE_INTEGER, stop?: () => boolean): number {
    const head = Atomics.load(this.words, this.head);
    let tail = this.localTail;
    let count = 0;
    try {
      while (tail !== head && count < limit && !stop?.()) {
        const used = (head - tail) >>> 0;
        if (used > this.capacity) throw new RingCorruptedError(`ring holds ${used} bytes, more than its capacity of ${this.capacity}`);
        const index = tail & this.mask;
        const word = this.words[(this.data + index) >> 2]!;
        if (word === WRAP) {
          const skip = this.capacity - index;
          if (skip > used) throw new RingCorruptedError(`wrap marker at ${index} skips past the published data`);
          tail = (tail + skip) | 0;
          continue;
        }
        const length = word >>> 0;
        const need = align8(LENGTH_BYTES + length);
        if (length > this.maxMessageBytes || index + need > this.capacity || need > used) {
          throw new RingCorruptedError(`message length ${length} at offset ${index} does not fit the ring`);
        }
        const start = this.data + index + LENGTH_BYTES;
        tail = (tail + need) | 0;
        count++;
        handler(this.bytes, start, start + length);
      }
    } finally {
      if (tail !== this.localTail) {
        this.localTail = tail;
        Atomics.store(this.words, this.tail, tail);
      }
    }
    return count;
  }

  /** Is a message waiting? */
  hasMessages(): boolean {
    return Atomics.load(this.words, this.head) !== this.localTail;
  }

  /** After releasing room: does the producer wait for it (and need its doorbell rung)? */
  producerWaiting(): boolean {
    return Atomics.load(this.words, this.waiting) === 1;
  }

  /**
   * Publishes "I sleep" and re-checks the ring after the fence. Returns false (still
   * awake) if a message slipped in meanwhile: the producer may not have seen the flag.
   */
  park(): boolean {
    Atomics.store(this.words, this.parked, 1);
    if (Atomics.load(this.words, this.head) === this.localTail) return true;
    Atomics.store(this.words, this.parked, 0);
    return false;
  }

  unpark(): void {
    Atomics.store(this.words, this.parked, 0);
  }
}
