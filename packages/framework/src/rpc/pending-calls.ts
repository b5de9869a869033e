/**
 * The calls a client waits on, by frame id: a direct-mapped array the client allocates ids
 * for, so an id's slot is `id & mask` and never collides.
 *
 * Not a Map, for the garbage collector's sake. A Map with entries added and deleted at
 * hundreds of thousands a second rehashes its table again and again, and each old table
 * keeps a pointer to its successor. Once one of them is promoted, dead, to the old
 * generation, it keeps every newer table alive through each scavenge, and the calls those
 * tables held with them: measured, every scavenge then copied and promoted 4–5 MB and took
 * 15–20 ms, and 64 calls in flight over shm ran at a third of their rate. This array only
 * grows (to twice the most calls ever pending) and is never replaced on the hot path.
 */
export class PendingCalls<T extends { id: number }> {
  private slots: Array<T | undefined> = new Array(64).fill(undefined);
  private mask = 63;
  private count = 0;
  private next = 1;

  get size(): number {
    return this.count;
  }

  /** A free id (never 0, wrapping at 2^32) whose slot is free too, for the next `set`. */
  allocateId(): number {
    if (this.count * 2 >= this.slots.length) this.grow();
    let id = this.next;
    while (this.slots[id & this.mask] !== undefined) id = id === 0xffff_ffff ? 1 : id + 1;
    this.next = id === 0xffff_ffff ? 1 : id + 1;
    return id;
  }

  get(id: number): T | undefined {
    const call = this.slots[id & this.mask];
    return call !== undefined && call.id === id ? call : undefined;
  }

  /** `call.id` must come from allocateId, with no set in between. */
  set(call: T): void {
    const slot = call.id & this.mask;
    if (this.slots[slot] !== undefined) throw new Error(`pending call slot of id ${call.id} is taken: ids must come from allocateId`);
    this.slots[slot] = call;
    this.count++;
  }

  delete(id: number): boolean {
    const slot = id & this.mask;
    const call = this.slots[slot];
    if (call === undefined || call.id !== id) return false;
    this.slots[slot] = undefined;
    this.count--;
    return true;
  }

  /**
   * A snapshot, oldest call first (as a Map iterates), safe to iterate while settling (which
   * deletes). Off the hot path.
   */
  values(): T[] {
    const out: T[] = [];
    for (const call of this.slots) if (call !== undefined) out.push(call);
    // Ids are handed out in sequence, wrapping: the distance from the next id orders them.
    const next = this.next;
    return out.sort((a, b) => ((a.id - next) >>> 0) - ((b.id - next) >>> 0));
  }

  /** Twice the size: ids in distinct slots modulo n are in distinct slots modulo 2n. */
  private grow(): void {
    const slots: Array<T | undefined> = new Array(this.slots.length * 2).fill(undefined);
    const mask = slots.length - 1;
    for (const call of this.slots) if (call !== undefined) slots[call.id & mask] = call;
    this.slots = slots;
    this.mask = mask;
  }
}
