import { FrameError } from '../../core/errors/errors';
import type { FrameCodec } from '../../protocol/codec';
import { FrameKind, HEADER_BYTES } from '../../protocol/frame';
import { StreamReceiver, type StreamInlet } from './stream-receiver';
import { StreamSender, type StreamOutlet } from './stream-sender';
import type { StreamWindow } from './stream-window';

/** What the streams of one connection need from its owner (the rpc client, or the server's connection). */
export interface StreamConnection {
  readonly codec: FrameCodec | null;
  readonly writable: boolean;
  whenWritable(): Promise<void>;
  /** Writes a frame the codec just encoded (with its tail, if it left one); false once the connection is gone. `oneWay`: no answer expected soon. */
  writeFrame(frame: Buffer, oneWay?: boolean): boolean;
  /** The consumer of stream `id` waits for an item (true) or no longer does (false). */
  waiting?(id: number, waiting: boolean): void;
  /** The consumer of stream `id` left it (the cancel frame is written). */
  cancelled?(id: number): void;
}

/** The largest credit one frame may grant, so a peer cannot overflow a sender's counters. */
const MAX_GRANT = 2 ** 31;

/**
 * The streams open on one connection, both ways: senders (pulling a local iterable, sending
 * as credit allows) and receivers (buffering what arrives, granting credit as it is read),
 * by call id. Frames of streams it does not know (cancelled, finished) are dropped.
 */
export class StreamTable implements StreamOutlet, StreamInlet {
  private readonly senders = new Map<number, StreamSender>();
  private readonly receivers = new Map<number, StreamReceiver>();

  constructor(private readonly connection: StreamConnection) {}

  get writable(): boolean {
    return this.connection.writable;
  }

  whenWritable(): Promise<void> {
    return this.connection.whenWritable();
  }

  get size(): number {
    return this.senders.size + this.receivers.size;
  }

  /** Starts sending `source` as stream `id`; run() the sender and call `senderDone` when it settles. */
  startSender(id: number, route: number, source: AsyncIterable<unknown>, label: string): StreamSender {
    const sender = new StreamSender(this, id, route, source, label);
    this.senders.set(id, sender);
    return sender;
  }

  /** The senders still running (a copy: stopping one changes the table). */
  activeSenders(): StreamSender[] {
    return [...this.senders.values()];
  }

  senderDone(sender: StreamSender): void {
    if (this.senders.get(sender.id) === sender) this.senders.delete(sender.id);
  }

  /** Stops the sender of stream `id` (its receiver cancelled); false when there is none. */
  stopSender(id: number): boolean {
    const sender = this.senders.get(id);
    if (sender === undefined) return false;
    sender.stop();
    return true;
  }

  /** A receiver for stream `id`; `open` tops its sender's credit up to the window at once. */
  openReceiver<T>(id: number, route: number, window: StreamWindow, open = true): StreamReceiver<T> {
    const receiver = new StreamReceiver<T>(this, id, route, window);
    this.receivers.set(id, receiver as StreamReceiver);
    if (open) receiver.open();
    return receiver;
  }

  /** A receiver not yet taking frames: `track` it once its call is sent. */
  createReceiver<T>(id: number, route: number, window: StreamWindow): StreamReceiver<T> {
    return new StreamReceiver<T>(this, id, route, window);
  }

  /** Frames for stream `id` now go to `receiver`. */
  track(receiver: StreamReceiver, id: number): void {
    receiver.id = id;
    this.receivers.set(id, receiver);
  }

  /** Stream `id` takes no more frames (its call ended); the receiver keeps what it holds. */
  forget(id: number): void {
    this.receivers.delete(id);
  }

  receiver(id: number): StreamReceiver | undefined {
    return this.receivers.get(id);
  }

  /** Stream `id` is over on this side: its receiver takes nothing more (an open one is cancelled, so its sender stops). */
  closeReceiver(id: number): void {
    const receiver = this.receivers.get(id);
    if (receiver === undefined) return;
    // Cancelled while still in the table, so its Cancel frame is written.
    if (receiver.isOpen) receiver.cancel();
    this.receivers.delete(id);
  }

  /** A StreamData frame's decoded body; a FrameError when it is not a list of items or overruns its credit. */
  onData(id: number, body: unknown, raw: boolean, bodyBytes: number): FrameError | undefined {
    const receiver = this.receivers.get(id);
    if (receiver === undefined) return undefined;
    if (!raw && !Array.isArray(body)) return new FrameError(`stream data of call ${id} is not a list of items`);
    return receiver.push(raw ? [body] : (body as unknown[]), bodyBytes);
  }

  /** A StreamEnd frame: the receiver hands out what it holds, then ends. */
  onEnd(id: number): StreamReceiver | undefined {
    const receiver = this.receivers.get(id);
    if (receiver === undefined) return undefined;
    this.receivers.delete(id);
    receiver.end();
    return receiver;
  }

  /** A Credit frame's decoded body: `[items, bytes]`. */
  onCredit(id: number, body: unknown): FrameError | undefined {
    if (
      !Array.isArray(body) ||
      body.length !== 2 ||
      !Number.isInteger(body[0]) ||
      !Number.isInteger(body[1]) ||
      body[0] < 0 ||
      body[1] < 0 ||
      body[0] > MAX_GRANT ||
      body[1] > MAX_GRANT
    ) {
      return new FrameError(`credit of call ${id} is not [items, bytes] of integers from 0 to 2^31`);
    }
    this.senders.get(id)?.grant(body[0] as number, body[1] as number);
    return undefined;
  }

  /** The connection is gone: every receiver fails with `error` (after what it holds), every sender stops. */
  closeAll(error: Error): void {
    for (const receiver of this.receivers.values()) receiver.fail(error);
    this.receivers.clear();
    for (const sender of this.senders.values()) sender.stop();
    this.senders.clear();
  }

  // StreamOutlet: what senders write.
  sendItems(id: number, route: number, body: unknown[] | Uint8Array): number {
    const codec = this.connection.codec;
    if (codec === null) return -1;
    // A plain-msgpack peer reads no raw bodies: its Buffer items travel as `bin` in a list.
    const frame = Array.isArray(body)
      ? codec.encode(FrameKind.StreamData, id, route, body)
      : codec.plain
        ? codec.encode(FrameKind.StreamData, id, route, [body])
        : codec.encodeBytes(FrameKind.StreamData, id, route, body);
    const bytes = frame.length - HEADER_BYTES + (codec.tail?.length ?? 0);
    return this.connection.writeFrame(frame, true) ? bytes : -1;
  }

  // StreamInlet: what receivers send back.
  grant(receiver: StreamReceiver, items: number, bytes: number): void {
    const codec = this.connection.codec;
    if (codec !== null) this.connection.writeFrame(codec.encode(FrameKind.Credit, receiver.id, receiver.route, [items, bytes]));
  }

  cancel(receiver: StreamReceiver): void {
    if (this.receivers.get(receiver.id) !== receiver) return;
    this.receivers.delete(receiver.id);
    const codec = this.connection.codec;
    if (codec !== null) this.connection.writeFrame(codec.encode(FrameKind.Cancel, receiver.id, receiver.route, null));
    this.connection.cancelled?.(receiver.id);
  }

  waiting(receiver: StreamReceiver, waiting: boolean): void {
    this.connection.waiting?.(receiver.id, waiting);
  }
}
