import { unlinkSync } from 'node:fs';
import { FdWatcher } from './fd-watcher';
import { native } from './native';
import { requirePosixName } from './names';
import { PosixError } from './posix-error';
import { Ring, RING_CONTROL_BYTES, RingCorruptedError, type MessageHandler } from './ring';
import { SEGMENT_HEADER_BYTES, ShmSegment } from './shm-segment';
import { SpinPolicy, type SpinOptions } from './spin-policy';
import { requireFunction, requireInteger } from './validate';

/*
 * A channel is one segment holding two rings, one per direction, and two doorbells:
 *
 *   64   channel header: magic, version, capacity, closed flags, creator pid, opener pid
 *   128  ring 0 control (creator → opener)      320  ring 1 control (opener → creator)
 *   512  ring 0 data                            512 + capacity  ring 1 data
 *
 * Doorbells are FIFOs next to the segment in /dev/shm: `<name>.bell0` wakes the opener,
 * `<name>.bell1` the creator. A named FIFO any process of the user can open by name, so
 * the two ends need no fd passing; it costs the same as an eventfd (see README).
 */
const CHANNEL_MAGIC = 0x4c4e4843; // "CHNL"
const CHANNEL_VERSION = 1;
const CHANNEL_HEADER = SEGMENT_HEADER_BYTES;
const RINGS = 128;
const DATA = 512;
const CLOSED_CREATOR = 1;
const CLOSED_OPENER = 2;
const MAX_NAME = 200;
/**
 * How much longer to spin per byte of payload sent by reference: the peer copies what it got
 * and what it answers (about 27 µs per MiB each here), so 1 MiB adds 84 µs; at most 500 µs.
 * Waking a parked CPU costs ~100 µs, more than such a spin.
 */
const SPIN_NS_PER_PAYLOAD_BYTE = 0.08;
const MAX_PAYLOAD_SPIN_NS = 500_000;
/** Replies written unpublished in one batch at most: then they are published, and the batch goes on. */
const BATCH_PUBLISH = 64;

export interface ShmChannelOptions {
  /** Called with every message, in place; the bytes are valid until it returns. */
  onMessage: MessageHandler;
  /** The other end closed the channel, or this end closed it because the peer corrupted the ring. */
  onClose?: () => void;
  /** The peer wrote something into the inbound ring that cannot be a message; onClose follows. */
  onError?: (error: RingCorruptedError) => void;
  /** Bytes per direction, a power of two (default 1 MiB). Only the creator's counts. */
  capacity?: number;
  spin?: SpinOptions;
  /** Longest stretch of delivering before the event loop gets a turn, in ms (default 1). */
  drainBudgetMs?: number;
}

export interface ShmChannelStats {
  sent: number;
  delivered: number;
  /** Spins that caught a message / ran out. */
  spinHits: number;
  spinMisses: number;
  /** Times this end was woken by its doorbell, and rang the peer's. */
  wakeups: number;
  doorbellsRung: number;
}

/** The doorbell paths of a channel segment. */
export function doorbellPaths(name: string): [string, string] {
  return [`/dev/shm${name}.bell0`, `/dev/shm${name}.bell1`];
}

/**
 * Two processes talking through shared memory. `send` copies a message into the
 * outbound ring and rings the peer's doorbell only if the peer has parked. Inbound
 * messages are delivered from an event-loop callback: on a doorbell, or, right after
 * this end sent something (a reply is likely within microseconds), after a bounded native
 * spin. When nothing comes, the end parks (publishes "parked", re-checks, sleeps on its
 * doorbell): an idle channel costs no CPU.
 */
export class ShmChannel {
  readonly stats: ShmChannelStats = { sent: 0, delivered: 0, spinHits: 0, spinMisses: 0, wakeups: 0, doorbellsRung: 0 };
  private readonly words: Int32Array;
  private readonly inbound: Ring;
  private readonly outbound: Ring;
  private readonly watcher: FdWatcher;
  private readonly spin: SpinPolicy;
  private readonly onMessage: MessageHandler;
  private readonly drainBudgetMs: number;
  private polling = false;
  private scheduled = false;
  /** A poll that delivered messages looks again once their continuations have run, before it parks. */
  private recheckScheduled = false;
  private sentAtLastInput = 0;
  /** Messages sent that expect an answer soon (not one-way): what the spin waits for. */
  private awaited = 0;
  /** Bytes of payload sent elsewhere (the pool) since the last input: the answer comes later by the peer's copying. */
  private payloadSinceInput = 0;
  private parkedAt = 0;
  private closed = false;
  private peerCloseReported = false;
  private corruption: RingCorruptedError | undefined;
  private writeWaiters: Array<{ length: number; resolve: () => void; reject: (error: Error) => void }> = [];

