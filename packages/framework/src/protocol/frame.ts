import { FrameError } from '../core/errors/errors';

/**
 * Every transport carries the same frames: a 16-byte little-endian header and a body.
 *
 *   0  u8   magic (0xA7)        4  u32  correlation id
 *   1  u8   protocol version    8  u32  route id (FNV-1a of the route name)
 *   2  u8   kind               12  u32  body length
 *   3  u8   flags
 */
export const FRAME_MAGIC = 0xa7;
export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 16;
/** Correlation id of an error frame about the whole connection (calls count from 1). */
export const CONNECTION_ERROR_ID = 0;

export const enum FrameKind {
  Request = 1,
  Response = 2,
  Error = 3,
  Event = 4,
  Cancel = 5,
  /**
   * Items of a stream: a msgpack array of items, or one Buffer item as a raw body. From the
   * service, the results of call `id`; from the caller, its streamed argument. An empty array
   * opens a result stream (the caller learns the call streams before any item exists).
   */
  StreamData = 6,
  /** The sender's stream of call `id` has no more items (from the service: the call succeeded). */
  StreamEnd = 7,
  /** Flow control: body `[items, bytes]`, more the receiver of stream `id` lets its sender send. */
  Credit = 8,
}
const LAST_KIND = FrameKind.Credit;

export const enum FrameFlag {
  /** The receiver must drop its per-connection decoder state before decoding this body. */
  CodecReset = 0x01,
  /** The body was encoded without per-connection state (datagram transports). */
  Stateless = 0x02,
  /** The body is raw bytes (a Buffer argument or result), not msgpack: no codec, no copy. */
  RawBody = 0x04,
  /**
   * The body names a shared-memory segment that holds the real frame: how a frame larger
   * than a queue message travels. Body: stateless msgpack `{ segment, length }`.
   */
  ShmReference = 0x08,
  /**
   * The body is plain msgpack, as any msgpack library writes and reads it: no record
   * structures, no msgpackr extensions, maps are objects. A request with it gets its reply
   * (and every later one on the connection) the same way: how clients in other languages talk.
   */
  Plain = 0x10,
  /**
   * The body starts with a metadata section: a u32 length, then that many bytes of a plain
   * msgpack map (deadline, trace context, headers; see metadata.ts). The body proper follows.
   */
  Metadata = 0x20,
  /**
   * On a request: one argument is a stream, sent after the request as StreamData frames; its
   * place in the argument list holds nil, and the metadata key `stream` gives its index.
   */
  StreamArgument = 0x40,
}
const KNOWN_FLAGS =
  FrameFlag.CodecReset | FrameFlag.Stateless | FrameFlag.RawBody | FrameFlag.ShmReference | FrameFlag.Plain | FrameFlag.Metadata | FrameFlag.StreamArgument;

export function writeHeader(frame: Buffer, kind: FrameKind, flags: number, id: number, route: number, bodyLength: number): void {
  frame[0] = FRAME_MAGIC;
  frame[1] = PROTOCOL_VERSION;
  frame[2] = kind;
  frame[3] = flags;
  // Byte stores: Buffer#writeUInt32LE validates its arguments on every call.
  frame[4] = id;
  frame[5] = id >>> 8;
  frame[6] = id >>> 16;
  frame[7] = id >>> 24;
  frame[8] = route;
  frame[9] = route >>> 8;
  frame[10] = route >>> 16;
  frame[11] = route >>> 24;
  frame[12] = bodyLength;
  frame[13] = bodyLength >>> 8;
  frame[14] = bodyLength >>> 16;
  frame[15] = bodyLength >>> 24;
}

/**
 * Checks the header at `offset` and returns the body length. Throws FrameError naming
 * what is wrong, so a hostile or confused peer is dropped rather than trusted.
 */
export function checkHeader(buffer: Buffer, offset: number, maxBodyBytes: number): number {
  if (buffer[offset] !== FRAME_MAGIC) {
    throw new FrameError(`bad frame magic 0x${buffer[offset]!.toString(16)} (expected 0xa7): the peer does not speak hostmesh`);
  }
  const version = buffer[offset + 1]!;
  if (version !== PROTOCOL_VERSION) {
    throw new FrameError(`unsupported protocol version ${version} (this side speaks ${PROTOCOL_VERSION})`);
  }
  const kind = buffer[offset + 2]!;
  if (kind < FrameKind.Request || kind > LAST_KIND) throw new FrameError(`unknown frame kind ${kind}`);
  const flags = buffer[offset + 3]!;
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new FrameError(`unknown frame flags 0x${flags.toString(16)}`);
  const length = buffer.readUInt32LE(offset + 12);
  if (length > maxBodyBytes) {
    throw new FrameError(`frame body of ${length} bytes exceeds the limit of ${maxBodyBytes} bytes`, {
      data: { size: length, limit: maxBodyBytes },
    });
  }
  return length;
}

// Frames are read in place, as (buffer, offset of the header): a transport hands out the
// memory it received into (a socket chunk, a shared-memory ring) without slicing it.
export function frameKind(buffer: Buffer, at: number): FrameKind {
  return buffer[at + 2] as FrameKind;
}
export function frameFlags(buffer: Buffer, at: number): number {
  return buffer[at + 3]!;
}
export function frameId(buffer: Buffer, at: number): number {
  return buffer.readUInt32LE(at + 4);
}
export function frameRoute(buffer: Buffer, at: number): number {
  return buffer.readUInt32LE(at + 8);
}
export function frameBodyLength(buffer: Buffer, at: number): number {
  return buffer.readUInt32LE(at + 12);
}
