import { native } from './native';

/**
 * Gives the whole pages inside `buffer` back to the kernel now (madvise MADV_DONTNEED); its
 * contents become zeros. For a large buffer being thrown away, such as a frame whose peer
 * left halfway: the garbage collector may not free it for a long time, and until then its
 * pages would count in the process's resident memory. Returns the bytes given back.
 */
export function discardPages(buffer: Buffer): number {
  if (!Buffer.isBuffer(buffer)) throw new TypeError(`buffer must be a Buffer, got ${typeof buffer}`);
  return native.discardPages(buffer);
}