  private constructor(
    readonly name: string,
    private readonly segment: ShmSegment,
    readonly isCreator: boolean,
    private readonly ownBell: number,
    private readonly peerBell: number,
    private readonly options: ShmChannelOptions,
  ) {
    this.onMessage = requireFunction<MessageHandler>(options.onMessage, 'onMessage');
    this.drainBudgetMs = options.drainBudgetMs ?? 1;
    this.spin = new SpinPolicy(options.spin);
    const buffer = segment.buffer;
    this.words = new Int32Array(buffer.buffer, buffer.byteOffset, buffer.length >> 2);
    const capacity = this.words[(CHANNEL_HEADER + 8) >> 2]!;
    const rings = [0, 1].map((i) => new Ring(buffer, this.words, RINGS + i * RING_CONTROL_BYTES, DATA + i * capacity, capacity));
    this.outbound = rings[isCreator ? 0 : 1]!;
    this.inbound = rings[isCreator ? 1 : 0]!;
    this.watcher = new FdWatcher(ownBell, this.onDoorbell).start();
    // Settle into the parked state (or deliver what is already waiting) once set up.
    this.schedulePoll();
  }

  /** Creates the segment and its doorbells; the other end opens them by name. */
  static create(name: string, options: ShmChannelOptions): ShmChannel {
    requireChannelName(name);
    const capacity = requireInteger(options.capacity ?? 1 << 20, 'capacity', 64, 2 ** 30);
    if ((capacity & (capacity - 1)) !== 0) throw new RangeError(`capacity must be a power of two, got ${capacity}`);
    const bells = doorbellPaths(name);
    const opened: number[] = [];
    const made: string[] = [];
    let segment: ShmSegment | undefined;
    try {
      for (const bell of bells) {
        native.mkfifo(bell, 0o600);
        made.push(bell);
        opened.push(native.doorbellOpen(bell));
      }
      segment = ShmSegment.create(name, DATA - SEGMENT_HEADER_BYTES + 2 * capacity);
      const words = new Int32Array(segment.buffer.buffer, segment.buffer.byteOffset, segment.buffer.length >> 2);
      const header = CHANNEL_HEADER >> 2;
      words[header] = CHANNEL_MAGIC;
      words[header + 1] = CHANNEL_VERSION;
      words[header + 2] = capacity;
      words[header + 4] = process.pid;
      // Both ends start parked: the first message rings, and the first poll unparks.
      for (const ring of [0, 1]) Atomics.store(words, (RINGS + ring * RING_CONTROL_BYTES + 128) >> 2, 1);
      return new ShmChannel(name, segment, true, opened[1]!, opened[0]!, options);
    } catch (error) {
      for (const fd of opened) native.closeFd(fd);
      for (const bell of made) unlinkQuietly(bell);
      if (segment) {
        segment.close();
        segment.unlink();
      }
      throw error;
    }
  }

  static open(name: string, options: ShmChannelOptions): ShmChannel {
    requireChannelName(name);
    const segment = ShmSegment.open(name);
    const opened: number[] = [];
    try {
      const words = new Int32Array(segment.buffer.buffer, segment.buffer.byteOffset, segment.buffer.length >> 2);
      const header = CHANNEL_HEADER >> 2;
      const capacity = words[header + 2]!;
      if (words[header] !== CHANNEL_MAGIC || words[header + 1] !== CHANNEL_VERSION) {
        throw new PosixError(`${name} is not a hostmesh channel (version ${words[header + 1]})`, {
          code: 'EBADMSG',
          errno: 74,
          syscall: 'open channel',
          object: name,
        });
      }
      if (capacity < 64 || (capacity & (capacity - 1)) !== 0 || DATA + 2 * capacity > segment.buffer.length) {
        throw new PosixError(`${name} announces a capacity of ${capacity} bytes that does not fit its segment`, {
          code: 'EBADMSG',
          errno: 74,
          syscall: 'open channel',
          object: name,
        });
      }
      words[header + 5] = process.pid;
      for (const bell of doorbellPaths(name)) opened.push(native.doorbellOpen(bell));
      return new ShmChannel(name, segment, false, opened[0]!, opened[1]!, options);
    } catch (error) {
      for (const fd of opened) native.closeFd(fd);
      segment.close();
      throw error;
    }
  }

