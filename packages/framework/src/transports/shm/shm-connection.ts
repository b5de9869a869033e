import type { Socket } from 'node:net';
import { endLease, frameLease, isSharedMemory, keepLease, POOL_SLOT_BYTES, type ShmChannel, type ShmPool } from '@hostmesh/native';
import { FrameError } from '../../core/errors/errors';
import { checkHeader, HEADER_BYTES } from '../../protocol/frame';
import { POOL_MIN_BYTES, POOL_REF_BYTES, POOL_REF_KIND, POOL_RETURN_KIND, poolRefKind, writePoolRef } from './pool-ref';
import { STALLED_FRAME_MS, type InboundLimits } from '../../protocol/inbound-limits';
import { NO_HANDLER, type Connection, type ConnectionHandler, type PeerInfo } from '../contract/transport';

/** How a side used its pool, over all its connections (a service's: its shm listener's diagnostics). */
export interface PoolCounters {
  /** Frames copied into the pool (one copy each). */
  copied: number;
  /** Frames sent from memory lent with `$alloc` (no copy). */
  lent: number;
  /** Answers made in the request's own bytes (no copy). */
  answeredInPlace: number;
  /** Frames of pool size (64 KiB or more) sent through the ring instead: the pool had no room, or is off. Slower: a pool too small for the traffic, or results held. */
  throughRing: number;
}

interface Pending {
  frame: Buffer;
  tail: Buffer | undefined;
  /** Bytes of frame + tail already in the ring (frames larger than a ring message go in fragments). */
  sent: number;
  /** A hold on the assembled frame `tail` is a view of, released once it is all in the ring. */
  hold?: number;
  /** `tail` is a copy in a frame lease, ended once it is all in the ring. */
  leasedCopy?: boolean;
}

/**
 * A frame connection over a shared-memory channel. The Unix socket of the handshake stays
 * open beside it as the liveness link: when either process dies, the kernel closes it
 * and the other side learns at once.
 *
 * Frames up to the ring's message size travel as one ring message and are delivered in
 * place (transient: the RPC layer copies what it keeps). Larger frames are streamed as
 * consecutive fragments and reassembled on arrival into a frame lease (memory kept for the
 * next such frame), delivered like a pooled frame. When the ring is full, frames wait in
 * order in `pending` and `write` returns false until it drains.
 *
 * With a pool, frames of POOL_MIN_BYTES and more are copied once into it instead and the
 * ring carries where they are (pool-ref.ts). They are delivered in place, transient: a
 * receiver that wants to keep reading them (a handler's Buffer arguments, a caller's Buffer
 * result) takes a `hold()` while the frame is delivered and gives it back with `release`;
 * the run goes back to the sender when the last hold is released.
 */
export class ShmConnection implements Connection {
  readonly holdKind = 'bytes' as const;
  private handler: ConnectionHandler = NO_HANDLER;
  private readonly pending: Pending[] = [];
  private drainWaiters: Array<() => void> = [];
  private flushing = false;
  private closed = false;
  private assembling: Buffer | null = null;
  private assembled = 0;
  /** On a service's side, while a frame is assembled: the same stall and rate rules as a socket's. */
  private assembleWatch: NodeJS.Timeout | null = null;
  private closeError: Error | undefined;
  private pool: ShmPool | null = null;
  /** Scratch for the pool references this side sends. */
  private readonly ref = Buffer.alloc(POOL_REF_BYTES);
  /** The pooled frame being delivered (a lease on its run), null outside such a delivery. */
  private delivering: Buffer | null = null;
  /** Its offset in the peer's half, or -1 for a frame in this side's own half (one the peer returned) or assembled. */
  private deliveringOffset = -1;
  /** Frames assembled from fragments (frame leases): this process's memory, not the pool's. */
  private readonly assembledFrames = new WeakSet<Buffer>();
  /** Held frames of the peer's half and their offsets there: what `writeInPlace` answers in. */
  private readonly heldAt = new Map<Buffer, number>();
  /** Whether the peer takes frames back in its own half (POOL_RETURN): it said so in the handshake. */
  private peerTakesReturns = false;
  /** Whether this side does (a caller that said so): a service never takes one. */
  private takesReturns = false;
  private holdSequence = 0;
  /** Holds not yet released, by token, and how many each frame has. */
  private readonly held = new Map<number, Buffer>();
  private readonly holdCounts = new Map<Buffer, number>();
  /** Frames whose views a receiver kept (`release(token, true)`): their leases end when collected. */
  private readonly kept = new WeakSet<Buffer>();

