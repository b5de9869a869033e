import { describe, expect, it } from '@jest/globals';
import type { Client } from '../contracts/client';
import type { HostmeshError } from '../core/errors/hostmesh-error';
import { CallAbortedError, CallTimeoutError, ConnectionLostError, ServiceStoppingError } from '../core/errors/errors';
import type { ConformanceApi } from './fixtures/conformance.contract';
import { OutOfStockError } from './fixtures/conformance.contract';
import { sleep, type SpawnedService } from './spawn-service';
import { eventually } from './eventually';
import { isSharedMemory } from '@hostmesh/native';
import { releaseBuffer } from '../rpc/buffer-leases';
import { DEFAULT_WINDOW } from '../rpc/streams/stream-window';

export interface StreamDeployment {
  server: SpawnedService;
  client: Client<ConformanceApi>;
}

/** What the stream cases need from the transport's suite: its main deployment, and a fresh one to kill. */
export interface StreamCaseHost {
  /** The mechanism under test: over shm, large Buffer items are views of shared memory. */
  kind: string;
  main(): StreamDeployment;
  deploy(namespace: string): Promise<StreamDeployment>;
}

/**
 * Streams over one transport, against the conformance service in a child process: order,
 * a million items, backpressure, cancellation from either side, an error mid-stream, a peer
 * killed mid-stream, and a hundred streams at once beside unary calls.
 */
