import { FRAME_MAGIC, HEADER_BYTES, PROTOCOL_VERSION } from '../../protocol/frame';

/**
 * A ring message that says "the next frame waits in the pool": a frame header of kind 0xf6
 * (POOL_REF, only ever inside an shm ring) with a body of two u32 LE, the frame's offset in
 * the sender's half of the pool and its length. docs/protocol.md describes it. Its kind is
 * none a frame may have (checkHeader refuses it), so no frame can be taken for one.
 */
export const POOL_REF_KIND = 0xf6;
/**
 * The same, of kind 0xf7 (POOL_RETURN): the frame lies in the receiver's own half, in a run it
 * sent and the peer answered in place (a service echoing a pooled argument: no copy).
 */
export const POOL_RETURN_KIND = 0xf7;
export const POOL_REF_BYTES = HEADER_BYTES + 8;
/** Frames from this size on go through the pool when it has room (smaller ones fit the ring, copied once anyway). */
export const POOL_MIN_BYTES = 64 * 1024;

export function writePoolRef(ref: Buffer, offset: number, length: number, kind = POOL_REF_KIND): void {
  ref[0] = FRAME_MAGIC;
  ref[1] = PROTOCOL_VERSION;
  ref[2] = kind;
  ref[3] = 0;
  ref.writeUInt32LE(0, 4);
  ref.writeUInt32LE(0, 8);
  ref.writeUInt32LE(8, 12);
  ref.writeUInt32LE(offset, HEADER_BYTES);
  ref.writeUInt32LE(length, HEADER_BYTES + 4);
}

/** The kind of the pool reference at buffer[start, end) (POOL_REF_KIND or POOL_RETURN_KIND), or 0 when it is none. */
export function poolRefKind(buffer: Buffer, start: number, end: number): number {
  if (end - start !== POOL_REF_BYTES || buffer[start] !== FRAME_MAGIC) return 0;
  const kind = buffer[start + 2]!;
  return kind === POOL_REF_KIND || kind === POOL_RETURN_KIND ? kind : 0;
}