  constructor(
    private channel: ShmChannel | null,
    private readonly link: Socket,
    readonly peer: PeerInfo,
    private readonly maxPayloadBytes: number,
    /** On a service's side: the budget a frame assembled from several ring messages takes its size from. */
    private readonly inbound?: InboundLimits,
    private readonly counters: PoolCounters = { copied: 0, lent: 0, answeredInPlace: 0, throughRing: 0 },
  ) {
    link.on('error', (error) => {
      this.closeError ??= error;
    });
    // The server's last replies may still sit in the ring when its link closes (it closes
    // right after writing them): deliver them before the connection ends.
    link.on('close', () => {
      if (!this.closed) this.channel?.deliverPending();
      this.finish();
    });
    link.on('data', () => undefined);
  }

  /** Attaches the channel once it exists (the handshake opens it after this object). */
  attach(channel: ShmChannel, pool: ShmPool | null = null, returns: { peerTakes: boolean; takes: boolean } = { peerTakes: false, takes: false }): void {
    if (this.paused) channel.pause();
    this.channel = channel;
    this.pool = pool;
    this.peerTakesReturns = returns.peerTakes;
    this.takesReturns = returns.takes;
  }

  get writable(): boolean {
    return !this.closed && this.pending.length === 0;
  }

  bind(handler: ConnectionHandler): void {
    this.handler = handler;
  }

  write(frame: Buffer, tail?: Buffer, oneWay = false): boolean {
    if (this.closed || this.channel === null) return false;
    const channel = this.channel;
    const length = frame.length + (tail === undefined ? 0 : tail.length);
    if (this.pool !== null && (length >= POOL_MIN_BYTES || this.pool.outbound.lent > 0) && this.toPool(frame, tail, length)) {
      return this.sendRef(channel, oneWay ? 0 : length, oneWay);
    }
    if (length >= POOL_MIN_BYTES) this.counters.throughRing++;
    // A loan that goes through the ring after all (no room in the pool) is copied: it is spent all the same.
    const writer = this.pool?.outbound;
    const spent = tail !== undefined && writer !== undefined && writer.lent > 0 && writer.loanOf(tail) !== undefined ? tail : undefined;
    if (this.pending.length === 0) {
      if (length <= channel.maxMessageBytes && channel.send(frame, tail, 0, oneWay)) {
        if (spent !== undefined) writer!.unlend(spent);
        return true;
      }
    }
    // Keeps the caller's buffers (no copy) until the ring has room for them, but not views of
    // shared memory: a pooled argument echoed back goes back to its sender when its call ends.
    // An assembled frame's view (an echoed argument) is held until it is in the ring instead.
    let hold: number | undefined;
    let leasedCopy = false;
    if (tail !== undefined && isSharedMemory(tail)) {
      hold = this.holdAssembled(tail);
      if (hold === undefined) [tail, leasedCopy] = copyOut(tail);
    }
    if (spent !== undefined) writer!.unlend(spent);
    this.pending.push({ frame, tail, sent: 0, hold, leasedCopy });
    void this.flush();
    return false;
  }

  /** Sends the pool reference in `ref` (its frame is in the pool already), or queues it behind what waits. */
  private sendRef(channel: ShmChannel, payloadBytes: number, oneWay: boolean): boolean {
    if (this.pending.length === 0 && channel.send(this.ref, undefined, payloadBytes, oneWay)) return true;
    this.pending.push({ frame: Buffer.from(this.ref), tail: undefined, sent: 0 });
    void this.flush();
    return false;
  }

