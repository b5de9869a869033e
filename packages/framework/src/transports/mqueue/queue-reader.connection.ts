import { ShmSegment, type MessageQueue } from '@hostmesh/native';
import { FrameError } from '../../core/errors/errors';
import type { Logger } from '../../core/logger';
import { NO_HANDLER, type Connection, type ConnectionHandler, type PeerInfo } from '../contract/transport';
import { TRACKED_FRAMES, type InflightJournal } from './inflight-journal';
import { forEachFrame, referencedBodies } from './queue-frames';

/** Runs that may start delivering one journal entry: past it, the entry is taken to be what ends them. */
export const MAX_DELIVERY_ATTEMPTS = 3;

/**
 * The subscriber's side of its event queue, seen as a receive-only connection. A message
 * that is not made of frames is reported and skipped: the queue, and the events behind
 * it, live on.
 *
 * Each message taken from the queue is copied into the in-flight journal until every
 * handler of its events has finished (the server holds it once per event, and each event
 * is recorded handled in the journal when its hold ends), so a subscriber killed
 * mid-handler gets the events it had not finished again on its next start. The journal's
 * size bounds the messages in flight: when it is full, reading stops and the events wait
 * in the kernel queue, where publishers feel the backpressure.
 */
export class QueueReaderConnection implements Connection {
  readonly writable = false;
  readonly statelessFrames = true;
  readonly peer: PeerInfo;
  private handler: ConnectionHandler = NO_HANDLER;
  private closed = false;
  private paused = true;
  /** Holds on each journal slot: one per event being handled, plus the reader's own while it delivers. */
  private readonly holds: Uint32Array;
  /** Large-event bodies per slot, removed once the slot is released. */
  private readonly bodies: Array<string[] | undefined>;
  private current = -1;
  /** Frames of the current message begun: the one being delivered is `frame - 1`. */
  private frame = 0;
  /** Reading stopped because every journal slot is busy: a release resumes it. */
  private waitingForRoom = false;
  private replaying = false;

  constructor(
    private readonly queue: MessageQueue,
    private readonly maxPayloadBytes: number,
    private readonly journal: InflightJournal,
    private readonly logger: Logger,
    /** Journal entries of a previous run that could not be carried over. */
    private readonly lost = 0,
    /**
     * The queue carries events with an ordering key: what a previous run left is replayed
     * one message at a time, oldest first, and the queue is read only after that, so no
     * event overtakes an older one of its key.
     */
    private readonly ordered = false,
  ) {
    this.peer = { kind: 'mqueue', address: queue.name };
    this.holds = new Uint32Array(journal.slots);
    this.bodies = new Array(journal.slots);
  }

  bind(handler: ConnectionHandler): void {
    this.handler = handler;
    if (this.lost > 0) {
      this.logger.error(
        `${this.lost} queue messages in the in-flight journal ${this.journal.name} were unreadable or did not fit its new size: not delivered again`,
      );
    }
    // What a previous run took from the queue but did not finish handling comes first.
    // Messages that were already replayed once when a run ended are suspects: they go one
    // at a time, so a message whose handling ends the process is the only one whose count
    // keeps growing, and it alone is given up.
    for (const slot of this.journal.recovered()) {
      if (this.ordered || this.journal.attempts(slot) > 1) this.suspects.push(slot);
      else this.redeliver(slot);
    }
    this.replayFirst = this.ordered && this.suspects.length > 0;
    this.nextSuspect();
    this.resume();
  }

  /** An ordered queue is not read until the replay of what a previous run left is over. */
  private replayFirst = false;

  private readonly suspects: number[] = [];
  private suspect = -1;

  private readonly nextSuspect = (): void => {
    this.suspect = -1;
    if (this.closed) return;
    const slot = this.suspects.shift();
    if (slot === undefined) {
      if (this.replayFirst) {
        this.replayFirst = false;
        this.read();
      }
      return;
    }
    this.suspect = slot;
    this.redeliver(slot);
  };

