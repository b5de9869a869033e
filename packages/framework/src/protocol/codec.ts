import { Packr, RESERVE_START_SPACE, Unpackr } from 'msgpackr';
import { FrameError, PayloadTooLargeError } from '../core/errors/errors';
import { FrameFlag, type FrameKind, frameFlags, HEADER_BYTES, writeHeader } from './frame';
import { bodyStart, METADATA_PREFIX_BYTES } from './metadata';

// msgpackr mutates the options object it is given, so every instance gets a fresh one.
const streamOptions = () => ({ sequential: true, moreTypes: true, useRecords: true });
const statelessOptions = () => ({ moreTypes: true, useRecords: false });
// Standard msgpack, for peers that are not msgpackr: maps are objects, undefined is nil.
const plainOptions = () => ({ moreTypes: false, useRecords: false, mapsAsObjects: true, encodeUndefinedAsNil: true });
const WITH_HEADER_SPACE = RESERVE_START_SPACE | HEADER_BYTES;
/** msgpackr reserves at most 255 bytes in front of what it packs. */
const MAX_RESERVED = 0xff;
/** Raw bodies from this size on are sent from the caller's buffer instead of copied. */
const GATHER_THRESHOLD = 16 * 1024;
/** Frames from this size on are "large": the next body is packed straight into transport memory when the caller offers some (`encodeInto`). */
export const LARGE_FRAME_BYTES = 64 * 1024;
/**
 * Lent memory is zero-filled before a frame of this size range is packed into it (see
 * `encodeInto`): from 1 MiB, where glibc stops copying with `rep movsb` on AMD, to 4 MiB;
 * at 8 MiB the memset no longer paid for itself (docs/benchmarks.md, "Object payloads").
 */
const PREFILL_MIN_BYTES = 1 << 20;
const PREFILL_MAX_BYTES = 4 << 20;

/** Buffers (and plain Uint8Arrays) travel as raw bodies; other typed arrays keep their type through msgpack. */
export function isRawBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && (Buffer.isBuffer(value) || value.constructor === Uint8Array);
}

/** Built-in types msgpackr writes in an encoding of their own (an extension, an array, a map), not as their fields. */
const OWN_ENCODINGS: readonly object[] = [
  Array,
  Map,
  Date,
  Set,
  Error,
  RegExp,
  ArrayBuffer,
  Object.getPrototypeOf(Uint8Array) as { prototype: object },
  DataView,
].map((type) => type.prototype as object);

/**
 * Whether msgpackr writes an instance of `cls` exactly as the plain object of its own
 * enumerable fields (`{ ...instance }`), byte for byte: no `toJSON`, `hasOwnProperty` or
 * enumerable field on the prototype chain, and no built-in type with an encoding of its own.
 * Such an instance is cheaper packed as that plain copy: msgpackr tests an instance of any
 * other class against each of its extension types first (~150 ns here, a third of packing a
 * small event), a plain object not at all. An extension registered with msgpackr's
 * `addExtension` for the class would be bypassed: the framework registers none, and offers
 * applications no way to.
 */
export function packsAsOwnFields(cls: { readonly prototype: unknown }): boolean {
  let prototype: unknown = cls.prototype;
  while (prototype !== Object.prototype) {
    if (typeof prototype !== 'object' || prototype === null || OWN_ENCODINGS.includes(prototype)) return false;
    if (Object.hasOwn(prototype, 'toJSON') || Object.hasOwn(prototype, 'hasOwnProperty')) return false;
    // An enumerable field of a prototype: msgpackr's for-in meets it (and writes it, if the instance has a hasOwnProperty field of its own).
    if (Object.keys(prototype).length > 0) return false;
    prototype = Object.getPrototypeOf(prototype);
  }
  return true;
}

/**
 * Encodes and decodes frame bodies for one connection. Over an ordered, reliable
 * channel both ends keep msgpackr record structures (`sequential`): an object shape is
 * described once and referenced by id afterwards (a 5-field object: 27 B instead of 53 B,
 * about half the packing time). Bodies are packed straight after reserved header space,
 * so a frame is one buffer with no copy.
 *
 * If a frame is encoded but never sent (it was too large), the peer never learns the
 * structures it defined; the next frame then carries CodecReset and both ends start afresh.
 */
export class FrameCodec {
  private packr = new Packr(streamOptions());
  private unpackr = new Unpackr(streamOptions());
  private resetPending = false;
  private readonly range = { start: HEADER_BYTES, end: 0 };

  /**
   * `stateless` encodes every frame self-contained (flag Stateless): for transports where a
   * receiver may restart between frames or frames from many senders interleave (queues).
   */
  constructor(
    readonly maxPayloadBytes: number,
    readonly stateless = false,
    /** Encode plain msgpack (flag Plain). A service's codec turns plain once its peer sends a plain frame. */
    public plain = false,
  ) {}