  writeInPlace(token: number, frame: Buffer, tail: Buffer): boolean | null {
    if (!this.peerTakesReturns || this.pool === null || this.closed || this.channel === null || tail.byteLength < POOL_MIN_BYTES) return null;
    const view = this.held.get(token);
    // Only a frame of the pool (not one assembled) this one hold keeps (no other call, no kept view reads it after the answer).
    if (view === undefined || tail.buffer !== view.buffer || this.holdCounts.get(view) !== 1 || this.kept.has(view) || !this.heldAt.has(view)) return null;
    // The answer keeps the request's whole run in the room the peer sends from, as long as the
    // peer likes, counted as the answer's bytes: so only a request of up to a quarter of the
    // pool, answered with at least half of it. Other answers are copied.
    if (view.length > this.pool!.inbound.capacity / 4 || 2 * (frame.length + tail.byteLength) < view.length) return null;
    const offset = this.heldAt.get(view);
    // The answer's header goes in front of the bytes, over what the request had there (decoded by now).
    const at = tail.byteOffset - frame.length;
    if (offset === undefined || at < 0 || !this.pool!.inbound.giveBack(offset)) return null;
    view.set(frame, at);
    this.counters.answeredInPlace++;
    writePoolRef(this.ref, offset + at, frame.length + tail.byteLength, POOL_RETURN_KIND);
    return this.sendRef(this.channel, frame.length + tail.byteLength, false);
  }

  /**
   * Copies the frame into a free run of the pool (or, for a tail lent by this pool, writes
   * only the header part in front of it) and leaves its reference in `ref`. False when the
   * pool has no room: the frame goes through the ring instead.
   */
  private toPool(frame: Buffer, tail: Buffer | undefined, length: number): boolean {
    const writer = this.pool!.outbound;
    // A whole frame packed into a loan (encodeLent) is in place already, whatever its size.
    const whole = tail === undefined && writer.lent > 0 ? writer.loanOf(frame) : undefined;
    const loan = tail !== undefined && writer.lent > 0 ? writer.loanOf(tail) : undefined;
    if (whole === undefined && loan === undefined && length < POOL_MIN_BYTES) return false;
    let offset: number;
    if (whole !== undefined && writer.sendLoan(frame)) {
      offset = whole.at - writer.base;
      this.counters.lent++;
    } else if (loan !== undefined && fitsBefore(loan, frame.length, writer.base) && writer.sendLoan(tail!)) {
      // The header goes in the room kept in front of the loan.
      offset = loan.at - frame.length - writer.base;
      writer.write(offset, frame);
      this.counters.lent++;
    } else {
      if (length < POOL_MIN_BYTES) return false;
      offset = writer.claim(length);
      if (offset < 0) return false;
      writer.write(offset, frame, tail);
      this.counters.copied++;
      // A loan that could not go in place (its header did not fit, a part of it) was copied: it is spent all the same.
      if (loan !== undefined) writer.unlend(tail!);
    }
    writePoolRef(this.ref, offset, length);
    return true;
  }

  /**
   * A run of the pool to fill and send as a Buffer argument or result without a copy (the
   * loan API): a view of `size` bytes, or undefined when the connection has no pool or no
   * room, or `size` is under POOL_MIN_BYTES.
   */
  lend(size: number): Buffer | undefined {
    // Smaller ones go through the ring (copied once anyway): pool memory would sit idle until the loan was collected.
    if (this.pool === null || this.closed || size < POOL_MIN_BYTES) return undefined;
    return this.pool.outbound.lend(size);
  }

  unlend(view: Buffer): void {
    this.pool?.outbound.unlend(view);
  }

  /** While a pooled frame is delivered: keeps its bytes until `release(token)`. -1 (nothing to keep) otherwise. */
  hold(): number {
    const view = this.delivering;
    return view === null ? -1 : this.holdView(view);
  }

  /** Another hold on the held assembled frame `tail` is a view of; undefined when there is none. */
  private holdAssembled(tail: Buffer): number | undefined {
    for (const view of this.holdCounts.keys()) if (view.buffer === tail.buffer && this.assembledFrames.has(view)) return this.holdView(view);
    return undefined;
  }

  private holdView(view: Buffer): number {
    const token = ++this.holdSequence;
    this.held.set(token, view);
    const count = this.holdCounts.get(view) ?? 0;
    if (count === 0 && this.deliveringOffset >= 0) this.heldAt.set(view, this.deliveringOffset);
    this.holdCounts.set(view, count + 1);
    return token;
  }

