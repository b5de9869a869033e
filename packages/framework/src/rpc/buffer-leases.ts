import { isSharedMemory } from '@hostmesh/native';
import type { Connection } from '../transports/contract/transport';

/**
 * A caller's large results over shared memory are read in place: a Buffer result (and every
 * Buffer inside an object result) is a view of the service's pool, not a copy (one copy per
 * direction: the service's into the pool). The pool's run is held until every such view of
 * the result is released with `releaseBuffer(view)` or found unreachable by the garbage
 * collector. A caller that holds too much gets copies instead (`MAX_LEASED_BYTES` per
 * connection), so forgotten results never wedge the pool.
 */
interface Lease {
  connection: Connection;
  token: number;
  owner: LeaseCounter;
  bytes: number;
  /** Views of it not yet released or collected. */
  views: number;
}

/** One view's share of a lease: what the registry holds for it, and its key to unregister. */
interface Share {
  lease: Lease;
}

/** What one client holds: bounded, so the service's pool keeps room for everyone else's calls. */
export class LeaseCounter {
  bytes = 0;
}

/** Half of the default pool: past it, results are copied out. */
export const MAX_LEASED_BYTES = 32 << 20;

const shares = new WeakMap<ArrayBufferView, Share>();
const collected = new FinalizationRegistry<Share>(drop);

function drop(share: Share): void {
  const lease = share.lease;
  if (--lease.views > 0) return;
  lease.owner.bytes -= lease.bytes;
  lease.connection.release?.(lease.token);
}

/** Whether a result of `bytes` may be handed out as views: its caller holds little enough (or nothing: one result of any size). */
export function mayLease(owner: LeaseCounter, bytes: number): boolean {
  return owner.bytes === 0 || owner.bytes + bytes <= MAX_LEASED_BYTES;
}

/**
 * Ties the pooled frame held by `token` (`bytes` long) to the lives of the views of it in
 * `result`; with none, it is given back at once. Returns how many views hold it.
 */
export function lease(result: unknown, connection: Connection, token: number, owner: LeaseCounter, bytes: number): number {
  const views: ArrayBufferView[] = [];
  sharedViews(result, views);
  if (views.length === 0) {
    connection.release?.(token);
    return 0;
  }
  const held: Lease = { connection, token, owner, bytes, views: views.length };
  owner.bytes += bytes;
  for (const view of views) {
    const share: Share = { lease: held };
    shares.set(view, share);
    collected.register(view, share, share);
  }
  return views.length;
}

/** The views of shared memory in a decoded result (msgpack trees: no cycles). */
function sharedViews(value: unknown, into: ArrayBufferView[]): void {
  if (typeof value !== 'object' || value === null) return;
  if (ArrayBuffer.isView(value)) {
    if (isSharedMemory(value)) into.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) sharedViews(item, into);
  } else if (value instanceof Map) {
    for (const [key, item] of value) {
      sharedViews(key, into);
      sharedViews(item, into);
    }
  } else if (value instanceof Set) {
    for (const item of value) sharedViews(item, into);
  } else {
    for (const key in value) sharedViews((value as Record<string, unknown>)[key], into);
  }
}

/**
 * Gives a result's view of shared memory back now, instead of when it is garbage-collected;
 * the pool's run returns once every view of that result is released. The view must not be
 * read afterwards: the service reuses its bytes. True when `view` was such a view (and is now
 * released).
 */
export function releaseBuffer(view: ArrayBufferView): boolean {
  const share = shares.get(view);
  if (share === undefined) return false;
  shares.delete(view);
  collected.unregister(share);
  drop(share);
  return true;
}

/**
 * A Buffer that stays valid: a copy of `view` when it lies in shared memory (a handler's
 * pooled argument, valid only until the handler settles, or a leased result), `view` itself
 * otherwise.
 */
export function retainBuffer<T extends Uint8Array>(view: T): T | Buffer {
  return isSharedMemory(view) ? Buffer.from(view) : view;
}
