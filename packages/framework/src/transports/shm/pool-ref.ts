import { FRAME_MAGIC, HEADER_BYTES, PROTOCOL_VERSION } from '../../protocol/frame';

/**
 * A ring message that says "the next frame waits in the pool": a frame header of kind 0xf6
 * (POOL_REF, only ever inside an shm ring) with a body of two u32 LE, the frame's offset in
 * the sender's half of the pool and its length. docs/protocol.md describes it. Its kind is
 * none a frame may have (checkHeader refuses it), so no frame can be taken for one.
 */
export const POOL_REF_KIND = 0xf6;
export const POOL_REF_BYTES = HEADER_BYTES + 8;
/** Frames from this size on go through the pool when it has room (smaller ones fit the ring, copied once anyway). */
export const POOL_MIN_BYTES = 64 * 1024;

export function writePoolRef(ref: Buffer, offset: number, length: number): void {
  ref[0] = FRAME_MAGIC;
  ref[1] = PROTOCOL_VERSION;
  ref[2] = POOL_REF_KIND;
  ref[3] = 0;
  ref.writeUInt32LE(0, 4);
  ref.writeUInt32LE(0, 8);
  ref.writeUInt32LE(8, 12);
  ref.writeUInt32LE(offset, HEADER_BYTES);
  ref.writeUInt32LE(length, HEADER_BYTES + 4);
}

export function isPoolRef(buffer: Buffer, start: number, end: number): boolean {
  return end - start === POOL_REF_BYTES && buffer[start + 2] === POOL_REF_KIND && buffer[start] === FRAME_MAGIC;
}
