import { PosixError } from './posix-error';
import { endLease, keepLease, ShmSegment } from './shm-segment';
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
 *        there is in use (the sender sets it, the receiver clears it when done): a
 *        generation (30 bits) and a state, 1 sent, 2 lent to the sender's application,
 *        3 returned (the receiver answered with the run's own bytes: the sender clears it)
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
/** Offsets travel as u32: a direction holds at most 2 GiB. */
export const MAX_POOL_BYTES = 2 ** 31;
const SENT = 1;
const LENT = 2;
const RETURNED = 3;
/** A run word never holds this (state 3 with the one generation never used): what a lease expects when it must hand nothing back. */
const NEVER = 0xffffffff;
/** Generations run 0 … 2^30 − 2, so a returned run's word is never NEVER. */
const GENERATIONS = 0x3fffffff;
/** Bytes kept in front of a loan for the frame header (and metadata) written there when it is sent. */
export const LOAN_HEADROOM = 256;

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
    this.outbound = new PoolWriter(segment, words, (STATES >> 2) + out * slots, base + out * half, slots);
    this.inbound = new PoolReader(segment, words, (STATES >> 2) + into * slots, base + into * half, slots);
  }

  /** Creates the pool of channel `name` with `bytesPerDirection` (whole slots) on each side. */
  static create(name: string, bytesPerDirection: number): ShmPool {
    requireInteger(bytesPerDirection, 'bytesPerDirection', POOL_SLOT_BYTES, MAX_POOL_BYTES);
    if (bytesPerDirection % POOL_SLOT_BYTES !== 0) throw new RangeError(`pool bytes must be a multiple of ${POOL_SLOT_BYTES}, got ${bytesPerDirection}`);
    const slots = bytesPerDirection / POOL_SLOT_BYTES;
    const segment = ShmSegment.create(name, dataStart(slots) + 2 * bytesPerDirection, { sparse: true, expose: dataStart(slots) });
    // The header and run words are touched by both ends from the start: their pages are reserved now.
    segment.reserve(0, dataStart(slots));
    const header = new Uint32Array(segment.data.buffer, segment.data.byteOffset, 4);
    header[1] = POOL_VERSION;
    header[2] = POOL_SLOT_BYTES;
    header[3] = slots;
    header[0] = POOL_MAGIC;
    return new ShmPool(segment, true, slots);
  }

  /** Opens the pool a channel's creator made; refuses one whose geometry does not fit its segment. */
  static open(name: string): ShmPool {
    // Its header and run words only, however many there are: the slots are reached by views.
    const segment = ShmSegment.open(name, { expose: dataStart(MAX_POOL_BYTES / POOL_SLOT_BYTES) });
    const header = new Uint32Array(segment.data.buffer, segment.data.byteOffset, 4);
    const [magic, version, slotBytes, slots] = [header[0]!, header[1]!, header[2]!, header[3]!];
    if (
      magic !== POOL_MAGIC ||
      version !== POOL_VERSION ||
      slotBytes !== POOL_SLOT_BYTES ||
      slots < 1 ||
      slots > MAX_POOL_BYTES / POOL_SLOT_BYTES ||
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

  /** Bytes of the pool held by leases (received frames kept, loans) not yet ended or collected. */
  get leasedBytes(): number {
    return this.segment.leasedBytes;
  }

  /** Lets go of the mapping: it is unmapped once the last lease of it has ended or been collected. */
  close(): void {
    this.outbound.dropViews();
    this.segment.close();
  }

  unlink(): void {
    ShmSegment.unlinkIfExists(this.segment.name);
  }
}

interface LoanCount {
  counted: boolean;
  bytes: number;
}

/** A loan: the run it is in, the word that marks it lent, and where its bytes start in the segment's data. */
interface Loan {
  first: number;
  word: number;
  start: number;
}

/** One direction of a pool: its run words and its slots. */
abstract class PoolHalf {
  /** Bytes in the largest run a payload can have. */
  readonly capacity: number;

  constructor(
    protected readonly segment: ShmSegment,
    protected readonly words: Int32Array,
    /** Index in `words` of this direction's first run word. */
    protected readonly states: number,
    /** Offset in the segment's data of this direction's slot 0. */
    readonly base: number,
    readonly slots: number,
  ) {
    this.capacity = slots * POOL_SLOT_BYTES;
  }
}

/** The sending half: runs of free slots, taken first-fit (the same few stay hot in cache). */
export class PoolWriter extends PoolHalf {
  /** Per slot: the length of the run starting there while this side holds it, else 0. */
  private readonly runs: Int32Array;
  /** Per slot: 1 while some run covers it. */
  private readonly used: Uint8Array;
  /** Per slot: 1 once its pages are reserved. */
  private readonly reserved: Uint8Array;
  private readonly live = new Set<number>();
  /** Runs the receiver answered in that this side has leased (one lease each: a second answer in one run is refused). */
  private readonly answered = new Set<number>();
  /** Loans by their ArrayBuffer (a loan's subarrays and the frames packed into it share it). */
  private readonly loans = new WeakMap<ArrayBufferLike, Loan>();
  /** Loans handed out and neither sent nor taken back (collected ones count until their finalizer runs), and their bytes. */
  lent = 0;
  lentBytes = 0;
  private readonly lentCount = new FinalizationRegistry<LoanCount>((state) => this.uncount(state));
  private readonly loanStates = new WeakMap<ArrayBufferLike, LoanCount>();
  private generation = 0;
  /** Set when reserving pages failed (a full /dev/shm): the pool is not used again. */
  failure: Error | undefined;

  /** Per slot: a view of it, made when first written (so no view covers the whole pool, see SegmentOptions.expose). */
  private readonly slotViews: Array<Buffer | undefined>;

  constructor(segment: ShmSegment, words: Int32Array, states: number, base: number, slots: number) {
    super(segment, words, states, base, slots);
    this.runs = new Int32Array(slots);
    this.used = new Uint8Array(slots);
    this.reserved = new Uint8Array(slots);
    this.slotViews = new Array<Buffer | undefined>(slots);
  }

  /** Copies `frame`, then `tail`, into this half from `offset` (from slot 0) on: one copy, no allocation of its size. */
  write(offset: number, frame: Uint8Array, tail?: Uint8Array): void {
    this.put(frame, offset);
    if (tail !== undefined) this.put(tail, offset + frame.byteLength);
  }

  private put(source: Uint8Array, offset: number): void {
    for (let done = 0; done < source.byteLength;) {
      const slot = Math.floor(offset / POOL_SLOT_BYTES);
      const within = offset - slot * POOL_SLOT_BYTES;
      const count = Math.min(POOL_SLOT_BYTES - within, source.byteLength - done);
      const view = (this.slotViews[slot] ??= this.segment.slice(this.base + slot * POOL_SLOT_BYTES, POOL_SLOT_BYTES));
      view.set(count === source.byteLength ? source : source.subarray(done, done + count), within);
      done += count;
      offset += count;
    }
  }

  /**
   * A run of slots for `length` bytes, marked sent: its offset from this direction's slot 0,
   * or -1 when no free run is that long (or pages cannot be had): the caller sends another way.
   */
  claim(length: number): number {
    return this.take(length, SENT);
  }

  /**
   * `size` bytes of a fresh run, lent to the application (filled in place, sent without a
   * copy): a Buffer with an ArrayBuffer of its own, or undefined when there is no room. If it
   * is collected without being sent, the run comes back by itself.
   */
  lend(size: number): Buffer | undefined {
    const offset = this.take(LOAN_HEADROOM + size, LENT);
    if (offset < 0) return undefined;
    const first = offset / POOL_SLOT_BYTES;
    const word = Atomics.load(this.words, this.states + first);
    const start = this.base + offset + LOAN_HEADROOM;
    const view = this.segment.lease(start, size, (this.states + first) * 4, word >>> 0);
    // The application holds it: one it drops must be collected like a Buffer it allocated.
    keepLease(view);
    this.loans.set(view.buffer, { first, word, start });
    const state: LoanCount = { counted: true, bytes: size };
    this.loanStates.set(view.buffer, state);
    this.lentCount.register(view.buffer, state);
    this.lent++;
    this.lentBytes += size;
    return view;
  }

  /**
   * Where `view` lies in `bytes` if it is (part of) a loan of this pool still lent: its run's
   * offset and its own start; undefined otherwise.
   */
  loanOf(view: Uint8Array): { run: number; at: number } | undefined {
    const loan = this.loans.get(view.buffer);
    if (loan === undefined || view.buffer.byteLength === 0 || Atomics.load(this.words, this.states + loan.first) !== loan.word) return undefined;
    return { run: loan.first * POOL_SLOT_BYTES, at: loan.start + view.byteOffset };
  }

  /**
   * The loan `view` is part of is being sent: from now on the receiver releases its run, and
   * every view of the loan reads as empty. False if it is no longer lent. Call it only once
   * the loan's bytes are where they must be.
   */
  sendLoan(view: Uint8Array): boolean {
    const loan = this.loans.get(view.buffer);
    if (loan === undefined) return false;
    const index = this.states + loan.first;
    if (Atomics.compareExchange(this.words, index, loan.word, (loan.word & ~3) | SENT) !== loan.word) return false;
    this.forget(view.buffer);
    // Its views empty: the loan belongs to the call now (and V8 stops counting it as memory of
    // this process, which would otherwise set off a GC every few loans). The run is the receiver's.
    endLease(view);
    return true;
  }

  /** Takes back a loan that will not be sent: every view of it becomes empty, and its run returns. */
  unlend(view: Uint8Array): void {
    if (this.lent === 0 || !this.loans.has(view.buffer)) return;
    this.forget(view.buffer);
    endLease(view);
  }

  private forget(buffer: ArrayBufferLike): void {
    this.loans.delete(buffer);
    const state = this.loanStates.get(buffer);
    if (state !== undefined) this.uncount(state);
  }

  private uncount(state: LoanCount): void {
    if (!state.counted) return;
    state.counted = false;
    this.lent--;
    this.lentBytes -= state.bytes;
  }

  /**
   * A frame the receiver answered with in this half's own bytes (PoolReader.giveBack): a lease
   * on `length` bytes at `offset` whose end frees the run, or undefined unless they lie inside
   * one run this side sent and the receiver marked returned, answered once (a confused or
   * hostile peer).
   */
  returned(offset: number, length: number): Buffer | undefined {
    if (offset < 0 || length <= 0 || offset + length > this.capacity) return undefined;
    let first = Math.floor(offset / POOL_SLOT_BYTES);
    while (first > 0 && this.used[first] === 1 && this.runs[first] === 0) first--;
    const last = Math.floor((offset + length - 1) / POOL_SLOT_BYTES);
    if (this.runs[first] === 0 || first + this.runs[first]! <= last || !this.live.has(first) || this.answered.has(first)) return undefined;
    const word = Atomics.load(this.words, this.states + first) >>> 0;
    if ((word & 3) !== RETURNED || word === NEVER) return undefined;
    this.answered.add(first);
    return this.segment.lease(this.base + offset, length, (this.states + first) * 4, word);
  }

  /** Lets go of the views of its slots (each keeps the mapping alive), once the pool is closed. */
  dropViews(): void {
    this.slotViews.fill(undefined);
  }

  private take(length: number, state: number): number {
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
      this.generation = (this.generation + 1) % GENERATIONS;
      Atomics.store(this.words, this.states + first, (this.generation << 2) | state);
      return first * POOL_SLOT_BYTES;
    }
    return -1;
  }

  /** Frees the runs whose word went back to 0 (released by the receiver, or a loan collected unsent). */
  private reclaim(): void {
    for (const first of this.live) {
      if (Atomics.load(this.words, this.states + first) !== 0) continue;
      this.live.delete(first);
      this.answered.delete(first);
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

/**
 * The receiving half: a frame the peer announced is handed out as a lease, a Buffer with an
 * ArrayBuffer of its own over the pool: ending it (or its collection) hands the run back.
 */
export class PoolReader extends PoolHalf {
  /**
   * The frame the peer announced at `offset` with `length` bytes, as a lease on its run (the
   * run it starts in), or undefined when it does not lie inside this half (a confused or
   * hostile peer).
   */
  lease(offset: number, length: number): Buffer | undefined {
    if (offset < 0 || length <= 0 || offset + length > this.capacity) return undefined;
    const word = this.states + Math.floor(offset / POOL_SLOT_BYTES);
    // Only a run marked sent is handed back: a reference to anything else (a peer's mistake) frees nothing.
    const value = Atomics.load(this.words, word) >>> 0;
    return this.segment.lease(this.base + offset, length, word * 4, (value & 3) === SENT ? value : NEVER);
  }

  /**
   * The frame at `offset` (leased) is answered with its own bytes: its run goes to the peer as
   * returned rather than free, so ending this side's lease no longer frees it; the peer's lease
   * on the answer does. False when the run is not one the peer sent (nothing changes).
   */
  giveBack(offset: number): boolean {
    if (offset < 0 || offset >= this.capacity) return false;
    const word = this.states + Math.floor(offset / POOL_SLOT_BYTES);
    const value = Atomics.load(this.words, word);
    // Generation 2^30 − 1 would make the returned word NEVER (a peer of another make might use it).
    if ((value & 3) !== SENT || value >>> 2 === GENERATIONS) return false;
    return Atomics.compareExchange(this.words, word, value, (value & ~3) | RETURNED) === value;
  }
}
