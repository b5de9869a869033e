import { native } from './native';
import { PosixError } from './posix-error';
import { requirePosixName, userPrefix } from './names';
import { ownProcessStartTime } from './process-info';
import { requireInteger } from './validate';

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
  static create(name: string, size: number, options: { ownerless?: boolean; sparse?: boolean } = {}): ShmSegment {
    requirePosixName(name);
    requireInteger(size, 'size', 1, MAX_SEGMENT_BYTES);
    const [pid, start] = options.ownerless ? [0, 0] : [process.pid, ownProcessStartTime()];
    return new ShmSegment(name, native.shmCreate(name, SEGMENT_HEADER_BYTES + size, pid, start, !options.sparse));
  }

  static open(name: string): ShmSegment {
    return new ShmSegment(requirePosixName(name), native.shmOpen(name));
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

  /** The usable bytes, after the header. */
  get data(): Buffer {
    return this.buffer.subarray(SEGMENT_HEADER_BYTES);
  }

  get size(): number {
    return this.buffer.length - SEGMENT_HEADER_BYTES;
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

/** Whether `view` lies in a shared-memory mapping (a view a peer may write, or that is handed back later). */
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
