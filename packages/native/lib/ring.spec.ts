import { randomBytes } from 'node:crypto';
import { startFixture, uniqueName } from './__fixtures__/child-process';
import { Ring, RING_CONTROL_BYTES, RingCorruptedError } from './ring';
import { ShmSegment } from './shm-segment';
import { SpinPolicy } from './spin-policy';

/** A producer and a consumer view of one ring in ordinary memory (the logic is the same). */
function ringPair(capacity: number): { producer: Ring; consumer: Ring; words: Int32Array; bytes: Buffer } {
  const bytes = Buffer.alloc(RING_CONTROL_BYTES + capacity);
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  return {
    producer: new Ring(bytes, words, 0, RING_CONTROL_BYTES, capacity),
    consumer: new Ring(bytes, words, 0, RING_CONTROL_BYTES, capacity),
    words,
    bytes,
  };
}

function drain(consumer: Ring): Buffer[] {
  const out: Buffer[] = [];
  consumer.read((buffer, start, end) => out.push(Buffer.from(buffer.subarray(start, end))));
  return out;
}

describe('Ring', () => {
  it('carries messages of random sizes through many wrap-arounds, every byte intact and in order', () => {
    const { producer, consumer } = ringPair(4096);
    let sent = 0;
    const expected: Buffer[] = [];
    const received: Buffer[] = [];
    while (sent < 20_000) {
      const message = randomBytes(Math.floor(Math.random() * (producer.maxMessageBytes + 1)));
      if (producer.write(message)) {
        expected.push(message);
        sent++;
      } else {
        received.push(...drain(consumer));
      }
    }
    received.push(...drain(consumer));
    expect(received.length).toBe(expected.length);
    expect(received.every((message, i) => message.equals(expected[i]!))).toBe(true);
  });

  it('refuses a message when full, without writing anything, and accepts it once room is released', () => {
    const { producer, consumer } = ringPair(256);
    const message = Buffer.alloc(100, 1);
    expect(producer.write(message)).toBe(true);
    expect(producer.write(message)).toBe(true);
    expect(producer.write(message)).toBe(false);
    expect(drain(consumer)).toHaveLength(2);
    expect(producer.write(message)).toBe(true);
  });

  it('writes a header and a body as one message', () => {
    const { producer, consumer } = ringPair(256);
    producer.write(Buffer.from('head:'), Buffer.from('body'));
    expect(drain(consumer).map(String)).toEqual(['head:body']);
  });

  it('refuses a message larger than half the ring', () => {
    const { producer } = ringPair(256);
    expect(() => producer.write(Buffer.alloc(producer.maxMessageBytes + 1))).toThrow(RangeError);
  });

  it('releases a message whose handler throws, so one bad message cannot wedge the ring', () => {
    const { producer, consumer } = ringPair(256);
    producer.write(Buffer.from('bad'));
    producer.write(Buffer.from('good'));
    expect(() =>
      consumer.read(() => {
        throw new Error('handler failed');
      }, 1),
    ).toThrow('handler failed');
    expect(drain(consumer).map(String)).toEqual(['good']);
  });

  it('parks only when empty after the fence, and tells the producer to ring', () => {
    const { producer, consumer } = ringPair(256);
    expect(consumer.park()).toBe(true);
    producer.write(Buffer.from('x'));
    expect(producer.consumerParked()).toBe(true);
    consumer.unpark();
    expect(producer.consumerParked()).toBe(false);
    expect(consumer.park()).toBe(false); // a message is there: stay awake
  });

  it('keeps messages written unpublished out of sight until publish(), then shows them all, in order', () => {
    const { producer, consumer } = ringPair(256);
    expect(producer.publish()).toBe(false); // nothing to publish
    producer.write(Buffer.from('one'), undefined, false);
    producer.write(Buffer.from('two'), Buffer.from('+'), false);
    expect(consumer.hasMessages()).toBe(false);
    expect(consumer.park()).toBe(true); // the consumer may sleep: it is rung after publish()
    expect(producer.publish()).toBe(true);
    expect(producer.claimWake()).toBe(true);
    expect(drain(consumer).map(String)).toEqual(['one', 'two+']);
    expect(producer.publish()).toBe(false);
    // A published write carries the unpublished ones before it: nothing is left to publish.
    producer.write(Buffer.from('three'), undefined, false);
    producer.write(Buffer.from('four'));
    expect(producer.publish()).toBe(false);
    expect(drain(consumer).map(String)).toEqual(['three', 'four']);
  });

  it('lets one producer claim the wake-up of a parked consumer: the messages after it do not ring again until it parks anew', () => {
    const { producer, consumer } = ringPair(256);
    expect(producer.claimWake()).toBe(false); // awake: nobody to ring
    expect(consumer.park()).toBe(true);
    producer.write(Buffer.from('a'));
    expect(producer.claimWake()).toBe(true);
    producer.write(Buffer.from('b'));
    expect(producer.claimWake()).toBe(false); // the doorbell is on its way already
    expect(drain(consumer).map(String)).toEqual(['a', 'b']);
    expect(consumer.park()).toBe(true);
    producer.write(Buffer.from('c'));
    expect(producer.claimWake()).toBe(true);
  });

  describe('given a hostile producer', () => {
    it('reports a head claiming more than the capacity', () => {
      const { consumer, words } = ringPair(256);
      Atomics.store(words, 0, 100_000);
      expect(() => drain(consumer)).toThrow(RingCorruptedError);
    });

    it('reports a length that runs past the ring, without reading out of bounds', () => {
      const { producer, consumer, words } = ringPair(256);
      producer.write(Buffer.from('ok'));
      words[RING_CONTROL_BYTES >> 2] = 250; // the length word of the first message
      expect(() => drain(consumer)).toThrow(/message length 250 at offset 0 does not fit the ring/);
    });

    it('survives any garbage in the data area: only messages or RingCorruptedError', () => {
      for (let trial = 0; trial < 2000; trial++) {
        const { consumer, words, bytes } = ringPair(256);
        randomBytes(256).copy(bytes, RING_CONTROL_BYTES);
        Atomics.store(words, 0, Math.floor(Math.random() * 300));
        try {
          consumer.read((buffer, start, end) => {
            expect(start).toBeGreaterThanOrEqual(RING_CONTROL_BYTES);
            expect(end).toBeLessThanOrEqual(buffer.length);
          });
        } catch (error) {
          expect(error).toBeInstanceOf(RingCorruptedError);
        }
      }
    });
  });

  it('relies on fences that hold across processes: Atomics stores are never reordered after loads', async () => {
    const name = uniqueName('litmus');
    const segment = ShmSegment.create(name, 4096);
    try {
      const b = startFixture('litmus', ['B', name, '0']);
      const a = startFixture('litmus', ['A', name, '100000']);
      await expect(a.waitFor(/^reordered \d+ of 100000$/, 60_000)).resolves.toBe('reordered 0 of 100000');
      await Promise.all([a.exited, b.exited]);
    } finally {
      segment.close();
      segment.unlink();
    }
  }, 70_000);
});

describe('SpinPolicy', () => {
  it('spins for answers that come within the window, and stops spinning for ones that do not', () => {
    const policy = new SpinPolicy({ maxWindowNs: 50_000, minWindowNs: 1_000, yieldEveryNs: 2_000 });
    expect(policy.windowNs).toBe(50_000);
    for (let i = 0; i < 8; i++) policy.miss();
    expect(policy.windowNs).toBe(0);
    policy.woke(20_000); // a doorbell 20 µs after parking: a 40 µs spin would have caught it
    expect(policy.windowNs).toBe(40_000);
    policy.hit();
    expect(policy.windowNs).toBe(50_000);
    for (let i = 0; i < 8; i++) policy.miss();
    policy.woke(10_000_000); // a late wake-up says nothing about spinning
    expect(policy.windowNs).toBe(0);
  });
});
