import { IdTable } from './id-table';

/**
 * The calls a client waits on, by frame id. The client hands out the ids itself, skipping
 * any whose slot in the IdTable is taken, so its calls never collide there and never reach
 * the table's overflow Map.
 *
 * Not a Map, for the garbage collector's sake. A Map with entries added and deleted at
 * hundreds of thousands a second rehashes its table again and again, and each old table
 * keeps a pointer to its successor. Once one of them is promoted, dead, to the old
 * generation, it keeps every newer table alive through each scavenge, and the calls those
 * tables held with them: measured, every scavenge then copied and promoted 4–5 MB and took
 * 15–20 ms, and 64 calls in flight over shm ran at a third of their rate.
 */
export class PendingCalls<T extends { id: number }> {
  private readonly table = new IdTable<T>();
  private next = 1;

  get size(): number {
    return this.table.size;
  }

  /**
   * A free id (never 0, wrapping at 2^32) whose slot is free too, for the next `set`. The
   * table keeps at most half its slots full, so the search is short.
   */
  allocateId(): number {
    let id = this.next;
    while (!this.table.slotFree(id)) id = id === 0xffff_ffff ? 1 : id + 1;
    this.next = id === 0xffff_ffff ? 1 : id + 1;
    return id;
  }

  get(id: number): T | undefined {
    return this.table.get(id);
  }

  /** `call.id` comes from allocateId, with no set in between. */
  set(call: T): void {
    this.table.set(call.id, call);
  }

  delete(id: number): boolean {
    return this.table.delete(id);
  }

  /**
   * A snapshot, oldest call first (as a Map iterates), safe to iterate while settling (which
   * deletes). Off the hot path.
   */
  values(): T[] {
    // Ids are handed out in sequence, wrapping: the distance from the next id orders them.
    const next = this.next;
    return this.table.values().sort((a, b) => ((a.id - next) >>> 0) - ((b.id - next) >>> 0));
  }
}