export function describeStreamCases(host: StreamCaseHost): void {
  describe('streams', () => {
    const client = () => host.main().client;

    it('delivers a result stream in order, then ends', async () => {
      const items: number[] = [];
      for await (const item of client().count(1000)) items.push(item);
      expect(items).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      // Seven small integers make a 24-byte frame: the size of shm's pool reference, which it must not be taken for.
      const seven: number[] = [];
      for await (const item of client().count(7)) seven.push(item);
      expect(seven).toEqual([0, 1, 2, 3, 4, 5, 6]);
      // An empty stream ends at once.
      for await (const item of client().count(0)) throw new Error(`unexpected item ${item}`);
    });

    it('carries a million items', async () => {
      let expected = 0;
      for await (const item of client().count(1_000_000)) {
        if (item !== expected) throw new Error(`item ${expected} arrived as ${item}`);
        expected++;
      }
      expect(expected).toBe(1_000_000);
    }, 120_000);

    it(`carries Buffer items of 1 MiB as bytes, each intact${host.kind === 'shm' ? ', read in place from the pool until released' : ''}`, async () => {
      let index = 0;
      let shared = 0;
      // More than the pool holds (128 MiB a direction): released items give their room back.
      for await (const chunk of client().chunks(200, 1024 * 1024)) {
        expect(chunk.length).toBe(1024 * 1024);
        expect(chunk[0]).toBe(index % 256);
        expect(chunk[chunk.length - 1]).toBe(index % 256);
        if (isSharedMemory(chunk)) {
          shared++;
          releaseBuffer(chunk);
          expect(chunk.length).toBe(0);
        }
        index++;
      }
      expect(index).toBe(200);
      if (host.kind === 'shm') expect(shared).toBeGreaterThan(100);
      else expect(shared).toBe(0);
    }, 60_000);

    it('stops the producer while the consumer is slow: it never runs more than the window ahead', async () => {
      const tag = `slow-${process.pid}-${Date.now()}`;
      const window = 32;
      const stream = client()
        .$with({ window: { items: window } })
        .feed(tag, 0);
      let consumed = 0;
      for await (const item of stream) {
        expect(item).toBe(consumed);
        consumed++;
        await sleep(10);
        if (consumed === 20) break;
      }
      const { produced, closed } = await client().progress(tag);
      // The producer pulls only what credit allows: what was read, plus the window, plus the one it is making.
      expect(produced).toBeGreaterThanOrEqual(consumed);
      expect(produced).toBeLessThanOrEqual(consumed + window + 1);
      await eventually(async () => expect((await client().progress(tag)).closed).toBe(true));
      expect(typeof closed).toBe('boolean');
    }, 30_000);

    it("bounds the producer's memory: a consumer reading one item per 10 ms from a producer that could make a million a second", async () => {
      const tag = `firehose-${process.pid}-${Date.now()}`;
      const before = await client().memory();
      let read = 0;
      let during = before;
      for await (const item of client().firehose(tag, 1024)) {
        expect(item.length).toBe(1024);
        read++;
        await sleep(10);
        if (read === 80) during = await client().memory();
        if (read === 100) break;
      }
      const { produced } = await client().progress(tag);
      // Pulled only as credit allowed: what was read plus the window (4096 items or 4 MiB), plus the one in the making.
      expect(produced).toBeLessThanOrEqual(read + DEFAULT_WINDOW.items + 1);
      // Unbounded, a second of this producer would hold hundreds of MiB; held to the window, a few.
      const MiB = 1024 * 1024;
      console.log(
        `${host.kind}: slow consumer read ${read} items; the producer made ${produced}; its heap grew ${((during.heapUsed - before.heapUsed) / MiB).toFixed(1)} MiB, its RSS ${((during.rss - before.rss) / MiB).toFixed(1)} MiB`,
      );
      expect(during.heapUsed - before.heapUsed).toBeLessThan(24 * MiB);
      expect(during.rss - before.rss).toBeLessThan(64 * MiB);
      await eventually(async () => expect((await client().progress(tag)).closed).toBe(true));
    }, 30_000);

    it("cancels at the service when the consumer breaks out: the generator's return() runs and its signal aborts", async () => {
      const tag = `break-${process.pid}-${Date.now()}`;
      const seen: number[] = [];
      for await (const item of client().feed(tag, 1)) {
        seen.push(item);
        if (seen.length === 3) break;
      }
      expect(seen).toEqual([0, 1, 2]);
      await eventually(async () => expect(await client().progress(tag)).toMatchObject({ closed: true, aborted: true }));
    });

    it('cancels with an AbortSignal: the consumer gets CallAbortedError, the service stops', async () => {
      const tag = `abort-${process.pid}-${Date.now()}`;
      const controller = new AbortController();
      const seen: number[] = [];
      const error = await (async () => {
        for await (const item of client().$with({ signal: controller.signal }).feed(tag, 1)) {
          seen.push(item);
          if (seen.length === 2) controller.abort();
        }
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CallAbortedError);
      await eventually(async () => expect(await client().progress(tag)).toMatchObject({ closed: true }));
    });

    it('tells the service the deadline of a stream given one, and ends the stream there', async () => {
      const tag = `deadline-${process.pid}-${Date.now()}`;
      const seen: number[] = [];
      const started = Date.now();
      const error = await (async () => {
        for await (const item of client().$with({ timeoutMs: 600 }).feed(tag, 50)) seen.push(item);
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CallTimeoutError);
      // Items flowed until the deadline, not just until the stream opened.
      expect(seen.length).toBeGreaterThan(3);
      expect(Date.now() - started).toBeGreaterThanOrEqual(550);
      await eventually(async () => expect(await client().progress(tag)).toMatchObject({ closed: true, aborted: true }));
    });

    it('fails with CallTimeoutError when no item comes within idleTimeoutMs', async () => {
      const tag = `idle-${process.pid}-${Date.now()}`;
      const started = Date.now();
      const error = await (async () => {
        for await (const item of client().$with({ idleTimeoutMs: 150 }).feed(tag, 2000)) throw new Error(`unexpected item ${item}`);
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CallTimeoutError);
      expect(Date.now() - started).toBeLessThan(1900);
      await eventually(async () => expect(await client().progress(tag)).toMatchObject({ closed: true }));
    });

    it('delivers the items sent before an error, then the typed error', async () => {
      const seen: number[] = [];
      const error = await (async () => {
        for await (const item of client().failAfter(5)) seen.push(item);
      })().catch((e: unknown) => e);
      expect(seen).toEqual([0, 1, 2, 3, 4]);
      expect(error).toBeInstanceOf(OutOfStockError);
    });

    it('takes a streamed argument (client streaming) and both ways at once (bidi)', async () => {
      async function* upTo(n: number) {
        for (let i = 1; i <= n; i++) yield i;
      }
      await expect(client().sum(upTo(10_000))).resolves.toBe(50_005_000);
      // A source that throws fails the call with its error.
      async function* broken() {
        yield 1;
        throw new RangeError('the source broke');
      }
      await expect(client().sum(broken())).rejects.toThrow('the source broke');
      const doubled: number[] = [];
      for await (const value of client().double(upTo(500))) doubled.push(value);
      expect(doubled).toEqual(Array.from({ length: 500 }, (_, i) => (i + 1) * 2));
    }, 30_000);

    it("stops the caller's source when the service reads no more of it", async () => {
      let pulled = 0;
      let closed = false;
      async function* endless() {
        try {
          for (let i = 0; i < 10_000_000; i++) {
            pulled++;
            yield i;
          }
        } finally {
          closed = true;
        }
      }
      await expect(client().takeFirst(endless(), 3)).resolves.toEqual([0, 1, 2]);
      await eventually(() => expect(closed).toBe(true));
      // Credit bounds what was pulled: far from the ten million on offer.
      expect(pulled).toBeLessThan(10_000);
    });

    it('runs 100 streams at once, and a stalled stream holds up neither them nor unary calls', async () => {
      const tag = `stalled-${process.pid}-${Date.now()}`;
      const stalled = client().feed(tag, 0);
      await expect(stalled.next()).resolves.toEqual({ done: false, value: 0 });
      const all = await Promise.all(
        Array.from({ length: 100 }, async (_, s) => {
          let total = 0;
          let n = 0;
          for await (const item of client().count(1000 + s)) {
            total += item;
            n++;
          }
          return [n, total];
        }),
      );
      all.forEach(([n, total], s) => {
        expect(n).toBe(1000 + s);
        expect(total).toBe(((1000 + s) * (999 + s)) / 2);
      });
      await expect(client().add(2, 3)).resolves.toBe(5);
      await stalled.return!();
      await eventually(async () => expect(await client().progress(tag)).toMatchObject({ closed: true }));
    }, 60_000);

    it('ends result streams with a retryable ServiceStoppingError when the service drains (SIGTERM), which then exits 0', async () => {
      const stopping = await host.deploy(`stream-drain-${process.pid}`);
      const seen: number[] = [];
      const error = await (async () => {
        for await (const item of stopping.client.feed('drained', 5)) {
          seen.push(item);
          if (seen.length === 3) stopping.server.child.kill('SIGTERM');
        }
      })().catch((e: unknown) => e);
      expect(seen.length).toBeGreaterThanOrEqual(3);
      expect(error).toBeInstanceOf(ServiceStoppingError);
      expect((error as HostmeshError).retryable).toBe(true);
      expect(await stopping.server.exited).toEqual({ code: 0, signal: null });
    }, 30_000);

    it('fails a stream with a retryable ConnectionLostError when the service is killed mid-stream', async () => {
      const victim = await host.deploy(`stream-victim-${process.pid}`);
      const seen: number[] = [];
      const started: number[] = [];
      const error = await (async () => {
        for await (const item of victim.client.feed('doomed', 5)) {
          seen.push(item);
          if (seen.length === 3) {
            started.push(Date.now());
            void victim.server.kill();
          }
        }
      })().catch((e: unknown) => e);
      expect(seen.length).toBeGreaterThanOrEqual(3);
      expect(error).toBeInstanceOf(ConnectionLostError);
      expect((error as HostmeshError).retryable).toBe(true);
      expect(Date.now() - started[0]!).toBeLessThan(3000);
    }, 30_000);
  });
}
