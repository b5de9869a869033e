import fc from 'fast-check';
import { startFixture, uniqueName, type Child } from './__fixtures__/child-process';
import { Ring, RING_CONTROL_BYTES, RingCorruptedError } from './ring';
import { ShmChannel } from './shm-channel';
import { SEGMENT_HEADER_BYTES, ShmSegment } from './shm-segment';

const seed = process.env.FUZZ_SEED === undefined ? 0x5eed : Number(process.env.FUZZ_SEED);
const CAPACITY = 256;
const CONTROL = SEGMENT_HEADER_BYTES;
const DATA = CONTROL + RING_CONTROL_BYTES;
const TAIL_WORD = CONTROL + 64;
/** Bytes after the data area: a reader that strays past the ring lands here. */
const GUARD = 256;
const WRAP = -1;

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

/** Length words a hostile producer might write: plausible, boundary, wrap, or anything. */
const lengthWord = fc.oneof(
  fc.integer({ min: 0, max: 64 }),
  fc.constantFrom(WRAP, CAPACITY / 2 - 12, CAPACITY / 2 - 11, CAPACITY - 4, CAPACITY, 0x7fffffff, -2),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
);

/** The control block and data area as a peer could leave them. */
const hostileRing = fc.record({
  head: fc.oneof(fc.integer({ min: 0, max: 2 * CAPACITY }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  tail: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: CAPACITY }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  data: fc.uint8Array({ minLength: CAPACITY, maxLength: CAPACITY }),
  // Length words at random 4-byte slots, on top of the noise, so the walk goes past the first message.
  words: fc.array(fc.tuple(fc.integer({ min: 0, max: CAPACITY / 4 - 1 }), lengthWord), { maxLength: 12 }),
  limit: fc.oneof(fc.constant(Number.MAX_SAFE_INTEGER), fc.integer({ min: 0, max: 8 })),
  // Well-formed messages from the tail on, then a head a little off: noise alone rarely parses.
  layout: fc.option(fc.tuple(fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 10 }), fc.integer({ min: -16, max: 16 }))),
});

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

describe('Ring under a hostile peer (fast-check, real shm segment)', () => {
  let segment: ShmSegment;
  let words: Int32Array;
  beforeAll(() => {
    segment = ShmSegment.create(uniqueName('ringfuzz'), RING_CONTROL_BYTES + CAPACITY + GUARD);
    words = new Int32Array(segment.buffer.buffer, segment.buffer.byteOffset, segment.buffer.length >> 2);
  });
  afterAll(() => {
    segment.close();
    segment.unlink();
  });

  it('read(): garbage control words and data give in-bounds messages or RingCorruptedError, in bounded steps, writing only the tail', () => {
    const buffer = segment.buffer;
    const outcomes = { clean: 0, corrupted: 0, delivered: 0 };
    fc.assert(
      fc.property(hostileRing, ({ head, tail, data, words: slots, limit, layout }) => {
        buffer.fill(0xee, SEGMENT_HEADER_BYTES);
        Atomics.store(words, TAIL_WORD >> 2, tail);
        const ring = new Ring(buffer, words, CONTROL, DATA, CAPACITY);
        buffer.set(data, DATA);
        if (layout !== null) head = (layOut(words, tail, layout[0]) + layout[1]) | 0;
        for (const [slot, word] of slots) words[(DATA >> 2) + slot] = word;
        Atomics.store(words, CONTROL >> 2, head);
        const before = Buffer.from(buffer);
        // Every message is at least 8 bytes and every wrap ends the lap, so a ring of
        // CAPACITY bytes takes at most CAPACITY / 8 + 1 steps: more means a loop.
        let steps = 0;
        const stop = () => ++steps > CAPACITY / 8 + 2;
        try {
          outcomes.delivered += ring.read((bytes, start, end) => {
            check(bytes === buffer, 'handler given another buffer');
            check(start >= DATA + 4 && start <= end && end <= DATA + CAPACITY, `message [${start}, ${end}) outside the data area [${DATA}, ${DATA + CAPACITY})`);
          }, limit, stop);
          outcomes.clean++;
        } catch (error) {
          if (!(error instanceof RingCorruptedError)) throw error;
          outcomes.corrupted++;
        }
        check(steps <= CAPACITY / 8 + 2, `read() took ${steps} steps over a ${CAPACITY}-byte ring`);
        for (let i = 0; i < buffer.length; i++) {
          if (i >= TAIL_WORD && i < TAIL_WORD + 4) continue;
          if (buffer[i] !== before[i]) throw new Error(`the reader wrote byte ${i}`);
        }
      }),
      { numRuns: 20_000, seed },
    );
    expect(outcomes.clean).toBeGreaterThan(1000);
    expect(outcomes.corrupted).toBeGreaterThan(1000);
    expect(outcomes.delivered).toBeGreaterThan(1000);
  });

  it('write(): a hostile consumer\'s tail never makes the producer write outside the data area and head word', () => {
    const buffer = segment.buffer;
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: CAPACITY / 2 - 12 }), (head, tail, length) => {
        buffer.fill(0xee, SEGMENT_HEADER_BYTES);
        Atomics.store(words, CONTROL >> 2, head);
        const producer = new Ring(buffer, words, CONTROL, DATA, CAPACITY);
        Atomics.store(words, TAIL_WORD >> 2, tail);
        const before = Buffer.from(buffer);
        producer.write(Buffer.alloc(length, 0x11));
        for (let i = 0; i < buffer.length; i++) {
          const allowed = (i >= DATA && i < DATA + CAPACITY) || (i >= CONTROL && i < CONTROL + 4);
          if (!allowed && buffer[i] !== before[i]) throw new Error(`the producer wrote byte ${i}`);
        }
      }),
      { numRuns: 5_000, seed },
    );
  });
});

describe('ShmChannel with a hostile process on the other end', () => {
  let child: Child | undefined;
  afterAll(async () => {
    await child?.kill();
  });

  it('reports RingCorruptedError and closes the channel when a child scribbles on its ring; this process lives on', async () => {
    const name = uniqueName('scribble');
    const ranges: Array<[number, number]> = [];
    let reported: Error | undefined;
    let closed = false;
    const channel = ShmChannel.create(name, {
      capacity: 1024,
      onMessage: (_buffer, start, end) => void ranges.push([start, end]),
      onError: (error) => {
        reported = error;
      },
      onClose: () => {
        closed = true;
      },
    });
    try {
      child = startFixture('ring-scribbler', [name, '200']);
      const deadline = Date.now() + 20_000;
      while (!closed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(reported).toBeInstanceOf(RingCorruptedError);
      expect(channel.error).toBe(reported);
      expect(closed).toBe(true);
      expect(channel.isClosed).toBe(true);
      // Garbage that happened to look like messages was still read inside ring 1's data (opener → creator).
      const data = 512 + 1024;
      expect(ranges.every(([start, end]) => start >= data + 4 && start <= end && end <= data + 1024)).toBe(true);
      expect(() => channel.send(Buffer.from('x'))).toThrow(/closed/);
    } finally {
      channel.close();
    }
  }, 30_000);
});
