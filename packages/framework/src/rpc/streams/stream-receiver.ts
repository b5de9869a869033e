import { FrameError } from '../../core/errors/errors';
import { INITIAL_CREDIT, type StreamWindow } from './stream-window';

/** How a receiver talks back to its sender, through the connection of the call. */
export interface StreamInlet {
  /** Sends a Credit frame: the sender may send this much more. */
  grant(receiver: StreamReceiver, items: number, bytes: number): void;
  /** The consumer left before the end (`return()`, `break`): tell the sender to stop. */
  cancel(receiver: StreamReceiver): void;
  /** The consumer now waits for an item (true), or no longer does (false): for idle timeouts. */
  waiting?(receiver: StreamReceiver, waiting: boolean): void;
}

interface Waiter {
  resolve(result: IteratorResult<unknown>): void;
  reject(error: Error): void;
}

const DONE: IteratorResult<never> = Object.freeze({ done: true, value: undefined }) as IteratorResult<never>;

/**
 * The receiving end of one stream, as an async iterator. It buffers at most the window it
 * granted (items, and bytes plus one frame), and grants credit back as the consumer takes
 * items, a quarter of the window at a time. A sender that overruns its credit is refused
 * (`push` returns a FrameError), so no peer can grow this side's memory.
 */
export class StreamReceiver<T = unknown> implements AsyncIterableIterator<T> {
  private batches: unknown[][] = [];
  private batchBytes: number[] = [];
  private index = 0;
  private allowedItems = INITIAL_CREDIT.items;
  private allowedBytes = INITIAL_CREDIT.bytes;
  private receivedItems = 0;
  private receivedBytes = 0;
  private consumedItems = 0;
  private consumedBytes = 0;
  private state: 'open' | 'ended' | 'failed' | 'cancelled' = 'open';
  private error: Error | null = null;
  private waiters: Waiter[] = [];
  private done: ((error?: Error) => void) | null = null;

  constructor(
    private readonly inlet: StreamInlet,
    /** The call's correlation id on its connection (set when the call is sent). */
    public id: number,
    readonly route: number,
    private readonly window: StreamWindow,
  ) {}

  /** Tops the sender's credit up from the protocol's initial credit to this receiver's window. */
  open(): void {
    if (this.state !== 'open') return;
    const items = this.window.items - INITIAL_CREDIT.items;
    const bytes = this.window.bytes - INITIAL_CREDIT.bytes;
    if (items <= 0 && bytes <= 0) return;
    this.allowedItems += Math.max(0, items);
    this.allowedBytes += Math.max(0, bytes);
    this.inlet.grant(this, Math.max(0, items), Math.max(0, bytes));
  }

  /** Calls `callback` once the stream is over: ended, cancelled (no error), or failed. */
  whenDone(callback: (error?: Error) => void): void {
    if (this.state === 'open') this.done = callback;
    else callback(this.error ?? undefined);
  }

  private over(): void {
    const done = this.done;
    this.done = null;
    done?.(this.error ?? undefined);
  }

  /** Whether the consumer waits for an item now. */
  get isWaiting(): boolean {
    return this.waiters.length > 0;
  }

  /** Whether the stream still takes items (neither ended, failed nor cancelled). */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Items of one frame (`bytes`: its body length). Returns an error, and takes nothing, when the sender overran its credit. */
  push(items: unknown[], bytes: number): FrameError | undefined {
    if (this.state !== 'open' || items.length === 0) return undefined;
    if (this.receivedItems + items.length > this.allowedItems || this.receivedBytes >= this.allowedBytes) {
      return new FrameError(
        `stream of call ${this.id} sent past its credit (${this.receivedItems + items.length} items of ${this.allowedItems}, ${this.receivedBytes + bytes} bytes of ${this.allowedBytes})`,
      );
    }
    this.receivedItems += items.length;
    this.receivedBytes += bytes;
    let from = 0;
    const waited = this.waiters.length > 0;
    // Waiting consumers take items straight from the frame.
    while (this.waiters.length > 0 && from < items.length) this.waiters.shift()!.resolve({ done: false, value: items[from++] });
    if (waited && this.waiters.length === 0) this.inlet.waiting?.(this, false);
    if (from === items.length) {
      this.consumed(items.length, bytes);
      return undefined;
    }
    // The items handed out count with the rest of the frame, once the consumer has taken it all.
    this.batches.push(from === 0 ? items : items.slice(from));
    this.batchBytes.push(bytes);
    this.consumedItems += from;
    return undefined;
  }

  /** The sender has no more items: the consumer gets what is buffered, then the end. */
  end(): void {
    if (this.state !== 'open') return;
    this.state = 'ended';
    if (this.batches.length === 0) this.settleWaiters();
    this.over();
  }

  /** The stream broke (an error from the sender, a lost connection, a timeout): buffered items first, then `error`. */
  fail(error: Error): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.error = error;
    if (this.batches.length === 0) this.settleWaiters();
    this.over();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.batches.length > 0) return Promise.resolve({ done: false, value: this.take() as T });
    if (this.state === 'ended' || this.state === 'cancelled') return Promise.resolve(DONE);
    if (this.state === 'failed') return Promise.reject(this.error!);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve: resolve as Waiter['resolve'], reject });
      if (this.waiters.length === 1) this.inlet.waiting?.(this, true);
    });
  }

  /** The consumer is done (`break`, `return`): the sender is told to stop, unless the stream already ended. */
  return(): Promise<IteratorResult<T>> {
    this.cancel();
    return Promise.resolve(DONE);
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.cancel();
    return Promise.reject(error);
  }

  /** Stops the stream from this end: buffered items are dropped, a waiting `next()` gets the end. */
  cancel(): void {
    const wasOpen = this.state === 'open';
    if (this.state === 'open' || this.state === 'ended' || this.state === 'failed') this.state = 'cancelled';
    this.batches = [];
    this.batchBytes = [];
    this.index = 0;
    this.settleWaiters();
    if (wasOpen) {
      this.over();
      this.inlet.cancel(this);
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private take(): unknown {
    const batch = this.batches[0]!;
    const item = batch[this.index++];
    if (this.index === batch.length) {
      this.batches.shift();
      const bytes = this.batchBytes.shift()!;
      this.index = 0;
      this.consumed(batch.length, bytes);
      if (this.batches.length === 0 && this.state !== 'open') this.settleWaiters();
    }
    return item;
  }

  private consumed(items: number, bytes: number): void {
    this.consumedItems += items;
    this.consumedBytes += bytes;
    if (this.state !== 'open') return;
    if (this.consumedItems * 4 < this.window.items && this.consumedBytes * 4 < this.window.bytes) return;
    const grantItems = this.consumedItems;
    const grantBytes = this.consumedBytes;
    this.consumedItems = this.consumedBytes = 0;
    this.allowedItems += grantItems;
    this.allowedBytes += grantBytes;
    this.inlet.grant(this, grantItems, grantBytes);
  }

  private settleWaiters(): void {
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    this.waiters = [];
    this.inlet.waiting?.(this, false);
    for (const waiter of waiters) {
      if (this.state === 'failed') waiter.reject(this.error!);
      else waiter.resolve(DONE);
    }
  }
}