  /**
   * Set by `encodeBytes` when a large body travels as its own buffer after the returned
   * header; the caller writes it right after the header, then clears it.
   */
  tail: Buffer | null = null;

  /**
   * The size of the last large frame this codec packed (0 after a small one): callers whose
   * transport can lend memory offer that much (and a margin) to `encodeInto`, so a peer that
   * sends large objects has them packed in place, not into a fresh buffer and then copied.
   */
  largeHint = 0;

  /**
   * Returns the whole frame, header included; throws PayloadTooLargeError before anything is sent.
   * `metadata` (an encoded map, see metadata.ts) goes in front of the body, with flag Metadata.
   */
  encode(kind: FrameKind, id: number, route: number, body: unknown, what?: string, metadata: Buffer | null = null): Buffer {
    if (this.stateless) return encodeStatelessFrame(kind, id, route, body, this.maxPayloadBytes, what, metadata);
    if (this.plain) return encodePlainFrame(kind, id, route, body, this.maxPayloadBytes, what, metadata);
    let frame: Buffer;
    try {
      frame = this.packr.pack(body, reserveFor(metadata)) as Buffer;
    } catch (error) {
      this.discardState();
      throw error;
    }
    if (metadata !== null) frame = placeMetadata(frame, metadata);
    this.largeHint = frame.length >= LARGE_FRAME_BYTES ? frame.length : 0;
    const bodyLength = frame.length - HEADER_BYTES;
    if (bodyLength > this.maxPayloadBytes) {
      this.discardState();
      throw new PayloadTooLargeError(bodyLength, this.maxPayloadBytes, what);
    }
    let flags = metadata === null ? 0 : FrameFlag.Metadata;
    if (this.resetPending) {
      flags |= FrameFlag.CodecReset;
      this.resetPending = false;
    }
    writeHeader(frame, kind, flags, id, route, bodyLength);
    return frame;
  }

  /**
   * Like `encode`, but packs into `target` (memory the transport lent, e.g. shm's pool) when
   * the frame fits there: the frame is then a view of `target`. When it does not fit, msgpackr
   * packs into memory of its own and the frame is returned all the same; the caller tells the
   * two apart by where the frame lies.
   */
  encodeInto(target: Buffer, kind: FrameKind, id: number, route: number, body: unknown, what?: string, metadata: Buffer | null = null): Buffer {
    if (this.stateless || this.plain) return this.encode(kind, id, route, body, what, metadata);
    const hint = this.largeHint;
    // Lent memory was last read by the peer, on its CPU. msgpackr copies a Buffer field in one
    // memcpy, and from 1 MiB on (where glibc stops using `rep movsb` on AMD: its L2 size) one
    // copy into lines the other CPU holds takes 2–2.7× as long as after a memset, which leaves
    // them in this CPU's cache (`tools/bench/dist/micro/shared-copy.js`). In a harness, the p50
    // of a 1 MiB object echo went from 316–326 µs to 246–251 µs.
    if (hint >= PREFILL_MIN_BYTES && hint <= PREFILL_MAX_BYTES) target.fill(0, 0, Math.min(target.length, hint));
    this.packr.useBuffer(target);
    try {
      return this.encode(kind, id, route, body, what, metadata);
    } finally {
      // msgpackr keeps writing after its last frame: never again into lent memory, which now belongs to the frame.
      this.packr.useBuffer(Buffer.allocUnsafeSlow(8192));
    }
  }

  /**
   * Frames a Buffer as a raw body, skipping msgpack: a small one is copied behind the
   * header, a large one is not copied at all but left in `tail` for a gathered write.
   */
  encodeBytes(kind: FrameKind, id: number, route: number, bytes: Uint8Array, what?: string, metadata: Buffer | null = null): Buffer {
    const prefix = metadata === null ? 0 : METADATA_PREFIX_BYTES + metadata.length;
    const length = prefix + bytes.byteLength;
    if (length > this.maxPayloadBytes) throw new PayloadTooLargeError(length, this.maxPayloadBytes, what);
    let flags = metadata === null ? FrameFlag.RawBody : FrameFlag.RawBody | FrameFlag.Metadata;
    if (this.resetPending) {
      flags |= FrameFlag.CodecReset;
      this.resetPending = false;
    }
    if (bytes.byteLength >= GATHER_THRESHOLD) {
      const head = Buffer.allocUnsafe(HEADER_BYTES + prefix);
      writeHeader(head, kind, flags, id, route, length);
      if (metadata !== null) writeMetadataSection(head, metadata);
      this.tail = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return head;
    }
    const frame = Buffer.allocUnsafe(HEADER_BYTES + length);
    writeHeader(frame, kind, flags, id, route, length);
    if (metadata !== null) writeMetadataSection(frame, metadata);
    frame.set(bytes, HEADER_BYTES + prefix);
    return frame;
  }

