import { PosixError, ShmSegment } from '@hostmesh/native';

const MAGIC = 0x4a4d_4801; // 'HMJ' v1
const HEADER = 16;
const SLOT_HEADER = 16;
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
 * One writer at a time (the instance that runs; a second start of it is refused), so
 * plain stores suffice: a killed process's stores are already in the shared pages.
 * Layout after the segment header: magic, slots, slot bytes, then per slot a state word,
 * the message length, a sequence number (delivery order) and the message bytes.
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
  }

  /**
   * Opens the journal `name`, or creates it. One left by a run with another geometry, or
   * one that does not parse, is replaced; the messages it held are carried over when they
   * fit, and `dropped` counts the rest.
   */
  static open(name: string, slots: number, slotBytes: number): { journal: InflightJournal; dropped: number } {
    let previous: ShmSegment | undefined;
    try {
      previous = ShmSegment.open(name);
    } catch (error) {
      if (!PosixError.is(error, 'ENOENT')) throw error;
    }
    if (previous !== undefined) {
      const data = previous.data;
      if (data.length >= HEADER && data.readUInt32LE(0) === MAGIC && data.readUInt32LE(4) === slots && data.readUInt32LE(8) === slotBytes && data.length >= size(slots, slotBytes)) {
        const journal = new InflightJournal(name, previous, slots, slotBytes);
        const dropped = journal.discardInvalid();
        return { journal, dropped };
      }
      const carried = readHeld(data);
      previous.close();
      ShmSegment.unlink(name);
      const journal = InflightJournal.create(name, slots, slotBytes);
      let dropped = carried.invalid;
      for (const message of carried.messages) {
        const slot = journal.hold(message, message.length);
        if (slot < 0) dropped++;
        else journal.recoveredSlots.push(slot);
      }
      return { journal, dropped };
    }
    return { journal: InflightJournal.create(name, slots, slotBytes), dropped: 0 };
  }

  private static create(name: string, slots: number, slotBytes: number): InflightJournal {
    // Ownerless: like the queue, it must outlive the process (the janitor leaves it alone).
    const segment = ShmSegment.create(name, size(slots, slotBytes), { ownerless: true });
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
    this.view.setUint32(offset, HELD, true);
    return slot;
  }

  /** The message held in `slot`, in place. */
  message(slot: number): Buffer {
    return this.bytes(slot, this.view.getUint32(this.offset(slot) + 4, true));
  }

  release(slot: number): void {
    this.view.setUint32(this.offset(slot), FREE, true);
    this.freeSlots.push(slot);
  }

  /** Unmaps the journal; removes it too when it holds nothing (a clean stop). */
  close(): void {
    if (this.segment.isClosed) return;
    const empty = this.held === 0;
    this.segment.close();
    if (empty) ShmSegment.unlink(this.name);
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

  private bytes(slot: number, length: number): Buffer {
    const start = this.offset(slot) + SLOT_HEADER;
    return this.data.subarray(start, start + length);
  }
}

function align8(value: number): number {
  return (value + 7) & ~7;
}

function size(slots: number, slotBytes: number): number {
  return HEADER + slots * align8(SLOT_HEADER + slotBytes);
}

/** The held messages of a journal of any geometry, copied out in delivery order. */
function readHeld(data: Buffer): { messages: Buffer[]; invalid: number } {
  if (data.length < HEADER || data.readUInt32LE(0) !== MAGIC) return { messages: [], invalid: 0 };
  const slots = data.readUInt32LE(4);
  const slotBytes = data.readUInt32LE(8);
  const stride = align8(SLOT_HEADER + slotBytes);
  const held: Array<{ sequence: number; message: Buffer }> = [];
  let invalid = 0;
  for (let slot = 0; slot < slots && HEADER + (slot + 1) * stride <= data.length; slot++) {
    const offset = HEADER + slot * stride;
    if (data.readUInt32LE(offset) !== HELD) continue;
    const length = data.readUInt32LE(offset + 4);
    if (length > slotBytes) {
      invalid++;
      continue;
    }
    held.push({ sequence: data.readDoubleLE(offset + 8), message: Buffer.from(data.subarray(offset + SLOT_HEADER, offset + SLOT_HEADER + length)) });
  }
  held.sort((a, b) => a.sequence - b.sequence);
  return { messages: held.map((entry) => entry.message), invalid };
}
