import { MessageQueue, objectName, PosixError } from '@hostmesh/native';
import { fstatSync } from 'node:fs';
import { FrameError, ServiceUnavailableError } from '../../core/errors/errors';
import { checkHeader, frameRoute, HEADER_BYTES } from '../../protocol/frame';
import { NO_HANDLER, type Connection, type ConnectionHandler, type PeerInfo } from '../contract/transport';
import { TRACKED_FRAMES } from './inflight-journal';
import { referenceFrame } from './queue-frames';

interface Batch {
  bytes: Buffer;
  length: number;
  priority: number;
  frames: number;
}

let segmentSequence = 0;

/**
 * A publisher's side of one subscriber queue. Frames written in one tick are packed into
 * as few queue messages as fit (one mq_send for many events), each message holding frames
 * of one priority. When the queue is full, messages wait here, in order, and `write`
 * reports false until the kernel says there is room: nothing is dropped.
 */
export class QueueWriterConnection implements Connection {
  readonly statelessFrames = true;
  readonly peer: PeerInfo;
  private handler: ConnectionHandler = NO_HANDLER;
  private current: Batch | null = null;
  private readonly full: Batch[] = [];
  private drainWaiters: Array<() => void> = [];
  private flushScheduled = false;
  private watching = false;
  private closed = false;

  constructor(
    private queue: MessageQueue,
    /** The object-name scope of the deployment (RuntimeDir.objectScope), for bodies too large for a message. */
    private readonly scope: string,
    /** The queue priority of an event's route (its @EventType priority), from the caller; 0 without one. */
    private readonly priorityOf: (route: number) => number = () => 0,
  ) {
    this.peer = { kind: 'mqueue', address: queue.name };
  }

  /** False only while the kernel refuses messages (the queue is full), not while batches fill. */
  get writable(): boolean {
    return !this.closed && !this.blocked;
  }

  private blocked = false;

  bind(handler: ConnectionHandler): void {
    this.handler = handler;
  }

  write(frame: Buffer, tail?: Buffer): boolean {
    if (this.closed) return false;
    const size = frame.length + (tail?.length ?? 0);
    if (size > this.queue.messageSize) {
      const name = objectName(this.scope, `evbody.${process.pid}.${++segmentSequence}`);
      return this.write(referenceFrame(name, frame, tail));
    }
    const priority = this.priorityOf(frameRoute(frame, 0));
    let batch = this.current;
    // At most as many frames as the subscriber's journal records handled one by one (a replay skips those).
    if (batch !== null && (batch.priority !== priority || batch.length + size > batch.bytes.length || batch.frames === TRACKED_FRAMES)) {
      this.full.push(batch);
      batch = null;
      // Send complete batches now, not only on the next tick: a producer that never yields
      // to the event loop (awaiting resolved publishes back to back) must still meet a full
      // queue and its backpressure, instead of growing `full` without bound.
      this.sendFull();
    }
    if (batch === null) {
      batch = { bytes: Buffer.allocUnsafe(this.queue.messageSize), length: 0, priority, frames: 0 };
      this.current = batch;
    }
    batch.length += frame.copy(batch.bytes, batch.length);
    if (tail) batch.length += tail.copy(batch.bytes, batch.length);
    batch.frames++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flush);
    }
    return !this.blocked;
  }

  whenWritable(): Promise<void> {
    if (this.full.length === 0 && this.current === null) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  pause(): void {}
  resume(): void {}

  /** Sends what is waiting (within a bounded wait for room), then closes. */
  close(): void {
    if (this.closed) return;
    this.flush();
    if (this.full.length > 0 || this.current !== null) {
      const timer = setTimeout(() => this.finish(), 2000);
      void this.whenWritable().then(() => {
        clearTimeout(timer);
        this.finish();
      });
      return;
    }
    this.finish();
  }

  destroy(): void {
    this.finish();
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.current !== null) {
      this.full.push(this.current);
      this.current = null;
    }
    this.sendFull();
  };

  /** Sends complete batches while the kernel takes them; watches for room when it does not. */
  private sendFull(): void {
    try {
      while (this.full.length > 0) {
        const batch = this.full[0]!;
        if (!this.queue.send(batch.bytes.subarray(0, batch.length), batch.priority)) break;
        this.full.shift();
      }
    } catch (error) {
      // The queue went away (unlinked) or refused the message: say so, keep nothing forever.
      this.handler.onProtocolError(error instanceof PosixError ? error : new FrameError(String(error)));
      this.full.length = 0;
    }
    const wasBlocked = this.blocked;
    this.blocked = this.full.length > 0;
    if (this.full.length === 0) {
      for (const wake of this.drainWaiters.splice(0)) wake();
    } else if (!wasBlocked && this.revalidate() !== 'same') {
      // It filled because nobody reads it any more: replaced (and sent again), or gone (ended).
    } else if (!this.watching) {
      this.watching = true;
      const queue = this.queue;
      void queue.whenWritable().then(() => {
        if (queue !== this.queue) return; // replaced meanwhile
        this.watching = false;
        if (!this.closed) this.flush();
      });
    }
  }

  /**
   * Checks that the queue written to is still the one its name opens. A queue removed (a
   * purge) ends the connection, saying so: what it held goes with the purge. A queue
   * replaced (purged, then created by a new start of the subscriber, before this publisher
   * noticed the removal) is written to from now on, and what was sent into the old one
   * (opened read-write, so it can be read back) is carried over first, re-batched for the
   * new queue's message size. Called when the queue fills and when the registry changes.
   */
  revalidate(): 'same' | 'replaced' | 'ended' {
    if (this.closed) return 'ended';
    let current: MessageQueue;
    try {
      current = MessageQueue.open(this.queue.name);
    } catch (error) {
      if (!PosixError.is(error, 'ENOENT')) return 'same';
      this.handler.onProtocolError(
        new ServiceUnavailableError(`event queue ${this.queue.name} was removed: its subscriber's subscriptions were purged`, { cause: error }),
      );
      this.destroy();
      return 'ended';
    }
    let same: boolean;
    try {
      same = fstatSync(current.fd).ino === fstatSync(this.queue.fd).ino;
    } catch {
      same = true;
    }
    if (same) {
      current.close();
      return 'same';
    }
    const waiting: Buffer[] = [];
    for (let received = this.queue.receive(); received !== null; received = this.queue.receive()) waiting.push(received.message);
    for (const batch of this.full) waiting.push(batch.bytes.subarray(0, batch.length));
    if (this.current !== null) waiting.push(this.current.bytes.subarray(0, this.current.length));
    this.full.length = 0;
    this.current = null;
    this.queue.close();
    this.queue = current;
    this.watching = false;
    this.blocked = false;
    // Batches were sized for the old queue: split them into their frames and batch again.
    for (const message of waiting) {
      for (let offset = 0; offset < message.length;) {
        const end = offset + HEADER_BYTES + checkHeader(message, offset, 0xffff_ffff);
        this.write(message.subarray(offset, end));
        offset = end;
      }
    }
    this.flush();
    return 'replaced';
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.close();
    for (const wake of this.drainWaiters.splice(0)) wake();
    this.handler.onClose();
  }
}
