import { isSharedMemory } from '@hostmesh/native';
import type { Connection } from '../transports/contract/transport';

/**
 * A caller's large Buffer results over shared memory are views of the service's pool, not
 * copies (one copy per direction: the service's into the pool). Each holds a run of the pool
 * until `releaseBuffer(result)` gives it back, or the garbage collector finds the view
 * unreachable. A caller that keeps many unreleased gets copies instead (`MAX_LEASED_BYTES`
 * per connection), so forgotten results never wedge the pool.
 */
interface Lease {
  connection: Connection;
  token: number;
  owner: LeaseCounter;
  bytes: number;
}

/** What one client holds: bounded, so the service's pool keeps room for everyone else's calls. */
export class LeaseCounter {
  bytes = 0;
}

/** Half of the default pool: past it, results are copied out. */
export const MAX_LEASED_BYTES = 32 << 20;

const leases = new WeakMap<Uint8Array, Lease>();
const collected = new FinalizationRegistry<Lease>(end);

function end(lease: Lease): void {
  lease.owner.bytes -= lease.bytes;
  lease.connection.release?.(lease.token);
}

/** Whether a result of `bytes` may be handed out as a view: its caller holds little enough (or nothing: one result of any size). */
export function mayLease(owner: LeaseCounter, bytes: number): boolean {
  return owner.bytes === 0 || owner.bytes + bytes <= MAX_LEASED_BYTES;
}

/** Ties the pooled bytes held by `token` to the life of `view`. */
export function lease(view: Uint8Array, connection: Connection, token: number, owner: LeaseCounter): void {
  const held: Lease = { connection, token, owner, bytes: view.byteLength };
  owner.bytes += held.bytes;
  leases.set(view, held);
  collected.register(view, held, held);
}

/**
 * Gives a Buffer result that is a view of shared memory back to its pool now, instead of
 * when it is garbage-collected. The view must not be read afterwards: the service reuses
 * its bytes. True when `view` was such a result (and is now released).
 */
export function releaseBuffer(view: Uint8Array): boolean {
  const held = leases.get(view);
  if (held === undefined) return false;
  leases.delete(view);
  collected.unregister(held);
  end(held);
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
