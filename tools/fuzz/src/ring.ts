import fc from 'fast-check';
import { Ring, RING_CONTROL_BYTES, RingCorruptedError, SEGMENT_HEADER_BYTES, ShmSegment } from '@hostmesh/native';
import { check, type FuzzTarget } from './target';

const CAPACITY = 256;
const CONTROL = SEGMENT_HEADER_BYTES;
const DATA = CONTROL + RING_CONTROL_BYTES;
const TAIL_WORD = CONTROL + 64;
/** Bytes after the data area: a reader that strays past the ring lands here. */
const GUARD = 256;
const WRAP = -1;
// Every message is at least 8 bytes and a wrap ends the lap: more steps than this is a loop.
const MAX_STEPS = CAPACITY / 8 + 2;

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const lengthWord = fc.oneof(
  fc.integer({ min: 0, max: 64 }),
  fc.constantFrom(WRAP, CAPACITY / 2 - 12, CAPACITY / 2 - 11, CAPACITY - 4, CAPACITY, 0x7fffffff, -2),
  int32,
);

interface HostileRing {
  head: number;
  tail: number;
  data: Uint8Array;
  words: Array<[number, number]>;
  limit: number;
  layout: [number[], number] | null;
}

/** Writes messages of `lengths` as a producer would, from `tail`; returns the honest head. */
function layOut(words: Int32Array, tail: number, lengths: number[]): number {
  let head = tail;
  for (const length of lengths) {
    const need = (4 + length + 7) & ~7;
    if (((head - tail) >>> 0) + need > CAPACITY) break;
    let index = head & (CAPACITY - 1);
    if (index + need > CAPACITY) {
      words[(DATA + index) >> 2] = WRAP;
      head = (head + CAPACITY - index) | 0;
      index = 0;
    }
    words[(DATA + index) >> 2] = length;
    head = (head + need) | 0;
  }
  return head;
}

/**
 * The consumer side of a ring in a real shm segment, after a peer wrote what it liked into
 * the control block and data area. The segment lives as long as the run (`close()`).
 */
export function ringTarget(name: string): FuzzTarget<HostileRing> & { close(): void } {
  const segment = ShmSegment.create(name, RING_CONTROL_BYTES + CAPACITY + GUARD);
  const buffer = segment.buffer;
  const words = new Int32Array(buffer.buffer, buffer.byteOffset, buffer.length >> 2);
  const before = Buffer.alloc(buffer.length);
  let steps = 0;
  const stop = () => ++steps > MAX_STEPS;
  const handler = (bytes: Buffer, start: number, end: number) => {
    check(bytes === buffer, 'handler given another buffer');
    check(start >= DATA + 4 && start <= end && end <= DATA + CAPACITY, `message [${start}, ${end}) outside the data area [${DATA}, ${DATA + CAPACITY})`);
  };
  return {
    name: 'ring-reader',
    typed: [RingCorruptedError],
    arbitrary: fc.record({
      head: fc.oneof(fc.integer({ min: 0, max: 2 * CAPACITY }), int32),
      tail: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: CAPACITY }), int32),
      data: fc.uint8Array({ minLength: CAPACITY, maxLength: CAPACITY }),
      words: fc.array(fc.tuple(fc.integer({ min: 0, max: CAPACITY / 4 - 1 }), lengthWord), { maxLength: 12 }),
      limit: fc.oneof(fc.constant(Number.MAX_SAFE_INTEGER), fc.integer({ min: 0, max: 8 })),
      layout: fc.option(fc.tuple(fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 10 }), fc.integer({ min: -16, max: 16 }))),
    }),
    run({ head, tail, data, words: slots, limit, layout }) {
      buffer.fill(0xee, SEGMENT_HEADER_BYTES);
      Atomics.store(words, TAIL_WORD >> 2, tail);
      const ring = new Ring(buffer, words, CONTROL, DATA, CAPACITY);
      buffer.set(data, DATA);
      if (layout !== null) head = (layOut(words, tail, layout[0]) + layout[1]) | 0;
      for (const [slot, word] of slots) words[(DATA >> 2) + slot] = word;
      Atomics.store(words, CONTROL >> 2, head);
      buffer.copy(before);
      steps = 0;
      try {
        ring.read(handler, limit, stop);
      } finally {
        check(steps <= MAX_STEPS, `read() took ${steps} steps over a ${CAPACITY}-byte ring`);
        // The reader may write its tail word and nothing else.
        check(buffer.subarray(0, TAIL_WORD).equals(before.subarray(0, TAIL_WORD)), 'the reader wrote before its tail word');
        check(buffer.subarray(TAIL_WORD + 4).equals(before.subarray(TAIL_WORD + 4)), 'the reader wrote after its tail word');
      }
    },
    close() {
      segment.close();
      segment.unlink();
    },
  };
}
