import { MessageChannel } from 'node:worker_threads';
import { once } from 'node:events';
import { startFixture, uniqueName } from './__fixtures__/child-process';
import { endLease, keepLease, ShmSegment } from './shm-segment';

// A lease is a view of memory the pool owns: V8 must not count it as memory the process
// allocated (a lease of 64 MiB would start a full collection each time), yet the leases an
// application keeps and drops must still be collected. These run in child processes with
// --trace-gc: what the collector does is the behaviour under test.
describe('leases and the garbage collector', () => {
  const gcLines = (lines: string[]) => lines.slice(lines.indexOf('measuring') + 1).filter((line) => /Mark-Compact|Mark-sweep|Scavenge/.test(line));

  it('leases ended at once, even of 64 MiB each, start no collection', async () => {
    const child = startFixture('lease-gc', [uniqueName('gc-brief'), 'brief'], { nodeArgs: ['--trace-gc', '--expose-gc'] });
    await child.waitFor('done', 30_000);
    await child.exited;
    expect(gcLines(child.lines).filter((line) => line.includes('Mark-Compact'))).toEqual([]);
  }, 40_000);

  it('leases the application keeps and drops are collected, so their runs come back', async () => {
    const child = startFixture('lease-gc', [uniqueName('gc-kept'), 'kept'], { nodeArgs: ['--trace-gc', '--expose-gc'] });
    const line = await child.waitFor(/^collected \d+ of \d+/, 30_000);
    await child.exited;
    // Kept leases drive full collections as Buffers of their size would (without keepLease: none of 1000).
    expect(gcLines(child.lines).some((gc) => gc.includes('Mark-Compact'))).toBe(true);
    expect(Number(line.split(' ')[1])).toBeGreaterThan(0);
  }, 40_000);

  it('a lease posted to another thread with a transfer list is copied: the lease stays whole and ends as usual', async () => {
    const name = uniqueName('transfer');
    const segment = ShmSegment.create(name, 1 << 20, { sparse: true, expose: 4096 });
    const { port1, port2 } = new MessageChannel();
    try {
      const view = segment.lease(4096, 65536, 0, 0);
      view.fill(7);
      port1.postMessage(view, [view.buffer as ArrayBuffer]);
      const [received] = (await once(port2, 'message')) as [Uint8Array];
      expect(received.length).toBe(65536);
      expect(received[65535]).toBe(7);
      expect(received.buffer).not.toBe(view.buffer);
      // Still the lease: readable, and ended by endLease alone.
      expect(view.length).toBe(65536);
      expect(endLease(view)).toBe(true);
      expect(view.length).toBe(0);
      expect(received.length).toBe(65536);
    } finally {
      port1.close();
      segment.close();
      ShmSegment.unlink(name);
    }
  });

  it('keepLease ignores what is not a live lease', () => {
    const name = uniqueName('keep');
    const segment = ShmSegment.create(name, 1 << 20, { sparse: true, expose: 4096 });
    try {
      const view = segment.lease(4096, 4096, 0, 0);
      endLease(view);
      expect(() => keepLease(view)).not.toThrow();
      expect(() => keepLease(Buffer.alloc(8))).not.toThrow();
    } finally {
      segment.close();
      ShmSegment.unlink(name);
    }
  });
});
