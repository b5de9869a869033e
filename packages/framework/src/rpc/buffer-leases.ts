import { endLease, isSharedMemory } from '@hostmesh/native';

/**
 * A caller's large results over shared memory are read in place: a Buffer result (and every
 * Buffer inside an object result) is a view of the pool, not a copy: of the service's half
 * (one copy per direction: the service's into the pool), or of the caller's own, where the
 * service answered in place with (part of) its pooled argument (no copy). The views of one
 * result share an ArrayBuffer of their own (a lease on the pool): the pool's run comes back
 * when the caller ends it with `releaseBuffer(view)` (every view of that result then reads
 * as empty, never as other bytes), or when the garbage collector finds no view of it left
 * (subarrays count). A caller whose connection keeps a quarter of the pool gets copies
 * instead (`Connection.mayKeep`), so forgotten results never fill the pool. A large result
 * that came through the ring instead (no pool, or a full one) is a lease too, of memory of
 * the caller's own kept for the next such frame: released and collected the same way.
 */

/** Whether a decoded result holds a view of shared memory (msgpack trees: no cycles). */
export function holdsSharedViews(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (ArrayBuffer.isView(value)) return isSharedMemory(value);
  if (Array.isArray(value)) return value.some(holdsSharedViews);
  if (value instanceof Map) {
    for (const [key, item] of value) if (holdsSharedViews(key) || holdsSharedViews(item)) return true;
    return false;
  }
  if (value instanceof Set) {
    for (const item of value) if (holdsSharedViews(item)) return true;
    return false;
  }
  for (const key in value) if (holdsSharedViews((value as Record<string, unknown>)[key])) return true;
  return false;
}

/**
 * Gives a result's shared memory back now, instead of when it is garbage-collected: every
 * view of that result (the Buffer, its subarrays, the other Buffers of the same object result)
 * becomes empty at once, so none can show the bytes the service writes there next. True when
 * `view` was such a view, not yet released.
 */
export function releaseBuffer(view: ArrayBufferView): boolean {
  return endLease(view);
}

/**
 * A Buffer that stays valid: a copy of `view` when it lies in shared memory (a handler's
 * pooled argument, valid only until the handler settles, or a leased result), `view` itself
 * otherwise.
 */
export function retainBuffer<T extends Uint8Array>(view: T): T | Buffer {
  return isSharedMemory(view) ? Buffer.from(view) : view;
}