  /**
   * Ends a hold; the frame's lease ends with its last hold (every view of it empties, its run
   * goes back). With `keep`, the caller keeps the views instead: the lease then ends when
   * they are all collected (or `endLease`).
   */
  release(token: number, keep = false): void {
    const view = this.held.get(token);
    if (view === undefined) return;
    this.held.delete(token);
    const count = this.holdCounts.get(view)!;
    if (keep && !this.kept.has(view)) {
      this.kept.add(view);
      keepLease(view);
    }
    if (count > 1) {
      this.holdCounts.set(view, count - 1);
      return;
    }
    this.holdCounts.delete(view);
    this.heldAt.delete(view);
    if (!this.kept.has(view)) endLease(view);
  }

  /**
   * Whether a received frame of `bytes` may be kept past its delivery (its views handed to the
   * application until released or collected): while the frames kept from this connection's
   * pool stay under a quarter of the peer's half (one of any size up to half when none is
   * kept, plus a slot in a pool of 8 slots or more: a payload of half the pool comes with its
   * frame header), so the peer always has room to send. Past it, the receiver copies.
   */
  mayKeep(bytes: number): boolean {
    // An assembled frame is this process's memory: kept like a Buffer of its size would be.
    if (this.delivering !== null && this.assembledFrames.has(this.delivering)) return true;
    if (this.pool === null) return false;
    // What this side keeps of the pool (the peer's half, and its own runs the peer answered in): not its own loans, nor the frame being delivered.
    const held = this.pool.leasedBytes - this.pool.outbound.lentBytes - (this.delivering?.length ?? 0);
    const capacity = this.pool.inbound.capacity;
    if (held !== 0) return held + bytes <= capacity / 4;
    return bytes <= capacity / 2 + (capacity >= 8 * POOL_SLOT_BYTES ? POOL_SLOT_BYTES : 0);
  }

