import { LARGE_FRAME_BYTES, type FrameCodec } from '../protocol/codec';
import type { FrameKind } from '../protocol/frame';
import type { Connection } from '../transports/contract/transport';

/**
 * Encodes a msgpack frame, straight into memory the connection lends (shm's pool) when the
 * codec's last frame was large: a large object (a Buffer inside) is then packed once, in
 * place, rather than into a fresh buffer and copied again. Otherwise, or when it does not
 * fit, the frame is the codec's own, as from `encode`.
 */
export function encodeLent(
  codec: FrameCodec,
  connection: Connection,
  kind: FrameKind,
  id: number,
  route: number,
  body: unknown,
  what?: string,
  metadata: Buffer | null = null,
): Buffer {
  const hint = codec.largeHint;
  const loan = hint === 0 || connection.lend === undefined ? undefined : connection.lend(hint + (hint >>> 2) + 4096);
  if (loan === undefined) return codec.encode(kind, id, route, body, what, metadata);
  let frame: Buffer;
  try {
    frame = codec.encodeInto(loan, kind, id, route, body, what, metadata);
  } catch (error) {
    connection.unlend!(loan);
    throw error;
  }
  if (frame.buffer !== loan.buffer || frame.byteOffset !== loan.byteOffset) {
    connection.unlend!(loan);
  } else if (frame.length < LARGE_FRAME_BYTES) {
    // It came out small after all: an ordinary frame (through the ring), not a run of the pool held by its reader.
    frame = Buffer.from(frame);
    connection.unlend!(loan);
  }
  return frame;
}
