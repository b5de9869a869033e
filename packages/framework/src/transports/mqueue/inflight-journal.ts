import { renameSync } from 'node:fs';
import { isProcessAlive, ownProcessStartTime, PosixError, ShmSegment } from '@hostmesh/native';
import { ServiceAlreadyRunningError } from '../../core/errors/errors';

const MAGIC = 0x4a4d_4803; // 'HMJ' v3: v2 plus each slot's bitmap of handled frames
const MAGIC_V2 = 0x4a4d_4802;
const HEADER = 32;
/** Frames of one message whose handling is recorded; later ones count as not handled. */
export const TRACKED_FRAMES = 511;
const DONE_BITMAP = 24;
const SLOT_HEADER = DONE_BITMAP + 64;
const SLOT_HEADER_V2 = 24;
const FREE = 0;
const HELD = 1;

/**
 * Queue messages a subscriber has taken from the kernel but not finished handling, kept in
 * a shared-memory segment that outlives the process. mq_receive removes a message from its
 * queue: without this, the events of a message whose handlers were running when the
 * subscriber was SIGKILLed would be lost. The next start of the same instance delivers
 * what the journal still holds before reading the queue (at-least-once; each event keeps
 * its id for de-duplication).
 *
 * One process at a time: the header names the owner (pid + start time), and a new run
 * waits for a previous one that is still stopping. So plain stores suffice; a killed
 * process's stores are already in the shared pages. Data is written before the state word
 * that makes a slot count, so a kill mid-write leaves the slot free.
 *
 * Layout after the segment header: magic, slots, slot bytes, owner pid, owner start time;
 * then per slot a state word, the message length, a sequence number (delivery order),
 * how many runs have started delivering it, 4 bytes unused, a bitmap of its frames whose
 * handling has finished (64 bytes: frames 0–510; a replay skips those), and the message bytes.
 */
export class InflightJournal {
  /** The segment's data; empty once it is unmapped. */
  private readonly data: Buffer;
  private readonly view: DataView;
  private readonly stride: number;
  private readonly freeSlots: number[] = [];
  private readonly recoveredSlots: number[];
  private sequence = 0;

  private constructor(
    readonly name: string,
    private readonly segment: ShmSegment,
    readonly slots: number,
    readonly slotBytes: number,
  ) {
    const data = (this.data = segment.data);
    this.view = new DataView(data.buffer, data.byteOffset, data.length);
    this.stride = align8(SLOT_HEADER + slotBytes);
    const held: Array<[slot: number, sequence: number]> = [];
    for (let slot = slots - 1; slot >= 0; slot--) {
      if (this.view.getUint32(this.offset(slot), true) === HELD) held.push([slot, this.view.getFloat64(this.offset(slot) + 8, true)]);
      else this.freeSlots.push(slot);
    }
    held.sort((a, b) => a[1] - b[1]);
    this.recoveredSlots = held.map(([slot]) => slot);
    this.sequence = held.length > 0 ? held[held.length - 1]![1] + 1 : 0;
    this.view.setUint32(16, process.pid, true);
    this.view.setFloat64(24, ownProcessStartTime(), true);
  }

