import { Packr, Unpackr } from 'msgpackr';
import { FrameError } from '../core/errors/errors';
import { FrameFlag, frameFlags, HEADER_BYTES } from './frame';

/**
 * Key/value entries a frame carries beside its body (flag Metadata): the remaining deadline,
 * W3C trace context, baggage and user headers. Keys are strings; values strings or numbers.
 */
export type CallMetadata = Readonly<Record<string, string | number>>;

/** Reserved keys; everything else is a user header. */
export const METADATA_KEYS = {
  /** Milliseconds the caller still waits, when it sent the frame (an unsigned integer). */
  deadline: 'deadline',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  baggage: 'baggage',
  /** On a request with flag StreamArgument: the index of the streamed argument. */
  stream: 'stream',
} as const;

/** What a peer may put in one metadata section; more is a FrameError, like any malformed frame. */
export const METADATA_LIMITS = { bytes: 8192, entries: 64, keyLength: 128, valueLength: 4096 } as const;

/** The section's own length prefix: a u32, little-endian like the header. */
export const METADATA_PREFIX_BYTES = 4;

const plainOptions = () => ({ moreTypes: false, useRecords: false, mapsAsObjects: true });
const packr = new Packr(plainOptions());
const unpackr = new Unpackr(plainOptions());
const DEADLINE_KEY = Buffer.from(METADATA_KEYS.deadline);
const DEADLINE_ONLY_BYTES = 1 + 1 + DEADLINE_KEY.length + 5;
const range = { start: 0, end: 0 };

/**
 * Encodes a metadata section's map: plain msgpack, which any msgpack library reads. The common
 * case, a deadline and nothing else, is written into `scratch` without packing or allocating.
 */
export function encodeMetadata(deadlineMs: number | undefined, entries: CallMetadata | undefined, scratch: Buffer): Buffer {
  if (entries === undefined && deadlineMs !== undefined) {
    // fixmap of 1, fixstr "deadline", uint32 (msgpack is big-endian).
    scratch[0] = 0x81;
    scratch[1] = 0xa0 | DEADLINE_KEY.length;
    DEADLINE_KEY.copy(scratch, 2);
    scratch[10] = 0xce;
    scratch.writeUInt32BE(clampDeadline(deadlineMs), 11);
    return scratch.subarray(0, DEADLINE_ONLY_BYTES);
  }
  if (entries !== undefined && Object.hasOwn(entries, METADATA_KEYS.deadline)) {
    throw new FrameError(`'${METADATA_KEYS.deadline}' is reserved in call metadata: give a timeout with $with({ timeoutMs }) instead`);
  }
  const map: Record<string, string | number> = { ...entries };
  if (deadlineMs !== undefined) map[METADATA_KEYS.deadline] = clampDeadline(deadlineMs);
  checkEntries(map, 'outgoing');
  const packed = packr.pack(map) as Buffer;
  if (packed.length > METADATA_LIMITS.bytes) {
    throw new FrameError(`call metadata of ${packed.length} bytes exceeds the limit of ${METADATA_LIMITS.bytes} bytes`);
  }
  return packed;
}

/** A scratch buffer for `encodeMetadata`'s deadline-only case. */
export function metadataScratch(): Buffer {
  return Buffer.allocUnsafe(DEADLINE_ONLY_BYTES);
}

function clampDeadline(ms: number): number {
  return ms <= 0 ? 0 : ms >= 0xffff_ffff ? 0xffff_ffff : Math.ceil(ms);
}

/**
 * Where the body proper starts in the frame at buffer[start, end): after the metadata section
 * when the frame has one. Throws FrameError when the section does not fit the frame or the limit.
 */
export function bodyStart(buffer: Buffer, start: number, end: number): number {
  if ((frameFlags(buffer, start) & FrameFlag.Metadata) === 0) return start + HEADER_BYTES;
  const at = start + HEADER_BYTES;
  if (end - at < METADATA_PREFIX_BYTES) throw new FrameError('frame announces metadata but its body is shorter than the length prefix');
  const length = buffer.readUInt32LE(at);
  if (length > METADATA_LIMITS.bytes) {
    throw new FrameError(`frame metadata of ${length} bytes exceeds the limit of ${METADATA_LIMITS.bytes} bytes`);
  }
  const after = at + METADATA_PREFIX_BYTES + length;
  if (after > end) throw new FrameError(`frame metadata of ${length} bytes runs past the end of the frame`);
  return after;
}

/** The metadata of the frame at buffer[start, end), or undefined when it has none. Throws FrameError when malformed. */
export function readMetadata(buffer: Buffer, start: number, end: number): CallMetadata | undefined {
  if ((frameFlags(buffer, start) & FrameFlag.Metadata) === 0) return undefined;
  range.end = bodyStart(buffer, start, end);
  range.start = start + HEADER_BYTES + METADATA_PREFIX_BYTES;
  let map: unknown;
  try {
    map = unpackr.unpack(buffer, range);
  } catch (error) {
    throw new FrameError(`undecodable frame metadata: ${(error as Error).message}`, { cause: error });
  }
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new FrameError('frame metadata is not a map');
  checkEntries(map as Record<string, unknown>, 'incoming');
  return map as CallMetadata;
}

function checkEntries(map: Record<string, unknown>, direction: string): void {
  let count = 0;
  for (const key in map) {
    if (++count > METADATA_LIMITS.entries) throw new FrameError(`${direction} call metadata has more than ${METADATA_LIMITS.entries} entries`);
    const value = map[key];
    if (key.length > METADATA_LIMITS.keyLength)
      throw new FrameError(`${direction} call metadata key of ${key.length} characters (limit ${METADATA_LIMITS.keyLength})`);
    if (typeof value === 'string') {
      if (value.length > METADATA_LIMITS.valueLength) {
        throw new FrameError(`${direction} call metadata '${key}' has ${value.length} characters (limit ${METADATA_LIMITS.valueLength})`);
      }
    } else if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new FrameError(`${direction} call metadata '${key}' is neither a string nor a finite number`);
    }
  }
}
