import { markAsUntransferable } from 'node:worker_threads';
import { native } from './native';
import { PosixError } from './posix-error';
import { requirePosixName, userPrefix } from './names';
import { ownProcessStartTime } from './process-info';
import { requireInteger } from './validate';

export interface SegmentOptions {
  /**
   * Bytes after the header that `buffer` and `data` cover (all by default). V8 counts an
   * external Buffer's length as memory allocated, so a large segment reached in parts (a pool)
   * exposes only its control bytes; `slice` and `lease` reach the rest.
   */
  expose?: number;
}

/** Bytes at the start of every segment: magic, version, size, owner pid and start time. */
export const SEGMENT_HEADER_BYTES = 64;
const MAX_SEGMENT_BYTES = 2 ** 40;

export interface SegmentOwner {
  pid: number;
  /** Process start time in clock ticks since boot: with the pid, names one process. */
  startTime: number;
  createdAt: Date;
}

/**
 * A POSIX shared memory segment (0600, in /dev/shm), mapped once and exposed as Buffers
 * over the mapping itself: what one process writes, the other reads, with no copy.
 */
export class ShmSegment {
  private closed = false;

  private constructor(
    readonly name: string,
    /** The whole mapping, header included. */
    readonly buffer: Buffer,
  ) {
    mappings.add(buffer.buffer);
  }

  /**
   * Creates `name` (which must not exist) with `size` usable bytes after the header.
   * `ownerless` segments are handed over to another process (e.g. a large event waiting in
   * a queue): they carry owner pid 0 and are not reclaimed when their creator dies.
   * `sparse` segments get no pages up front: reserve() each range before touching it.
   */
  static create(name: string, size: number, options: SegmentOptions & { ownerless?: boolean; sparse?: boolean } = {}): ShmSegment {
    requirePosixName(name);
    requireInteger(size, 'size', 1, MAX_SEGMENT_BYTES);
    const [pid, start] = options.ownerless ? [0, 0] : [process.pid, ownProcessStartTime()];
    const expose = options.expose === undefined ? undefined : SEGMENT_HEADER_BYTES + Math.min(options.expose, size);
    return new ShmSegment(name, native.shmCreate(name, SEGMENT_HEADER_BYTES + size, pid, start, !options.sparse, expose));
  }

  static open(name: string, options: SegmentOptions = {}): ShmSegment {
    requirePosixName(name);
    const expose = options.expose === undefined ? undefined : SEGMENT_HEADER_BYTES + options.expose;
    return new ShmSegment(name, native.shmOpen(name, expose));
  }

  static unlink(name: string): void {
    native.shmUnlink(requirePosixName(name));
  }

  /** Removes `name` if it is there; false when it was gone already (someone else removed it). */
  static unlinkIfExists(name: string): boolean {
    try {
      ShmSegment.unlink(name);
      return true;
    } catch (error) {
      if (PosixError.is(error, 'ENOENT')) return false;
      throw error;
    }
  }

  /** Reads who created a segment without mapping it. */
  static ownerOf(name: string): SegmentOwner {
    return parseOwner(native.shmReadHeader(requirePosixName(name)));
  }

  /** Whether `name` (a /dev/shm entry without the leading '/') is one of this user's objects. */
  static isOwnObjectName(entry: string): boolean {
    return entry.startsWith(userPrefix());
  }

  /**
   * Reserves the pages of data[offset, offset + length) of a sparse segment: a full /dev/shm
   * is an ENOSPC PosixError here, not a SIGBUS when the memory is first written.
   */
  reserve(offset: number, length: number): void {
    native.shmReserve(this.name, SEGMENT_HEADER_BYTES + offset, length);
  }

  /**
   * A Buffer over data[offset, offset + length) with an ArrayBuffer of its own (a lease): it
   * keeps the mapping alive however long it lives, and when it is detached (`endLease`) or
   * collected, the u32 at data[wordOffset] goes from `expected` to 0.
   */
  lease(offset: number, length: number, wordOffset: number, expected: number): Buffer {
    const [bytes, id] = native.shmLease(this.buffer, SEGMENT_HEADER_BYTES + offset, length, SEGMENT_HEADER_BYTES + wordOffset, expected);
    // Posted to a worker, it is copied: a transfer would move the bytes past the lease's end.
    markAsUntransferable(bytes);
    mappings.add(bytes);
    leases.set(bytes, id);
    return Buffer.from(bytes);
  }