  /** Largest message `send` accepts. */
  get maxMessageBytes(): number {
    return this.outbound.maxMessageBytes;
  }

  get creatorPid(): number {
    return this.words[(CHANNEL_HEADER + 16) >> 2]!;
  }

  get openerPid(): number {
    return this.words[(CHANNEL_HEADER + 20) >> 2]!;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Why this end closed the channel by itself: the peer corrupted the inbound ring. */
  get error(): RingCorruptedError | undefined {
    return this.corruption;
  }

  /** The current spin window, in ns (adapts to traffic). */
  get spinWindowNs(): number {
    return this.spin.windowNs;
  }

  /**
   * Sends `message` (then `extra`, as one message). Returns false when the ring is full:
   * wait for `whenWritable(length)` and send again. Nothing is ever dropped. `payloadBytes`:
   * the size of what the message stands for, when it points to bytes elsewhere (a pool): the
   * peer needs longer to answer it, so the spin for that answer lasts longer. `oneWay`: no
   * answer is expected soon (a stream's items), so this end does not spin for one: a
   * producer keeps its thread for producing.
   */
  send(message: Uint8Array, extra?: Uint8Array, payloadBytes = 0, oneWay = false): boolean {
    if (this.closed) throw new Error(`channel ${this.name} is closed`);
    // Sent while delivering (a handler's reply): published with the rest of the batch's,
    // after it, in one store of the head and at most one doorbell; but at once when it
    // stands for pooled bytes (the peer frees their run only once it sees it), and every
    // BATCH_PUBLISH messages (a long batch does not hold its first replies back).
    const batched = this.polling && payloadBytes === 0 && ++this.batched < BATCH_PUBLISH;
    if (!this.outbound.write(message, extra, !batched)) {
      // The peer cannot make room for what it cannot see yet.
      if (!this.publishBatch() || !this.outbound.write(message, extra, !batched)) return false;
    }
    this.stats.sent++;
    if (!batched) {
      this.batched = 0;
      if (this.outbound.claimWake()) {
        native.doorbellRing(this.peerBell);
        this.stats.doorbellsRung++;
      }
    }
    if (oneWay) return true;
    this.awaited++;
    this.payloadSinceInput += payloadBytes;
    // An answer is likely soon: look for it (with a short spin) once this tick's work is done.
    this.schedulePoll();
    return true;
  }

  /** Resolves when a message of `length` bytes fits in the outbound ring. */
  whenWritable(length: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`channel ${this.name} is closed`));
    if (this.outbound.announceWaiting(length)) return Promise.resolve();
    return new Promise((resolve, reject) => this.writeWaiters.push({ length, resolve, reject }));
  }

  /**
   * Delivers what the inbound ring already holds, now, past the drain budget: for an end
   * that learned by other means (its handshake socket closed) that the peer has gone, so
   * the peer's last messages are not dropped with the mapping. Bounded: a peer still
   * writing cannot keep it going for more than a few ring-fulls.
   */
  deliverPending(): void {
    if (this.closed || this.polling) return;
    this.polling = true;
    try {
      for (let round = 0; round < 8; round++) {
        // Paused or not: the peer is gone, and these are its last messages.
        const delivered = this.inbound.read(this.onMessage, Number.MAX_SAFE_INTEGER, this.stopWhenClosed);
        this.stats.delivered += delivered;
        if (delivered === 0 || this.closed) return;
      }
    } catch (error) {
      if (!(error instanceof RingCorruptedError)) throw error;
      this.corrupted(error);
    } finally {
      try {
        if (!this.closed) this.publishBatch();
      } finally {
        this.polling = false;
        if (this.closed) this.release();
      }
    }
  }

  /**
   * Stops delivering: what the peer sends stays in the inbound ring, and once it is full the
   * peer's sends return false. Backpressure towards the peer, bounded by the ring.
   */
  pause(): void {
    this.paused = true;
  }

  /** Delivers again, starting with what waited in the ring. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.schedulePoll();
  }

  private paused = false;

  /** Closes this end: the peer is told, the mapping goes, and the creator removes the names. */
  close(): void {
    if (this.closed) return;
    // Replies sent in this batch go before the close flag: the peer reads what precedes it.
    this.outbound.publish();
    this.closed = true;
    Atomics.or(this.words, (CHANNEL_HEADER + 12) >> 2, this.isCreator ? CLOSED_CREATOR : CLOSED_OPENER);
    try {
      native.doorbellRing(this.peerBell);
    } catch {
      // the peer may be gone already
    }
    for (const waiter of this.writeWaiters.splice(0)) waiter.reject(new Error(`channel ${this.name} closed`));
    if (!this.polling) this.release();
  }

  private released = false;

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.watcher.close();
    native.closeFd(this.ownBell);
    native.closeFd(this.peerBell);
    this.segment.close();
    if (this.isCreator) ShmChannel.unlink(this.name);
  }

  /** Removes a channel's segment and doorbells by name (what the creator does on close). */
  static unlink(name: string): void {
    ShmSegment.unlinkIfExists(name);
    for (const bell of doorbellPaths(name)) unlinkQuietly(bell);
  }

  /** Lets the process exit while the channel is idle (like timer.unref()). */
  unref(): this {
    this.watcher.unref();
    return this;
  }

  private schedulePoll(): void {
    if (this.polling || this.scheduled || this.closed) return;
    this.scheduled = true;
    queueMicrotask(this.scheduledPoll);
  }

  private readonly scheduledPoll = (): void => {
    this.scheduled = false;
    this.poll();
  };

  private readonly onDoorbell = (): void => {
    if (this.closed) return;
    native.doorbellDrain(this.ownBell);
    this.stats.wakeups++;
    if (this.parkedAt > 0) this.spin.woke((performance.now() - this.parkedAt) * 1e6);
    this.poll();
  };

  /**
   * Delivers until the inbound ring is empty, spins briefly if this end sent something
   * since its last input (an answer is likely), then parks. Never holds the event loop
   * longer than drainBudgetMs: past it, the rest is delivered on the next turn.
   */
  private poll(): void {
    if (this.closed || this.polling) return;
    this.polling = true;
    this.parkedAt = 0;
    this.inbound.unpark();
    const deadline = performance.now() + this.drainBudgetMs;
    let deliveredHere = false;
    try {
      for (;;) {
        const sentBefore = this.awaited;
        const payloadBefore = this.payloadSinceInput;
        let delivered = 0;
        try {
          // Paused: what the peer sends waits in the ring; room in ours is still looked for.
          if (!this.paused) delivered = this.inbound.read(this.onMessage, Number.MAX_SAFE_INTEGER, this.stopReading);
          this.publishBatch();
        } catch (error) {
          if (!(error instanceof RingCorruptedError)) throw error;
          this.corrupted(error);
          return;
        }
        if (delivered > 0) {
          deliveredHere = true;
          this.stats.delivered += delivered;
          this.sentAtLastInput = sentBefore;
          // What was sent while delivering (replies) counts towards the next spin; what came before was answered.
          this.payloadSinceInput -= payloadBefore;
          if (this.inbound.producerWaiting()) {
            native.doorbellRing(this.peerBell);
            this.stats.doorbellsRung++;
          }
        }
        this.wakeWriters();
        // Paused, it does not park: the peer's doorbell (rung when it frees room we wait for)
        // brings it back here, and resume() polls again.
        if (this.closed || this.paused) return;
        if (this.peerClosed()) {
          // The peer sets the flag after its last message: one published after the read
          // above began is still in the ring, and must be delivered before the close.
          if (this.inbound.hasMessages()) {
            if (performance.now() < deadline) continue;
            setImmediate(this.continuePoll);
            return;
          }
          if (!this.peerCloseReported) {
            this.peerCloseReported = true;
            this.options.onClose?.();
          }
          return;
        }
        if (delivered > 0) {
          if (performance.now() < deadline) continue;
          setImmediate(this.continuePoll);
          return;
        }
        // The payload's share applies even when the window has closed: it is the peer's copying, not its habits.
        const windowNs = this.spin.maxNs === 0 ? 0 : this.spin.windowNs + Math.min(MAX_PAYLOAD_SPIN_NS, this.payloadSinceInput * SPIN_NS_PER_PAYLOAD_BYTE);
        if (this.awaited !== this.sentAtLastInput && windowNs > 0) {
          const changed = native.spinWhileEqual(this.segment.buffer, this.inbound.headByteOffset, this.inbound.consumed, windowNs, this.spin.yieldEveryNs);
          if (changed) {
            this.stats.spinHits++;
            this.spin.hit();
            continue;
          }
          this.stats.spinMisses++;
          this.spin.miss();
          this.sentAtLastInput = this.awaited;
          this.payloadSinceInput = 0;
        }
        // Messages were just delivered, and the code they resumed (promise reactions) has not
        // run yet: it is likely to send, and to look for answers then. Parked meanwhile, this
        // end would have the peer ring its doorbell, a system call, for each message it sends
        // before this end polls again (at 64 calls in flight: one reply in four). So it looks
        // again once that code has run, and parks only if nothing came or went.
        if (deliveredHere) {
          if (!this.recheckScheduled) {
            this.recheckScheduled = true;
            setImmediate(this.recheck);
          }
          return;
        }
        if (this.inbound.park()) {
          this.parkedAt = performance.now();
          return;
        }
      }
    } finally {
      // A throwing publish (the doorbell) must not leave `polling` set: every later send would stay unpublished.
      try {
        if (!this.closed) this.publishBatch();
      } finally {
        this.polling = false;
        // A handler closed the channel mid-batch: the mapping goes only now, after the ring
        // stopped touching it.
        if (this.closed) this.release();
      }
    }
  }

  /**
   * poll() runs from a microtask, a doorbell or setImmediate: a RingCorruptedError thrown
   * from there was uncaught and killed the process. A peer that scribbles on the ring is
   * hostile or broken either way, so the channel closes and says why.
   */
  private corrupted(error: RingCorruptedError): void {
    this.corruption = error;
    this.close();
    this.options.onError?.(error);
    if (!this.peerCloseReported) {
      this.peerCloseReported = true;
      this.options.onClose?.();
    }
  }

  private readonly continuePoll = (): void => this.poll();

  /** Messages written unpublished in the current batch. */
  private batched = 0;

  /** Publishes what was sent while delivering, and wakes the peer if it sleeps; false if there was nothing. */
  private publishBatch(): boolean {
    this.batched = 0;
    if (!this.outbound.publish()) return false;
    if (this.outbound.claimWake()) {
      native.doorbellRing(this.peerBell);
      this.stats.doorbellsRung++;
    }
    return true;
  }
  private readonly recheck = (): void => {
    this.recheckScheduled = false;
    this.poll();
  };
  private readonly stopReading = (): boolean => this.closed || this.paused;
  private readonly stopWhenClosed = (): boolean => this.closed;

  private wakeWriters(): void {
    if (this.writeWaiters.length === 0) return;
    while (this.writeWaiters.length > 0) {
      const length = this.writeWaiters[0]!.length;
      // announceWaiting re-checks after publishing the flag: room the consumer released
      // before it could see the flag is found here, or its doorbell comes. Ignoring that
      // answer lost the wake-up (64 × 1 MiB in flight stalled until a timeout).
      if (this.outbound.hasRoomFor(length) || this.outbound.announceWaiting(length)) this.writeWaiters.shift()!.resolve();
      else return;
    }
    this.outbound.stopWaiting();
  }

  private peerClosed(): boolean {
    const flags = Atomics.load(this.words, (CHANNEL_HEADER + 12) >> 2);
    return (flags & (this.isCreator ? CLOSED_OPENER : CLOSED_CREATOR)) !== 0;
  }
}

function requireChannelName(name: string): void {
  requirePosixName(name);
  if (name.length > MAX_NAME) throw new TypeError(`channel name must be at most ${MAX_NAME} characters, got ${name.length}`);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
