import { statSync } from 'node:fs';
import { uniqueName } from './__fixtures__/child-process';
import { PosixError } from './posix-error';
import { isSharedMemory, ShmSegment } from './shm-segment';
import { POOL_SLOT_BYTES, ShmPool } from './shm-pool';

/** Both ends of one pool in this process: the creator's and the opener's mapping of the same segment. */
describe('ShmPool', () => {
  const pools: ShmPool[] = [];
  afterAll(() => {
    for (const pool of pools) {
      pool.close();
      pool.unlink();
    }
  });
  const pair = (slots = 8) => {
    const creator = ShmPool.create(uniqueName('pool'), slots * POOL_SLOT_BYTES);
    const opener = ShmPool.open(creator.name);
    pools.push(creator, opener);
    return { creator, opener };
  };

  it('is a sparse 0600 segment: pages are taken only as runs reach them', () => {
    const { creator } = pair(64);
    const path = `/dev/shm${creator.name}`;
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const before = statSync(path).blocks * 512;
    expect(before).toBeLessThan(64 * 1024);
    expect(creator.outbound.claim(3 * POOL_SLOT_BYTES)).toBe(0);
    expect(statSync(path).blocks * 512 - before).toBeGreaterThanOrEqual(3 * POOL_SLOT_BYTES);
  });

  it('carries bytes from one end to the other in place, and a released run is taken again first', () => {
    const { creator, opener } = pair();
    const length = 2 * POOL_SLOT_BYTES + 10;
    const offset = creator.outbound.claim(length);
    expect(offset).toBe(0);
    creator.outbound.bytes.fill(0x5a, creator.outbound.base + offset, creator.outbound.base + offset + length);
    const start = opener.inbound.locate(offset, length);
    const seen = opener.inbound.bytes.subarray(start, start + length);
    expect(isSharedMemory(seen)).toBe(true);
    expect(seen.every((byte) => byte === 0x5a)).toBe(true);
    // In use: the next claim goes after it (3 slots).
    expect(creator.outbound.claim(10)).toBe(3 * POOL_SLOT_BYTES);
    expect(creator.outbound.outstanding).toBe(2);
    opener.inbound.release(offset);
    expect(creator.outbound.claim(POOL_SLOT_BYTES)).toBe(0);
  });

  it('says no (-1) when no free run is long enough, and yes again once the receiver hands runs back', () => {
    const { creator, opener } = pair(4);
    const a = creator.outbound.claim(2 * POOL_SLOT_BYTES);
    const b = creator.outbound.claim(2 * POOL_SLOT_BYTES);
    expect([a, b]).toEqual([0, 2 * POOL_SLOT_BYTES]);
    expect(creator.outbound.claim(1)).toBe(-1);
    expect(creator.outbound.claim(5 * POOL_SLOT_BYTES)).toBe(-1);
    opener.inbound.release(b);
    expect(creator.outbound.claim(POOL_SLOT_BYTES + 1)).toBe(b);
  });

  it('keeps the two directions apart', () => {
    const { creator, opener } = pair(2);
    const fromCreator = creator.outbound.claim(100);
    const fromOpener = opener.outbound.claim(100);
    creator.outbound.bytes[creator.outbound.base + fromCreator] = 1;
    opener.outbound.bytes[opener.outbound.base + fromOpener] = 2;
    expect(opener.inbound.bytes[opener.inbound.locate(fromCreator, 100)]).toBe(1);
    expect(creator.inbound.bytes[creator.inbound.locate(fromOpener, 100)]).toBe(2);
  });

  it('refuses a payload announced outside the half it must lie in', () => {
    const { opener } = pair(2);
    expect(opener.inbound.locate(2 * POOL_SLOT_BYTES - 10, 11)).toBe(-1);
    expect(opener.inbound.locate(-1, 10)).toBe(-1);
    expect(opener.inbound.locate(0, 0)).toBe(-1);
    expect(opener.inbound.locate(POOL_SLOT_BYTES, POOL_SLOT_BYTES)).toBeGreaterThan(0);
  });

  it('keeps a lent run out of the receiver’s hands until it is sent, and takes it back when dropped', () => {
    const { creator, opener } = pair(2);
    const offset = creator.outbound.claim(POOL_SLOT_BYTES);
    creator.outbound.lend(offset);
    const view = creator.outbound.bytes.subarray(creator.outbound.base + offset + 256, creator.outbound.base + offset + 512);
    expect(creator.outbound.loanOf(view)).toBe(offset);
    expect(creator.outbound.loanOf(Buffer.alloc(10))).toBe(-1);
    // A release the receiver was never owed changes nothing while the run is lent.
    opener.inbound.release(offset);
    expect(creator.outbound.claim(2 * POOL_SLOT_BYTES)).toBe(-1);
    creator.outbound.unclaim(offset);
    expect(creator.outbound.loanOf(view)).toBe(-1);
    expect(creator.outbound.claim(2 * POOL_SLOT_BYTES)).toBe(0);
  });

  it('refuses to open a segment that is not a pool', () => {
    const name = uniqueName('notpool');
    const segment = ShmSegment.create(name, 4096);
    try {
      expect(() => ShmPool.open(name)).toThrow(PosixError);
      expect(() => ShmPool.open(name)).toThrow(/not a hostmesh pool/);
    } finally {
      segment.close();
      segment.unlink();
    }
  });

  it('refuses sizes that are not whole slots', () => {
    expect(() => ShmPool.create(uniqueName('odd'), POOL_SLOT_BYTES + 1)).toThrow(RangeError);
  });
});
