import { PosixError } from './posix-error';
import { ShmSegment } from './shm-segment';
import { requireInteger } from './validate';

/*
 * The large-payload pool of a channel: one sparse segment beside it, in fixed slots, one
 * half per direction. A sender copies a large frame into a run of free slots of its half
 * (one copy) and sends, through the ring, only where it is; the receiver reads it in place
 * and hands the run back by clearing one word. No allocation per payload, and the pages,
 * once faulted in, serve every later payload.
 *
 *   0    u32 magic "POOL", u32 version, u32 slot bytes, u32 slots (per direction)
 *   64   direction 0 (creator → opener): one u32 per slot; nonzero while the run starting
 *        there is in use (the sender sets it, the receiver clears it when done)
 *   64 + 4 × slots   direction 1, likewise
 *   DATA (4096-aligned)   direction 0 slots, then direction 1 slots
 *
 * Pages are reserved (posix_fallocate) by the sender as runs first reach them, so a full
 * /dev/shm is a typed error and a fallback, never a SIGBUS.
 */
const POOL_MAGIC = 0x4c4f4f50; // "POOL"
const POOL_VERSION = 1;
const STATES = 64;
const PAGE = 4096;
/** Slot size: payloads are placed in runs of whole slots. */
export const POOL_SLOT_BYTES = 64 * 1024;

function dataStart(slots: number): number {
  return Math.ceil((STATES + 8 * slots) / PAGE) * PAGE;
}

/** The pool segment of a channel, with the sending half of one end and the receiving half of the other. */
export class ShmPool {
  readonly outbound: PoolWriter;
  readonly inbound: PoolReader;

  private constructor(
    private readonly segment: ShmSegment,
    isCreator: boolean,
    readonly slots: number,
  ) {
    const data = segment.data;
    const words = new Int32Array(data.buffer, data.byteOffset, (STATES + 8 * slots) >> 2);
    const base = dataStart(slots);
    const half = slots * POOL_SLOT_BYTES;
    const [out, into] = isCreator ? [0, 1] : [1, 0];
    this.outbound = new PoolWriter(segment, data, words, (STATES >> 2) + out * slots, base + out * half, slots);
    this.inbound = new PoolReader(data, words, (STATES >> 2) + into * slots, base + into * half, slots);
  }

  /** Creates the pool of channel `name` with `bytesPerDirection` (whole slots) on each side. */
  static create(name: string, bytesPerDirection: number): ShmPool {
    requireInteger(bytesPerDirection, 'bytesPerDirection', POOL_SLOT_BYTES, 2 ** 36);
    if (bytesPerDirection % POOL_SLOT_BYTES !== 0) throw new RangeError(`pool bytes must be a multiple of ${POOL_SLOT_BYTES}, got ${bytesPerDirection}`);
    const slots = bytesPerDirection / POOL_SLOT_BYTES;
    const segment = ShmSegment.create(name, dataStart(slots) + 2 * bytesPerDirection, { sparse: true });
    const header = new Uint32Array(segment.data.buffer, segment.data.byteOffset, 4);
    header[1] = POOL_VERSION;
    header[2] = POOL_SLOT_BYTES;
    header[3] = slots;
    header[0] = POOL_MAGIC;
    return new ShmPool(segment, true, slots);
  }

  /** Opens the pool a channel's creator made; refuses one whose geometry does not fit its segment. */
  static open(name: string): ShmPool {
    const segment = ShmSegment.open(name);
    const header = new Uint32Array(segment.data.buffer, segment.data.byteOffset, 4);
    const [magic, version, slotBytes, slots] = [header[0]!, header[1]!, header[2]!, header[3]!];
    if (
      magic !== POOL_MAGIC ||
      version !== POOL_VERSION ||
      slotBytes !== POOL_SLOT_BYTES ||
      slots < 1 ||
      dataStart(slots) + 2 * slots * POOL_SLOT_BYTES > segment.size
    ) {
      segment.close();
      throw new PosixError(
        `${name} is not a hostmesh pool of this version (magic 0x${magic.toString(16)}, version ${version}, ${slots} slots of ${slotBytes} bytes)`,
        {
          code: 'EBADMSG',
          errno: 74,
          syscall: 'open pool',
          object: name,
        },
      );
    }
    return new ShmPool(segment, false, slots);
  }

  get name(): string {
    return this.segment.name;
  }

  /** Unmaps the pool: every view of it becomes empty at once. */
  close(): void {
    this.segment.close();
  }

  unlink(): void {
    ShmSegment.unlinkIfExists(this.segment.name);
  }
}

/** The sending half: runs of free slots, taken first-fit (the same few stay hot in cache). */
export class PoolWriter {
  /** Bytes in the largest run a payload can have. */
  readonly capacity: number;
  /** Per slot: the length of the run starting there while this side holds it, else 0. */
  private readonly runs: Int32Array;
  /** Per slot: 1 while some run covers it. */
  private readonly used: Uint8Array;
  /** Per slot: 1 once its pages are reserved. */
  private readonly reserved: Uint8Array;
  private readonly live = new Set<number>();
  /** Runs handed out and not sent (loans): the receiver will never release them. */
  private readonly loaned = new Set<number>();
  /** Set when reserving pages failed (a full /dev/shm): the pool is not used again. */
  failure: Error | undefined;