  private redeliver(slot: number): void {
    const message = this.journal.message(slot);
    // Counted before delivering: a message whose handling ends the process every time is
    // given up after a few runs rather than replayed into a crash loop.
    const attempts = this.journal.attempt(slot);
    this.replaying = true;
    try {
      if (attempts <= MAX_DELIVERY_ATTEMPTS) {
        this.deliver(slot, message, message.length);
        return;
      }
      this.logger.error(
        `dropping a ${message.length}-byte queue message from the in-flight journal ${this.journal.name}: ${MAX_DELIVERY_ATTEMPTS} runs started handling its events and none finished (did handling them end the process?)`,
      );
      this.holds[slot] = 1;
      // Its large bodies go too: nothing will read them.
      this.bodies[slot] = referencedBodies(message, message.length, this.maxPayloadBytes);
      this.releaseSlot(slot);
    } finally {
      this.replaying = false;
    }
  }

  /** Queue messages taken but not yet handled. */
  get inFlight(): number {
    return this.journal.held;
  }

  /** Events have no replies: nothing is ever written back into a queue. */
  write(): boolean {
    return false;
  }

  whenWritable(): Promise<void> {
    return Promise.resolve();
  }

  pause(): void {
    this.paused = true;
    this.queue.pause();
  }

  resume(): void {
    this.paused = false;
    this.read();
  }

  /**
   * Holds the message being delivered once more until `release(token)`: one hold per event,
   * released when every handler of it has finished, which records the event as handled in
   * the journal (a replay after a kill skips it). -1 outside a delivery.
   */
  hold(): number {
    if (this.current < 0) return -1;
    this.holds[this.current]!++;
    return this.current * (TRACKED_FRAMES + 1) + Math.min(this.frame - 1, TRACKED_FRAMES);
  }

  release(token: number): void {
    if (token < 0) return;
    const slot = Math.floor(token / (TRACKED_FRAMES + 1));
    if (!this.closed) this.journal.markDone(slot, token % (TRACKED_FRAMES + 1));
    this.releaseSlot(slot);
  }

  private releaseSlot(slot: number): void {
    if (slot < 0 || --this.holds[slot]! > 0) return;
    const bodies = this.bodies[slot];
    if (bodies !== undefined) {
      this.bodies[slot] = undefined;
      for (const name of bodies) ShmSegment.unlinkIfExists(name);
    }
    if (this.closed) return;
    this.journal.release(slot);
    if (slot === this.suspect) setImmediate(this.nextSuspect);
    if (this.waitingForRoom) {
      this.waitingForRoom = false;
      // Not from here: a release inside a delivery would start reading inside the queue's own loop.
      setImmediate(this.readSoon);
    }
  }

  /** Stops consuming; the queue stays, with whatever it holds, for the next start. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.close();
    this.journal.close();
    this.handler.onClose();
  }

  /** A bad message never ends consumption: the queue is the only way events reach us. */
  destroy(): void {}

  private read(): void {
    if (this.closed || this.paused || this.replayFirst) return;
    if (this.journal.free === 0) {
      this.waitingForRoom = true;
      return;
    }
    this.queue.onMessage(this.onMessage);
  }

  private readonly readSoon = (): void => this.read();

  private readonly onMessage = (message: Buffer): void => {
    const slot = this.journal.hold(message, message.length);
    // The journal's slots are as large as a queue message, and reading stops when it is full.
    if (slot < 0) throw new Error(`in-flight journal ${this.journal.name} refused a message of ${message.length} bytes`);
    this.deliver(slot, message, message.length);
    // Decided after delivering: synchronous handlers have already given the slot back.
    if (this.journal.free === 0 && !this.closed) {
      this.waitingForRoom = true;
      this.queue.pause();
    }
  };

  private readonly onBody = (name: string): void => {
    (this.bodies[this.current] ??= []).push(name);
  };

  private readonly onFrame = (buffer: Buffer, start: number, end: number): void => {
    this.frame++;
    // A replayed message's events that a previous run finished handling are not handled again.
    if (this.replaying && this.journal.isDone(this.current, this.frame - 1)) return;
    this.handler.onFrame(buffer, start, end, true);
  };

  private deliver(slot: number, message: Buffer, length: number): void {
    this.current = slot;
    this.frame = 0;
    this.holds[slot] = 1;
    try {
      forEachFrame(message, length, this.maxPayloadBytes, this.onFrame, this.onBody);
    } catch (error) {
      if (!(error instanceof FrameError) && !(error instanceof Error && 'code' in error)) throw error;
      // A replayed message whose large body is gone was handled before the last run ended.
      if (this.replaying && error instanceof FrameError && error.data?.bodyGone !== undefined) this.logger.debug(error.message);
      else this.handler.onProtocolError(error);
    } finally {
      this.current = -1;
      this.releaseSlot(slot);
    }
  }
}