  /** Bytes held by this segment's leases that are neither ended nor collected. */
  get leasedBytes(): number {
    return this.closed ? 0 : native.shmLeasedBytes(this.buffer);
  }

  /** The usable bytes, after the header. */
  get data(): Buffer {
    return this.buffer.subarray(SEGMENT_HEADER_BYTES);
  }

  /** The usable bytes, after the header (`data` may cover fewer: see `expose`). */
  get size(): number {
    return native.shmMappedBytes(this.buffer) - SEGMENT_HEADER_BYTES;
  }

  /**
   * A Buffer over data[offset, offset + length) with an ArrayBuffer of its own, keeping the
   * mapping alive: how the part past `expose` is reached.
   */
  slice(offset: number, length: number): Buffer {
    return Buffer.from(native.shmSlice(this.buffer, SEGMENT_HEADER_BYTES + offset, length));
  }

  get owner(): SegmentOwner {
    return parseOwner(this.buffer);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Unmaps the segment: every Buffer over it becomes empty at once, so no code can touch
   * the memory afterwards. The name stays until unlink().
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    native.shmDetach(this.buffer);
  }

  unlink(): void {
    ShmSegment.unlink(this.name);
  }
}

const mappings = new WeakSet<ArrayBufferLike>();
const leases = new WeakMap<ArrayBufferLike, number>();

/**
 * Ends the lease `view` belongs to (ShmSegment.lease): every view of it becomes empty at once,
 * and its word goes back to 0. False when `view` is not a lease, or one already ended.
 */
export function endLease(view: ArrayBufferView): boolean {
  const id = leases.get(view.buffer);
  if (id === undefined || view.buffer.byteLength === 0) return false;
  native.shmEndLease(id, view.buffer as ArrayBuffer);
  return true;
}

/**
 * A lease of `length` bytes of this process's own memory, from blocks kept for reuse: for a
 * frame assembled from several ring messages, whose pages fresh memory would fault in anew
 * each time. Ended (`endLease`), kept (`keepLease`) and collected like a pool lease, after
 * which its block serves the next frame. Its bytes are not zeroed (what the block's last
 * lease left, like `Buffer.allocUnsafe`): the receiver writes the whole frame before anyone
 * reads it.
 */
export function frameLease(length: number): Buffer {
  const [bytes, id] = native.shmFrameLease(length);
  markAsUntransferable(bytes);
  mappings.add(bytes);
  leases.set(bytes, id);
  return Buffer.from(bytes);
}

/**
 * Bytes of this process's frame blocks kept for reuse (at most 64 MiB and a slot). `trim`
 * hands them back to the system first: for a process that knows no large frame comes for a
 * while, at the cost of page faults for the next ones.
 */
export function frameBlocks(trim = false): number {
  return native.shmFrameBlocks(trim);
}

/**
 * Says the application keeps the lease `view` belongs to (a result handed to it, released
 * or collected later): V8 then counts its bytes as external memory if it outlives the next
 * lease this thread takes, so dropped results drive collections as copies would (a lease later).
 */
export function keepLease(view: ArrayBufferView): void {
  const id = leases.get(view.buffer);
  if (id !== undefined && view.buffer.byteLength !== 0) native.shmKeepLease(id);
}

/** Whether `view` is a lease: of a shared-memory mapping (a peer may write it), or of a frame block (handed back later). */
export function isSharedMemory(view: ArrayBufferView): boolean {
  return mappings.has(view.buffer);
}

function parseOwner(header: Buffer): SegmentOwner {
  return {
    pid: header.readUInt32LE(24),
    startTime: Number(header.readBigUInt64LE(32)),
    createdAt: new Date(Number(header.readBigUInt64LE(40))),
  };
}
