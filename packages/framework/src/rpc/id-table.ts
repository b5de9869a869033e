/**
 * Values by a uint32 id: a direct-mapped array at `id & mask`, with a Map only for the ids
 * that collide there. Callers number their calls in sequence, so collisions are rare and
 * the Map stays empty; a client's own calls (PendingCalls) never collide at all.
 *
 * Not a Map for every call, for the garbage collector's sake: a Map with an entry set and
 * deleted per call rehashes into new tables, and a dead one promoted to the old generation
 * keeps the newer ones, and what they hold, alive through scavenges (see PendingCalls).
 */
export class IdTable<T> {
  private keys = new Uint32Array(64);
  private values_: Array<T | undefined> = new Array(64).fill(undefined);
  private mask = 63;
  private inSlots = 0;
  private overflow: Map<number, T> | null = null;

  get size(): number {
    return this.inSlots + (this.overflow?.size ?? 0);
  }

  /** Whether `id`'s slot is free: a value set under it now lands in the array, not the overflow. */
  slotFree(id: number): boolean {
    return this.values_[id & this.mask] === undefined;
  }

  get(id: number): T | undefined {
    const slot = id & this.mask;
    const value = this.values_[slot];
    if (value !== undefined && this.keys[slot] === id >>> 0) return value;
    return this.overflow?.get(id >>> 0);
  }

  set(id: number, value: T): void {
    const key = id >>> 0;
    const slot = key & this.mask;
    const here = this.values_[slot];
    if (here !== undefined && this.keys[slot] !== key) {
      (this.overflow ??= new Map()).set(key, value);
      return;
    }
    this.values_[slot] = value;
    this.keys[slot] = key;
    if (here !== undefined) return;
    // Set while its slot was taken, it may be in the overflow: one place only.
    this.overflow?.delete(key);
    if (++this.inSlots * 2 > this.keys.length) this.grow();
  }

  delete(id: number): boolean {
    const key = id >>> 0;
    const slot = key & this.mask;
    if (this.values_[slot] !== undefined && this.keys[slot] === key) {
      this.values_[slot] = undefined;
      this.inSlots--;
      return true;
    }
    return this.overflow?.delete(key) ?? false;
  }

  /** A snapshot, safe to iterate while deleting. Off the hot path. */
  values(): T[] {
    const out: T[] = [];
    for (const value of this.values_) if (value !== undefined) out.push(value);
    if (this.overflow !== null) out.push(...this.overflow.values());
    return out;
  }

  private grow(): void {
    const keys = this.keys;
    const values = this.values_;
    const overflow = this.overflow;
    this.keys = new Uint32Array(keys.length * 2);
    this.values_ = new Array(keys.length * 2).fill(undefined);
    this.mask = keys.length * 2 - 1;
    this.inSlots = 0;
    this.overflow = null;
    for (let i = 0; i < keys.length; i++) if (values[i] !== undefined) this.set(keys[i]!, values[i]!);
    if (overflow !== null) for (const [key, value] of overflow) this.set(key, value);
  }
}
