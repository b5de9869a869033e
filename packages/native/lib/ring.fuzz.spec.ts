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

// read() under a hostile producer is fuzzed by tools/fuzz (target ring-reader), which npm test
// runs too (tools/fuzz/src/targets.spec.ts): here, what only a writer and a live channel show.

describe('Ring under a hostile consumer (fast-check, real shm segment)', () => {
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

  it("write(): a hostile consumer's tail never makes the producer write outside the data area and head word", () => {
    const buffer = segment.buffer;
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: CAPACITY / 2 - 12 }),
        (head, tail, length) => {
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
        },
      ),
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
