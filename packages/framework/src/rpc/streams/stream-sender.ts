import { PayloadTooLargeError } from '../../core/errors/errors';
import { isRawBytes } from '../../protocol/codec';
import { INITIAL_CREDIT, MAX_BATCH_ITEMS, RAW_ITEM_BYTES } from './stream-window';

/** Where a sender's frames go: the connection of the call the stream belongs to. */
export interface StreamOutlet {
  /**
   * Writes one StreamData frame: a batch of items, or one Buffer item as a raw body. Returns
   * the frame's body bytes, or -1 when the connection is gone. Throws when the body cannot be encoded.
   */
  sendItems(id: number, route: number, body: unknown[] | Uint8Array): number;
  /** False while the connection's buffer is over its high-water mark. */
  readonly writable: boolean;
  whenWritable(): Promise<void>;
}

const noop = (): void => undefined;

/**
 * Pulls a stream's items from its source and sends them as the receiver's credit allows:
 * while it has none, the source is not pulled at all, so a slow consumer stops the producer
 * and the producer's memory stays at one batch. Items that are ready in one turn share a
 * frame (up to MAX_BATCH_ITEMS); a batch leaves when it is full or the turn ends.
 */
export class StreamSender {
  private items = INITIAL_CREDIT.items;
  private bytes = INITIAL_CREDIT.bytes;
  private batch: unknown[] = [];
  private flushPending = false;
  private wake: (() => void) | null = null;
  private stopped = false;
  private failure: unknown = undefined;
  /** A raw item pulled while the batch before it (or the byte credit) kept it from leaving. */
  private heldRaw: Uint8Array | null = null;
  private stopWaiters: Array<(ended: boolean) => void> | null = null;
  private readonly iterator: AsyncIterator<unknown>;

  constructor(
    private readonly outlet: StreamOutlet,
    readonly id: number,
    readonly route: number,
    source: AsyncIterable<unknown>,
    /** For errors: `service.endpoint` and which way the stream goes. */
    private readonly label: string,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** The receiver let us send this much more. */
  grant(items: number, bytes: number): void {
    this.items += items;
    this.bytes += bytes;
    this.wakeUp();
    // What waited for byte credit leaves now, not with the next item (the source may be slow).
    if ((this.batch.length > 0 || this.heldRaw !== null) && !this.flushPending) {
      this.flushPending = true;
      setImmediate(this.flushLater);
    }
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** The receiver cancelled or left, or the call ended: pull no more, and let the source clean up (`return()`). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.batch = [];
    this.heldRaw = null;
    this.wakeUp();
    if (this.stopWaiters !== null) for (const resolve of this.stopWaiters.splice(0)) resolve(false);
    try {
      // An async generator runs its `finally` blocks; return() waits for a pending next().
      const done = this.iterator.return?.();
      if (done !== undefined) Promise.resolve(done).then(noop, noop);
    } catch {
      // the source's own clean-up failed: nothing is waiting for it
    }
  }

  /**
   * Like `run()`, but settles as soon as the sender is stopped, even while its source is
   * still waiting inside `next()` (an async generator's `return()` waits for that): what
   * the stream held can be given back at once.
   */
  runUntilStopped(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    const stopped = new Promise<boolean>((resolve) => (this.stopWaiters ??= []).push(resolve));
    return Promise.race([this.run(), stopped]);
  }

  /**
   * Sends until the source ends (true) or the sender is stopped (false). Throws what the
   * source throws, or an encoding error, after sending the items before it. A frame leaves
   * only while byte credit remains: what was pulled waits for credit, never overruns it.
   */
  async run(): Promise<boolean> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (this.stopped) return false;
      if (this.heldRaw !== null) this.sendHeld();
      if (this.items <= 0 || this.bytes <= 0 || this.heldRaw !== null || !this.outlet.writable) {
        this.flush();
        if (this.stopped || this.failure !== undefined) continue;
        await (this.items <= 0 || this.bytes <= 0 || this.heldRaw !== null ? this.credit() : this.outlet.whenWritable());
        continue;
      }
      let result: IteratorResult<unknown>;
      try {
        result = await this.iterator.next();
      } catch (error) {
        // The items pulled before the error go first, as credit allows.
        if (!this.stopped && !(await this.drainHeld())) return false;
        throw error;
      }
      if (this.stopped) continue;
      if (result.done === true) {
        if (!(await this.drainHeld())) return false;
        if (this.failure !== undefined) throw this.failure;
        return !this.stopped;
      }
      const item = result.value;
      this.items--;
      if (isRawBytes(item) && item.byteLength >= RAW_ITEM_BYTES) {
        this.flush();
        if (this.batch.length === 0 && this.bytes > 0) this.send(item);
        else this.heldRaw = item;
        continue;
      }
      this.batch.push(item);
      if (this.batch.length >= MAX_BATCH_ITEMS) this.flush();
      else if (!this.flushPending) {
        // Items ready in this turn go together; the batch leaves once the source has to wait.
        this.flushPending = true;
        setImmediate(this.flushLater);
      }
    }
  }

  private readonly flushLater = (): void => {
    this.flushPending = false;
    if (!this.stopped) this.sendHeld();
  };

  /** Sends the batch, then a held raw item, while byte credit lasts. */
  private sendHeld(): void {
    this.flush();
    if (this.heldRaw !== null && this.batch.length === 0 && this.bytes > 0 && !this.stopped) {
      const raw = this.heldRaw;
      this.heldRaw = null;
      this.send(raw);
    }
  }

  /** Sends everything pulled, waiting for credit as needed; false when stopped first. */
  private async drainHeld(): Promise<boolean> {
    for (;;) {
      if (this.stopped || this.failure !== undefined) return !this.stopped;
      this.sendHeld();
      if (this.batch.length === 0 && this.heldRaw === null) return true;
      await this.credit();
    }
  }

  private credit(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private flush(): void {
    // No byte credit left: the batch waits (sending it would overrun what the receiver allowed).
    if (this.batch.length === 0 || this.bytes <= 0) return;
    const items = this.batch;
    this.batch = [];
    this.send(items);
  }

  private send(body: unknown[] | Uint8Array): void {
    let written: number;
    try {
      written = this.outlet.sendItems(this.id, this.route, body);
    } catch (error) {
      // A batch over the payload limit goes item by item; an item over it fails the stream.
      if (error instanceof PayloadTooLargeError && Array.isArray(body) && body.length > 1) {
        for (const item of body) {
          if (this.stopped || this.failure !== undefined) return;
          this.send([item]);
        }
        return;
      }
      this.fail(
        error instanceof PayloadTooLargeError
          ? new PayloadTooLargeError(error.data!.size as number, error.data!.limit as number, `an item of ${this.label}`)
          : error,
      );
      return;
    }
    if (written < 0) this.stop();
    else this.bytes -= written;
  }

  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.stop();
  }
}