  constructor(
    private readonly segment: ShmSegment,
    readonly bytes: Buffer,
    private readonly words: Int32Array,
    private readonly states: number,
    /** Offset in `bytes` of this direction's slot 0. */
    readonly base: number,
    readonly slots: number,
  ) {
    this.capacity = slots * POOL_SLOT_BYTES;
    this.runs = new Int32Array(slots);
    this.used = new Uint8Array(slots);
    this.reserved = new Uint8Array(slots);
  }

  /** Runs currently out (sent and not yet released by the receiver, or loaned). */
  get outstanding(): number {
    return this.live.size;
  }

  /**
   * A run of slots for `length` bytes, marked in use: its offset from this direction's slot 0,
   * or -1 when no free run is that long (or pages cannot be had): the caller sends another way.
   */
  claim(length: number): number {
    if (this.failure !== undefined || length > this.capacity || length <= 0) return -1;
    const need = Math.ceil(length / POOL_SLOT_BYTES);
    this.reclaim();
    let run = 0;
    for (let slot = 0; slot < this.slots; slot++) {
      run = this.used[slot] === 0 ? run + 1 : 0;
      if (run < need) continue;
      const first = slot - need + 1;
      if (!this.reserve(first, need)) return -1;
      this.used.fill(1, first, first + need);
      this.runs[first] = need;
      this.live.add(first);
      Atomics.store(this.words, this.states + first, 1);
      return first * POOL_SLOT_BYTES;
    }
    return -1;
  }

  /** Marks a claimed run as lent to the application (see PoolReader: it never comes back by itself). */
  lend(offset: number): void {
    this.loaned.add(offset / POOL_SLOT_BYTES);
  }

  /** A lent run is being sent: from now on the receiver releases it. */
  sendLoan(offset: number): void {
    this.loaned.delete(offset / POOL_SLOT_BYTES);
  }

  /** Loans out and not sent. */
  get lent(): number {
    return this.loaned.size;
  }

  /** Takes back a loan that was never sent (its Buffer was collected); one already sent is the receiver's. */
  unlend(offset: number): void {
    if (this.loaned.has(offset / POOL_SLOT_BYTES)) this.unclaim(offset);
  }

  /** Takes back a run this side claimed and will not send (a loan dropped, a send that failed). */
  unclaim(offset: number): void {
    const first = offset / POOL_SLOT_BYTES;
    this.loaned.delete(first);
    Atomics.store(this.words, this.states + first, 0);
  }

  /** The run `view` (a Buffer over this half) starts in, if it is a loan of this pool; else -1. */
  loanOf(view: Uint8Array): number {
    if (view.buffer !== this.bytes.buffer) return -1;
    const offset = view.byteOffset - this.bytes.byteOffset - this.base;
    if (offset < 0 || offset >= this.capacity) return -1;
    const first = Math.floor(offset / POOL_SLOT_BYTES);
    if (!this.loaned.has(first) || offset + view.byteLength > (first + this.runs[first]!) * POOL_SLOT_BYTES) return -1;
    return first * POOL_SLOT_BYTES;
  }

  /** Frees the runs the receiver released. */
  private reclaim(): void {
    for (const first of this.live) {
      if (this.loaned.has(first) || Atomics.load(this.words, this.states + first) !== 0) continue;
      this.live.delete(first);
      this.used.fill(0, first, first + this.runs[first]!);
      this.runs[first] = 0;
    }
  }

  private reserve(first: number, count: number): boolean {
    if (this.reserved.subarray(first, first + count).every((flag) => flag === 1)) return true;
    try {
      this.segment.reserve(this.base + first * POOL_SLOT_BYTES, count * POOL_SLOT_BYTES);
    } catch (error) {
      this.failure = error as Error;
      return false;
    }
    this.reserved.fill(1, first, first + count);
    return true;
  }
}

/** The receiving half: payloads read in place, runs handed back when their reader is done. */
export class PoolReader {
  readonly capacity: number;

  constructor(
    /** The segment's data: payloads are read from it in place. */
    readonly bytes: Buffer,
    private readonly words: Int32Array,
    private readonly states: number,
    /** Offset in `bytes` of this direction's slot 0. */
    readonly base: number,
    readonly slots: number,
  ) {
    this.capacity = slots * POOL_SLOT_BYTES;
  }

  /**
   * Where a payload the peer announced at `offset` with `length` bytes starts in `bytes`,
   * or -1 when it does not lie inside this half (a confused or hostile peer).
   */
  locate(offset: number, length: number): number {
    if (offset < 0 || length <= 0 || offset + length > this.capacity) return -1;
    return this.base + offset;
  }

  /** Hands back the run that the payload at `offset` starts in. */
  release(offset: number): void {
    if (this.bytes.length === 0) return; // unmapped: the channel is closed
    Atomics.store(this.words, this.states + Math.floor(offset / POOL_SLOT_BYTES), 0);
  }
}
