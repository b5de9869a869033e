import { once } from 'node:events';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { uniqueName } from './__fixtures__/child-process';
import { PosixError } from './posix-error';
import { endLease, isSharedMemory, ShmSegment } from './shm-segment';
import { LOAN_HEADROOM, POOL_SLOT_BYTES, ShmPool } from './shm-pool';

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

  it('carries bytes from one end to the other in place; ending the lease empties its views and hands the run back', () => {
    const { creator, opener } = pair();
    const length = 2 * POOL_SLOT_BYTES + 10;
    const offset = creator.outbound.claim(length);
    expect(offset).toBe(0);
    // Across slots: the copy is split at their edges.
    creator.outbound.write(offset, Buffer.alloc(100, 0x5a), Buffer.alloc(length - 100, 0x5a));
    const seen = opener.inbound.lease(offset, length)!;
    const part = seen.subarray(100, 200);
    expect(isSharedMemory(seen)).toBe(true);
    expect(seen.every((byte) => byte === 0x5a)).toBe(true);
    // In use: the next claim goes after it (3 slots).
    expect(creator.outbound.claim(10)).toBe(3 * POOL_SLOT_BYTES);
    expect(opener.leasedBytes).toBe(length);
    expect(endLease(part)).toBe(true);
    expect([seen.length, part.length]).toEqual([0, 0]);
    expect(endLease(seen)).toBe(false);
    expect(opener.leasedBytes).toBe(0);
    expect(creator.outbound.claim(POOL_SLOT_BYTES)).toBe(0);
  });

  it('says no (-1) when no free run is long enough, and yes again once the receiver hands runs back', () => {
    const { creator, opener } = pair(4);
    const a = creator.outbound.claim(2 * POOL_SLOT_BYTES);
    const b = creator.outbound.claim(2 * POOL_SLOT_BYTES);
    expect([a, b]).toEqual([0, 2 * POOL_SLOT_BYTES]);
    expect(creator.outbound.claim(1)).toBe(-1);
    expect(creator.outbound.claim(5 * POOL_SLOT_BYTES)).toBe(-1);
    endLease(opener.inbound.lease(b, 100)!);
    expect(creator.outbound.claim(POOL_SLOT_BYTES + 1)).toBe(b);
  });

  it('lets the receiver answer in the run it was sent: the run is the sender’s again only when its lease on the answer ends', () => {
    const { creator, opener } = pair();
    const length = 3 * POOL_SLOT_BYTES;
    const offset = creator.outbound.claim(length);
    creator.outbound.write(offset, Buffer.alloc(length, 0x33));
    const request = opener.inbound.lease(offset, length)!;
    // Not a run the sender has lent to anybody: nothing to answer in.
    expect(creator.outbound.returned(offset, length)).toBeUndefined();
    expect(opener.inbound.giveBack(offset)).toBe(true);
    expect(opener.inbound.giveBack(offset)).toBe(false);
    request.fill(0x44, 16);
    // The receiver's lease ends (its views empty) but no longer frees the run.
    endLease(request);
    expect(creator.outbound.claim(POOL_SLOT_BYTES)).toBe(length);
    // Inside the run only, wherever in it.
    expect(creator.outbound.returned(offset + 16, length)).toBeUndefined();
    expect(creator.outbound.returned(POOL_SLOT_BYTES * 5, 100)).toBeUndefined();
    const answer = creator.outbound.returned(offset + POOL_SLOT_BYTES + 100, POOL_SLOT_BYTES)!;
    expect(answer.length).toBe(POOL_SLOT_BYTES);
    // One answer per run: a second reference to it would outlive the first one's hand-back.
    expect(creator.outbound.returned(offset, 100)).toBeUndefined();
    expect(answer.every((byte) => byte === 0x44)).toBe(true);
    // Held: the next claim of 3 slots goes past both runs.
    expect(creator.outbound.claim(length)).toBe(length + POOL_SLOT_BYTES);
    expect(endLease(answer)).toBe(true);
    expect(creator.outbound.claim(length)).toBe(offset);
  });

  it('answers nothing in place for a run that was not sent (lent, or free) or outside the half', () => {
    const { creator, opener } = pair();
    const loan = creator.outbound.lend(POOL_SLOT_BYTES)!;
    expect(opener.inbound.giveBack(0)).toBe(false);
    expect(opener.inbound.giveBack(4 * POOL_SLOT_BYTES)).toBe(false);
    expect(opener.inbound.giveBack(-1)).toBe(false);
    expect(opener.inbound.giveBack(8 * POOL_SLOT_BYTES)).toBe(false);
    expect(creator.outbound.returned(LOAN_HEADROOM, 100)).toBeUndefined();
    expect(creator.outbound.returned(0, 9 * POOL_SLOT_BYTES)).toBeUndefined();
    expect(loan.length).toBe(POOL_SLOT_BYTES);
  });

  it('keeps the two directions apart', () => {
    const { creator, opener } = pair(2);
    const fromCreator = creator.outbound.claim(100);
    const fromOpener = opener.outbound.claim(100);
    creator.outbound.write(fromCreator, Buffer.from([1]));
    opener.outbound.write(fromOpener, Buffer.from([2]));
    expect(opener.inbound.lease(fromCreator, 100)![0]).toBe(1);
    expect(creator.inbound.lease(fromOpener, 100)![0]).toBe(2);
  });

  it('refuses a payload announced outside the half it must lie in', () => {
    const { opener } = pair(2);
    expect(opener.inbound.lease(2 * POOL_SLOT_BYTES - 10, 11)).toBeUndefined();
    expect(opener.inbound.lease(-1, 10)).toBeUndefined();
    expect(opener.inbound.lease(0, 0)).toBeUndefined();
    expect(opener.inbound.lease(POOL_SLOT_BYTES, POOL_SLOT_BYTES)?.length).toBe(POOL_SLOT_BYTES);
  });

  it('keeps a loan out of the receiver’s hands until it is sent, and takes it back when dropped', () => {
    const { creator, opener } = pair(2);
    const loan = creator.outbound.lend(1000)!;
    expect(loan.length).toBe(1000);
    const part = loan.subarray(10, 20);
    expect(creator.outbound.loanOf(part)).toEqual({ run: 0, at: creator.outbound.base + LOAN_HEADROOM + 10 });
    expect(creator.outbound.loanOf(Buffer.alloc(10))).toBeUndefined();
    expect(creator.outbound.lent).toBe(1);
    // A release the receiver was never owed (a stale or hostile one) changes nothing while it is lent.
    endLease(opener.inbound.lease(0, 100)!);
    expect(creator.outbound.claim(2 * POOL_SLOT_BYTES)).toBe(-1);
    creator.outbound.unlend(part);
    expect(loan.length).toBe(0);
    expect(creator.outbound.lent).toBe(0);
    expect(creator.outbound.loanOf(part)).toBeUndefined();
    expect(creator.outbound.claim(2 * POOL_SLOT_BYTES)).toBe(0);
  });

  it('never lets an old loan take back a newer one of the same run', () => {
    const { creator, opener } = pair(2);
    const first = creator.outbound.lend(1000)!;
    expect(creator.outbound.sendLoan(first)).toBe(true);
    expect(creator.outbound.sendLoan(first)).toBe(false);
    // The receiver reads it and hands the run back; the same run is lent again.
    endLease(opener.inbound.lease(LOAN_HEADROOM - 16, 1016)!);
    const second = creator.outbound.lend(1000)!;
    expect(creator.outbound.loanOf(second)?.run).toBe(0);
    // The first loan's views ending now (as when collected) must not free the second.
    endLease(first);
    expect(creator.outbound.loanOf(second)?.run).toBe(0);
    expect(creator.outbound.claim(POOL_SLOT_BYTES)).toBe(POOL_SLOT_BYTES);
    expect(creator.outbound.claim(POOL_SLOT_BYTES)).toBe(-1);
  });

  it('exposes only its control bytes to V8 (which counts an external Buffer as allocated memory), however large', () => {
    const { creator, opener } = pair(2048);
    expect(opener.slots).toBe(2048);
    // 128 MiB per direction, reached through views of the parts in use.
    expect((creator as unknown as { segment: ShmSegment }).segment.buffer.length).toBeLessThan(64 * 1024);
    expect((opener as unknown as { segment: ShmSegment }).segment.buffer.length).toBeLessThan(512 * 1024);
    const offset = creator.outbound.claim(3 * POOL_SLOT_BYTES);
    creator.outbound.write(offset + POOL_SLOT_BYTES - 1, Buffer.from([7, 8]));
    const seen = opener.inbound.lease(offset, 3 * POOL_SLOT_BYTES)!;
    expect([seen[POOL_SLOT_BYTES - 1], seen[POOL_SLOT_BYTES]]).toEqual([7, 8]);
  });

  it('ends a lease through any view of it (a DataView too), once', () => {
    const { creator, opener } = pair(2);
    const offset = creator.outbound.claim(100);
    const seen = opener.inbound.lease(offset, 100)!;
    expect(endLease(new DataView(seen.buffer))).toBe(true);
    expect(seen.length).toBe(0);
    expect(endLease(seen)).toBe(false);
  });

  it("keeps leases of different threads apart: ending one never ends another thread's", async () => {
    const { creator, opener } = pair(4);
    const mine = creator.outbound.claim(100);
    const theirs = creator.outbound.claim(100);
    // A worker thread leases the second run (its module state, lease counters included, is its own).
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const { ShmPool } = require(workerData.native);
       const pool = ShmPool.open(workerData.name);
       const view = pool.inbound.lease(workerData.offset, 100);
       parentPort.postMessage('leased');
       parentPort.once('message', () => { parentPort.postMessage(view.length); });`,
      { eval: true, workerData: { native: join(__dirname, '..', 'dist', 'index.js'), name: creator.name, offset: theirs } },
    );
    try {
      await once(worker, 'message');
      endLease(opener.inbound.lease(mine, 100)!);
      // Only the run this thread released comes back: the worker's is still in use, and its view still reads.
      expect(creator.outbound.claim(2 * POOL_SLOT_BYTES)).toBe(2 * POOL_SLOT_BYTES);
      expect(creator.outbound.claim(POOL_SLOT_BYTES)).toBe(0);
      expect(creator.outbound.claim(POOL_SLOT_BYTES)).toBe(-1);
      worker.postMessage('length?');
      const [length] = (await once(worker, 'message')) as [number];
      expect(length).toBe(100);
    } finally {
      await worker.terminate();
    }
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

  it('refuses sizes that are not whole slots, or over 2 GiB', () => {
    expect(() => ShmPool.create(uniqueName('odd'), POOL_SLOT_BYTES + 1)).toThrow(RangeError);
    expect(() => ShmPool.create(uniqueName('big'), 2 ** 32)).toThrow(RangeError);
  });
});
