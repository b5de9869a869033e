import { endLease, frameBlocks, frameLease, isSharedMemory, keepLease } from './shm-segment';

const MiB = 1 << 20;

// A frame assembled from several ring messages takes its memory from blocks kept for the next
// frame: fresh pages cost a fault each. A fresh block reads as zeros, a reused one as what its
// last lease left there. The cache is the process's, and leases that other test files in this
// worker dropped hand their blocks back when collected, from a setImmediate after the
// collection (Node-API finalizers): so each test empties the cache first and runs without
// yielding, and nothing else can reach the cache meanwhile.
const emptied = () => expect(frameBlocks(true)).toBe(0);

describe('frame leases', () => {
  it('is a lease: ended at once (every view empties), kept or ended again without harm', () => {
    emptied();
    const lease = frameLease(MiB);
    expect(lease.length).toBe(MiB);
    expect(isSharedMemory(lease)).toBe(true);
    keepLease(lease);
    const part = lease.subarray(10, 20);
    expect(endLease(lease)).toBe(true);
    expect(lease.length).toBe(0);
    expect(part.length).toBe(0);
    expect(endLease(lease)).toBe(false);
    expect(frameBlocks()).toBe(MiB);
    expect(() => frameLease(0)).toThrow(/frame lease length out of range/);
  });

  it('hands a block on when its lease ends, never while it is held', () => {
    emptied();
    const first = frameLease(3 * MiB).fill(0x5a);
    const second = frameLease(3 * MiB);
    expect([second[0], second[3 * MiB - 1]]).toEqual([0, 0]);
    endLease(first);
    expect(frameBlocks()).toBe(3 * MiB);
    const third = frameLease(3 * MiB);
    expect([third[0], third[3 * MiB - 1]]).toEqual([0x5a, 0x5a]);
    expect(frameBlocks()).toBe(0);
    endLease(second);
    endLease(third);
    expect(frameBlocks()).toBe(6 * MiB);
  });

  it('does not serve a small frame from a much larger block', () => {
    emptied();
    endLease(frameLease(12 * MiB).fill(0x33));
    const small = frameLease(MiB);
    expect(small[0]).toBe(0);
    expect(frameBlocks()).toBe(12 * MiB);
    endLease(small);
  });

  it('keeps at most 64 MiB and a slot of blocks: the largest make room for the one just used', () => {
    emptied();
    const [a, b] = [frameLease(40 * MiB).fill(1), frameLease(40 * MiB).fill(2)];
    endLease(a);
    endLease(b);
    // b's block is kept; a's went to make room for it.
    expect(frameBlocks()).toBe(40 * MiB);
    const [c, d] = [frameLease(40 * MiB), frameLease(40 * MiB)];
    expect([c[0], d[0]]).toEqual([2, 0]);
    endLease(c);
    endLease(d);
    expect(frameBlocks()).toBe(40 * MiB);
    // One larger than the bound is never kept.
    endLease(frameLease(65 * MiB));
    expect(frameBlocks()).toBe(40 * MiB);
  });

  it('gives the blocks back to the system on trim', () => {
    emptied();
    endLease(frameLease(2 * MiB));
    expect(frameBlocks()).toBe(2 * MiB);
    expect(frameBlocks(true)).toBe(0);
    const fresh = frameLease(2 * MiB);
    expect(fresh[0]).toBe(0);
    endLease(fresh);
  });
});