  whenWritable(): Promise<void> {
    if (this.pending.length === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  // The channel stops reading its ring: the peer fills it, then its sends wait.
  pause(): void {
    this.paused = true;
    this.channel?.pause();
  }

  resume(): void {
    this.paused = false;
    this.channel?.resume();
  }

  private paused = false;

  close(): void {
    if (this.closed) return;
    if (this.pending.length > 0) {
      void this.whenWritable().then(() => this.close());
      return;
    }
    this.link.end();
    this.finish();
  }

  destroy(error?: Error): void {
    if (error) this.closeError ??= error;
    this.link.destroy();
    this.finish();
  }

  /** Called by the channel with each ring message, in place. */
  readonly onMessage = (buffer: Buffer, start: number, end: number): void => {
    if (this.closed) return;
    try {
      if (this.assembling !== null) {
        this.continueFrame(buffer, start, end);
        return;
      }
      const refKind = poolRefKind(buffer, start, end);
      if (refKind !== 0) {
        const [offset, length] = [buffer.readUInt32LE(start + HEADER_BYTES), buffer.readUInt32LE(start + HEADER_BYTES + 4)];
        if (refKind === POOL_REF_KIND) this.onPoolRef(offset, length);
        else this.onPoolReturn(offset, length);
        return;
      }
      if (end - start < HEADER_BYTES) throw new FrameError(`ring message of ${end - start} bytes is shorter than a frame header`);
      const total = HEADER_BYTES + checkHeader(buffer, start, this.maxPayloadBytes);
      if (end - start === total) {
        this.handler.onFrame(buffer, start, end, true);
      } else if (end - start < total) {
        if (this.inbound && !this.inbound.reserve(total)) {
          throw new FrameError(
            `a frame of ${total} bytes would take the service past its budget of ${this.inbound.maxBufferedBytes} bytes for frames in progress (${this.inbound.bufferedBytes} held now; maxBufferedBytes)`,
          );
        }
        try {
          this.assembling = frameLease(total);
        } catch (error) {
          // No memory for it (mmap failed): the connection ends, and the budget it took goes back.
          this.inbound?.release(total);
          throw error;
        }
        this.assembled = buffer.copy(this.assembling, 0, start, end);
        if (this.inbound) this.watchAssembly(this.inbound.minBytesPerSecond);
      } else {
        throw new FrameError(`ring message of ${end - start} bytes holds a frame of ${total} bytes and more`);
      }
    } catch (error) {
      // Whatever failed while a frame was delivered ends this connection, as on sockets, not the service.
      const failure = error instanceof FrameError ? error : new FrameError(String(error), { cause: error });
      this.handler.onProtocolError(failure);
      this.destroy(failure);
    }
  };

  /** A frame the peer put in the pool: checked like any other, delivered in place, its run handed back unless held. */
  private onPoolRef(offset: number, length: number): void {
    const reader = this.pool?.inbound;
    if (reader === undefined) throw new FrameError('the peer sent a pool reference, but this connection has no pool');
    if (length < HEADER_BYTES) throw new FrameError(`pool reference to ${length} bytes, shorter than a frame header`);
    const frame = reader.lease(offset, length);
    if (frame === undefined) throw new FrameError(`pool reference to ${length} bytes at offset ${offset} lies outside the pool's ${reader.capacity} bytes`);
    this.deliverLeased(frame, length, offset);
  }

  /** A frame the peer answered in this side's own half, in a run this side sent: delivered like one in the peer's. */
  private onPoolReturn(offset: number, length: number): void {
    const writer = this.takesReturns ? this.pool?.outbound : undefined;
    if (writer === undefined) throw new FrameError('the peer answered in pooled bytes of this side, which this side never offered (no pool, or a service)');
    if (length < HEADER_BYTES) throw new FrameError(`pool return of ${length} bytes, shorter than a frame header`);
    const frame = writer.returned(offset, length);
    if (frame === undefined)
      throw new FrameError(`pool return of ${length} bytes at offset ${offset} is not inside a run this side sent and the peer returned`);
    this.deliverLeased(frame, length, -1);
  }

  /** A frame in a lease (pooled, or assembled): delivered in place, its lease ended after unless held or kept. */
  private deliverLeased(frame: Buffer, length: number, offset: number): void {
    try {
      const total = HEADER_BYTES + checkHeader(frame, 0, this.maxPayloadBytes);
      if (total !== length) throw new FrameError(`pool reference to ${length} bytes holds a frame of ${total} bytes`);
      this.delivering = frame;
      this.deliveringOffset = offset;
      this.handler.onFrame(frame, 0, length, true);
    } finally {
      this.delivering = null;
      this.deliveringOffset = -1;
      // Not held: the frame's run goes back now, and its views (none kept) empty.
      if (!this.holdCounts.has(frame) && !this.kept.has(frame)) endLease(frame);
    }
  }

  /** Called when the peer closed its end of the channel. */
  readonly onChannelClosed = (): void => {
    this.link.destroy();
    this.finish();
  };

  /** The peer scribbled on the ring: the connection ends with why, before onChannelClosed. */
  readonly onRingCorrupted = (error: Error): void => {
    this.closeError ??= new FrameError(`the peer corrupted the shared-memory ring: ${error.message}`, { cause: error });
  };

  /** A frame that stops growing for 10 s, or grows slower than the minimum rate after that, ends the connection. */
  private watchAssembly(minBytesPerSecond: number): void {
    const since = performance.now();
    let mark = this.assembled;
    let markAt = since;
    this.assembleWatch = setInterval(() => {
      const now = performance.now();
      if (this.assembled !== mark) [mark, markAt] = [this.assembled, now];
      const stalled = now - markAt >= STALLED_FRAME_MS;
      if (!stalled && this.assembled >= (minBytesPerSecond * (now - since - STALLED_FRAME_MS)) / 1000) return;
      const error = new FrameError(
        stalled
          ? `truncated frame: ${this.assembled} bytes received, then nothing for ${STALLED_FRAME_MS} ms`
          : `frame arriving too slowly: ${this.assembled} bytes in ${Math.round(now - since)} ms, under the minimum of ${minBytesPerSecond} B/s after ${STALLED_FRAME_MS} ms (minFrameBytesPerSecond)`,
      );
      this.handler.onProtocolError(error);
      this.destroy(error);
    }, 1000);
    this.assembleWatch.unref();
  }

  private stopWatchingAssembly(): void {
    if (this.assembleWatch) clearInterval(this.assembleWatch);
    this.assembleWatch = null;
  }

  private continueFrame(buffer: Buffer, start: number, end: number): void {
    const frame = this.assembling!;
    if (this.assembled + (end - start) > frame.length) throw new FrameError('a fragment runs past the end of its frame');
    this.assembled += buffer.copy(frame, this.assembled, start, end);
    if (this.assembled < frame.length) return;
    this.assembling = null;
    this.stopWatchingAssembly();
    this.inbound?.release(frame.length);
    this.assembledFrames.add(frame);
    this.deliverLeased(frame, frame.length, -1);
  }

  /** Moves pending frames into the ring, in order, fragmenting those too big for one message. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.length > 0 && !this.closed && this.channel !== null) {
        const channel = this.channel;
        const item = this.pending[0]!;
        const total = item.frame.length + (item.tail === undefined ? 0 : item.tail.length);
        const chunk = Math.min(channel.maxMessageBytes, total - item.sent);
        const [first, second] = slice(item, chunk);
        if (!channel.send(first, second)) {
          await channel.whenWritable(chunk);
          continue;
        }
        item.sent += chunk;
        if (item.sent === total) {
          this.pending.shift();
          this.sentOff(item);
        }
      }
    } catch (error) {
      this.destroy(error as Error);
    } finally {
      this.flushing = false;
    }
    if (this.pending.length === 0) for (const wake of this.drainWaiters.splice(0)) wake();
  }

  /** A pending frame is all in the ring (or will never be): what kept its tail readable ends. */
  private sentOff(item: Pending): void {
    if (item.hold !== undefined) this.release(item.hold);
    if (item.leasedCopy) endLease(item.tail!);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.assembling !== null) {
      this.closeError ??= new FrameError(`truncated frame: the peer closed after ${this.assembled} of ${this.assembling.length} bytes`);
      this.handler.onProtocolError(this.closeError);
      this.inbound?.release(this.assembling.length);
      endLease(this.assembling);
      this.assembling = null;
    }
    this.stopWatchingAssembly();
    this.channel?.close();
    // Leases still out (a handler running, a caller's result, a loan) keep the mapping until they end.
    this.pool?.close();
    if (this.channel?.isCreator) this.pool?.unlink();
    for (const item of this.pending.splice(0)) this.sentOff(item);
    for (const wake of this.drainWaiters.splice(0)) wake();
    this.handler.onClose(this.closeError);
  }
}

/**
 * Whether a header of `length` bytes fits in front of a loan (or the part of one being sent),
 * inside its run's first slot: the receiver hands back the run the frame starts in.
 */
function fitsBefore(loan: { run: number; at: number }, length: number, base: number): boolean {
  const start = loan.at - length - base;
  return start >= loan.run && start < loan.run + POOL_SLOT_BYTES;
}

/**
 * A copy of a view of shared memory that has to wait for ring room (a pooled argument echoed
 * back: its run goes back to the caller when the call ends). A large one goes in a frame
 * lease, memory kept for reuse: a fresh 64 MiB Buffer faulted its pages in anew on every
 * such answer, ~200 ms of a 64 MiB echo here. True when the copy is a lease.
 */
function copyOut(tail: Buffer): [Buffer, boolean] {
  if (tail.length < POOL_MIN_BYTES) return [Buffer.from(tail), false];
  const copy = frameLease(tail.length);
  tail.copy(copy);
  return [copy, true];
}

/** The next `length` bytes of a pending frame, as at most two views (frame part, tail part). */
function slice(item: Pending, length: number): [Buffer, Buffer | undefined] {
  const { frame, tail, sent } = item;
  if (sent >= frame.length) return [tail!.subarray(sent - frame.length, sent - frame.length + length), undefined];
  const fromFrame = Math.min(length, frame.length - sent);
  const head = frame.subarray(sent, sent + fromFrame);
  if (fromFrame === length || tail === undefined) return [head, undefined];
  return [head, tail.subarray(0, length - fromFrame)];
}