  /**
   * Opens the journal `name`, or creates it, once no other live process owns it (waiting up
   * to `waitMs` for a previous run that is still stopping). One left by a run with another
   * geometry, or one that does not parse, is replaced; the messages it held are carried
   * over when they fit, and `dropped` counts the rest.
   */
  static async open(name: string, slots: number, slotBytes: number, waitMs = 0): Promise<{ journal: InflightJournal; dropped: number }> {
    let previous = openExisting(name);
    for (const deadline = Date.now() + waitMs; previous !== undefined && ownedByAnother(previous.data);) {
      const owner = previous.data.readUInt32LE(16);
      previous.close();
      if (Date.now() >= deadline) {
        throw new ServiceAlreadyRunningError(
          `in-flight journal ${name} belongs to pid ${owner}, still running: a previous run of this instance that has not stopped`,
          {
            data: { pid: owner },
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      previous = openExisting(name);
    }
    if (previous === undefined) return { journal: InflightJournal.create(name, slots, slotBytes), dropped: 0 };
    const data = previous.data;
    if (data.length >= size(slots, slotBytes) && data.readUInt32LE(0) === MAGIC && data.readUInt32LE(4) === slots && data.readUInt32LE(8) === slotBytes) {
      const journal = new InflightJournal(name, previous, slots, slotBytes);
      return { journal, dropped: journal.discardInvalid() };
    }
    // Another geometry: the new journal is filled under a temporary name and then renamed
    // over the old one, so a kill at any point leaves one of the two complete.
    const carried = readHeld(data);
    const temporary = `${name}.new`;
    ShmSegment.unlinkIfExists(temporary);
    let journal: InflightJournal;
    let dropped = carried.invalid;
    try {
      journal = InflightJournal.create(temporary, slots, slotBytes, name);
      for (const { message, done, attempts } of carried.messages) {
        const slot = journal.hold(message, message.length);
        if (slot < 0) {
          dropped++;
          continue;
        }
        // What the old journal knew goes with it: the events already handled, and the runs that started.
        if (done !== undefined) done.copy(journal.data, journal.offset(slot) + DONE_BITMAP);
        journal.view.setUint32(journal.offset(slot) + 16, attempts, true);
        journal.recoveredSlots.push(slot);
      }
      renameSync(`/dev/shm${temporary}`, `/dev/shm${name}`);
    } finally {
      previous.close();
    }
    return { journal, dropped };
  }

  /** A new journal `name`, its segment created as `segmentName` (renamed to `name` by the caller when they differ). */
  private static create(segmentName: string, slots: number, slotBytes: number, name = segmentName): InflightJournal {
    // Ownerless for the janitor: like the queue, it must outlive the process.
    const segment = ShmSegment.create(segmentName, size(slots, slotBytes), { ownerless: true });
    const data = segment.data;
    data.writeUInt32LE(slots, 4);
    data.writeUInt32LE(slotBytes, 8);
    data.writeUInt32LE(MAGIC, 0);
    return new InflightJournal(name, segment, slots, slotBytes);
  }

  /** Slots a previous run left held, oldest first: deliver these before reading the queue. */
  recovered(): number[] {
    return this.recoveredSlots.splice(0);
  }

  /** How many runs have started delivering `slot`. */
  attempts(slot: number): number {
    return this.view.getUint32(this.offset(slot) + 16, true);
  }

  /** Counts one more run starting to deliver `slot` (the one that took it counts as the first); returns how many have. */
  attempt(slot: number): number {
    const offset = this.offset(slot) + 16;
    const attempts = this.view.getUint32(offset, true) + 1;
    this.view.setUint32(offset, attempts, true);
    return attempts;
  }

  get free(): number {
    return this.freeSlots.length;
  }

  get held(): number {
    return this.slots - this.freeSlots.length;
  }

  /** Copies `length` bytes of `message` into a free slot; its index, or -1 when none is free or it is too long. */
  hold(message: Uint8Array, length: number): number {
    if (length > this.slotBytes || this.freeSlots.length === 0) return -1;
    const slot = this.freeSlots.pop()!;
    const offset = this.offset(slot);
    this.data.set(length === message.length ? message : message.subarray(0, length), offset + SLOT_HEADER);
    this.view.setUint32(offset + 4, length, true);
    this.view.setFloat64(offset + 8, this.sequence++, true);
    this.view.setUint32(offset + 16, 1, true); // this run is delivering it
    this.data.fill(0, offset + DONE_BITMAP, offset + SLOT_HEADER);
    this.view.setUint32(offset, HELD, true);
    return slot;
  }

  /** Records that every handler of frame `frame` of `slot`'s message has finished: a replay skips it. */
  markDone(slot: number, frame: number): void {
    if (frame >= TRACKED_FRAMES) return;
    const byte = this.offset(slot) + DONE_BITMAP + (frame >> 3);
    this.data[byte]! |= 1 << (frame & 7);
  }

  /** Whether frame `frame` of `slot`'s message was handled (by this run or one before it). */
  isDone(slot: number, frame: number): boolean {
    if (frame >= TRACKED_FRAMES) return false;
    return (this.data[this.offset(slot) + DONE_BITMAP + (frame >> 3)]! & (1 << (frame & 7))) !== 0;
  }

  /** The message held in `slot`, in place. */
  message(slot: number): Buffer {
    const start = this.offset(slot) + SLOT_HEADER;
    return this.data.subarray(start, start + this.view.getUint32(this.offset(slot) + 4, true));
  }

  release(slot: number): void {
    this.view.setUint32(this.offset(slot), FREE, true);
    this.freeSlots.push(slot);
  }

  /** Unmaps the journal; removes it too when it holds nothing (a clean stop). */
  close(): void {
    if (this.segment.isClosed) return;
    const empty = this.held === 0;
    this.view.setUint32(16, 0, true); // no owner: the next run need not wait
    this.segment.close();
    if (empty) ShmSegment.unlinkIfExists(this.name);
  }

  /** Frees recovered slots whose length does not fit (a scribbled journal): they cannot be delivered. */
  private discardInvalid(): number {
    let dropped = 0;
    for (let i = this.recoveredSlots.length - 1; i >= 0; i--) {
      const slot = this.recoveredSlots[i]!;
      if (this.view.getUint32(this.offset(slot) + 4, true) <= this.slotBytes) continue;
      this.recoveredSlots.splice(i, 1);
      this.release(slot);
      dropped++;
    }
    return dropped;
  }

  private offset(slot: number): number {
    return HEADER + slot * this.stride;
  }
}

function align8(value: number): number {
  return (value + 7) & ~7;
}

function size(slots: number, slotBytes: number): number {
  return HEADER + slots * align8(SLOT_HEADER + slotBytes);
}

function openExisting(name: string): ShmSegment | undefined {
  try {
    return ShmSegment.open(name);
  } catch (error) {
    if (PosixError.is(error, 'ENOENT')) return undefined;
    throw error;
  }
}

/** Whether a journal's header names a live process other than this one. */
function ownedByAnother(data: Buffer): boolean {
  if (data.length < HEADER || (data.readUInt32LE(0) !== MAGIC && data.readUInt32LE(0) !== MAGIC_V2)) return false;
  const pid = data.readUInt32LE(16);
  return pid !== 0 && pid !== process.pid && isProcessAlive(pid, data.readDoubleLE(24));
}

/** The held messages of a journal of any geometry, copied out in delivery order. */
function readHeld(data: Buffer): { messages: Array<{ message: Buffer; done: Buffer | undefined; attempts: number }>; invalid: number } {
  const magic = data.length < HEADER ? 0 : data.readUInt32LE(0);
  if (magic !== MAGIC && magic !== MAGIC_V2) return { messages: [], invalid: 0 };
  // A journal of the previous layout (an upgrade while events were in flight) is carried over too.
  const slotHeader = magic === MAGIC ? SLOT_HEADER : SLOT_HEADER_V2;
  const slots = data.readUInt32LE(4);
  const slotBytes = data.readUInt32LE(8);
  const stride = align8(slotHeader + slotBytes);
  const held: Array<{ sequence: number; message: Buffer; done: Buffer | undefined; attempts: number }> = [];
  let invalid = 0;
  for (let slot = 0; slot < slots && HEADER + (slot + 1) * stride <= data.length; slot++) {
    const offset = HEADER + slot * stride;
    if (data.readUInt32LE(offset) !== HELD) continue;
    const length = data.readUInt32LE(offset + 4);
    if (length > slotBytes) {
      invalid++;
      continue;
    }
    held.push({
      sequence: data.readDoubleLE(offset + 8),
      message: Buffer.from(data.subarray(offset + slotHeader, offset + slotHeader + length)),
      done: magic === MAGIC ? Buffer.from(data.subarray(offset + DONE_BITMAP, offset + SLOT_HEADER)) : undefined,
      attempts: data.readUInt32LE(offset + 16),
    });
  }
  held.sort((a, b) => a.sequence - b.sequence);
  return { messages: held, invalid };
}