  /**
   * Decodes the body of the frame at buffer[start, end); a body that cannot be decoded is a
   * FrameError. msgpackr caches a DataView on the buffer it reads, so reading frames in place
   * (rather than from a slice each) saves an allocation per frame. With `copy`, Buffers in
   * the body are copied out, for frames in memory the transport reuses.
   */
  decode(buffer: Buffer, start: number, end: number, copy = false): unknown {
    const flags = frameFlags(buffer, start);
    // A bad metadata section is a FrameError of its own, with its own message.
    this.range.start = flags & FrameFlag.Metadata ? bodyStart(buffer, start, end) : start + HEADER_BYTES;
    this.range.end = end;
    try {
      if (flags & FrameFlag.RawBody) {
        if (flags & FrameFlag.CodecReset) this.unpackr = new Unpackr(streamOptions());
        if (!copy) return buffer.subarray(this.range.start, end);
        // One allocation, not a view and then its copy.
        const bytes = Buffer.allocUnsafe(end - this.range.start);
        buffer.copy(bytes, 0, this.range.start, end);
        return bytes;
      }
      if (flags & FrameFlag.Plain) this.plain = true;
      else if (flags & FrameFlag.CodecReset && !(flags & FrameFlag.Stateless)) this.unpackr = new Unpackr(streamOptions());
      const unpackr = flags & FrameFlag.Plain ? plainUnpackr : flags & FrameFlag.Stateless ? statelessUnpackr : this.unpackr;
      // Binary values are views of the frame unless the frame's memory is about to be reused.
      (unpackr as unknown as { copyBuffers: boolean }).copyBuffers = copy;
      return unpackr.unpack(buffer, this.range);
    } catch (error) {
      throw new FrameError(`undecodable frame body: ${(error as Error).message}`, { cause: error });
    }
  }

  private discardState(): void {
    this.packr = new Packr(streamOptions());
    this.resetPending = true;
  }
}

const statelessPackr = new Packr(statelessOptions());
const statelessUnpackr = new Unpackr(statelessOptions());

/** Encodes a self-contained frame for transports without ordered per-peer state (datagrams, queues). */
export function encodeStatelessFrame(
  kind: FrameKind,
  id: number,
  route: number,
  body: unknown,
  maxPayloadBytes: number,
  what?: string,
  metadata: Buffer | null = null,
): Buffer {
  let packed = statelessPackr.pack(body, reserveFor(metadata)) as Buffer;
  if (metadata !== null) packed = placeMetadata(packed, metadata);
  const bodyLength = packed.length - HEADER_BYTES;
  if (bodyLength > maxPayloadBytes) throw new PayloadTooLargeError(bodyLength, maxPayloadBytes, what);
  writeHeader(packed, kind, metadata === null ? FrameFlag.Stateless : FrameFlag.Stateless | FrameFlag.Metadata, id, route, bodyLength);
  return packed;
}

const plainPackr = new Packr(plainOptions());
const plainUnpackr = new Unpackr(plainOptions());

/** Encodes a frame whose body is plain msgpack (flag Plain), for peers in other languages. */
function encodePlainFrame(
  kind: FrameKind,
  id: number,
  route: number,
  body: unknown,
  maxPayloadBytes: number,
  what: string | undefined,
  metadata: Buffer | null,
): Buffer {
  let packed = plainPackr.pack(body, reserveFor(metadata)) as Buffer;
  if (metadata !== null) packed = placeMetadata(packed, metadata);
  const bodyLength = packed.length - HEADER_BYTES;
  if (bodyLength > maxPayloadBytes) throw new PayloadTooLargeError(bodyLength, maxPayloadBytes, what);
  writeHeader(packed, kind, metadata === null ? FrameFlag.Plain : FrameFlag.Plain | FrameFlag.Metadata, id, route, bodyLength);
  return packed;
}

/** The space to reserve in front of a packed body: the header, and the metadata section when it fits msgpackr's reserve. */
function reserveFor(metadata: Buffer | null): number {
  if (metadata === null) return WITH_HEADER_SPACE;
  const wanted = HEADER_BYTES + METADATA_PREFIX_BYTES + metadata.length;
  return RESERVE_START_SPACE | (wanted <= MAX_RESERVED ? wanted : HEADER_BYTES);
}

/** Puts the metadata section between header and body: in the reserved space, or by one copy when it was too large for it. */
function placeMetadata(packed: Buffer, metadata: Buffer): Buffer {
  const section = METADATA_PREFIX_BYTES + metadata.length;
  if (HEADER_BYTES + section <= MAX_RESERVED) {
    writeMetadataSection(packed, metadata);
    return packed;
  }
  const frame = Buffer.allocUnsafe(packed.length + section);
  writeMetadataSection(frame, metadata);
  packed.copy(frame, HEADER_BYTES + section, HEADER_BYTES);
  return frame;
}

function writeMetadataSection(frame: Buffer, metadata: Buffer): void {
  frame.writeUInt32LE(metadata.length, HEADER_BYTES);
  metadata.copy(frame, HEADER_BYTES + METADATA_PREFIX_BYTES);
}
