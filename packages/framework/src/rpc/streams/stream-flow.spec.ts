import { FrameError } from '../../core/errors/errors';
import { FrameCodec } from '../../protocol/codec';
import { FrameKind, HEADER_BYTES, frameKind } from '../../protocol/frame';
import { StreamTable, type StreamConnection } from './stream-table';
import { INITIAL_CREDIT, MAX_BATCH_ITEMS } from './stream-window';

/** Frames a table writes, decoded: what its peer would receive. */
function wire() {
  const codec = new FrameCodec(64 * 1024 * 1024);
  const reader = new FrameCodec(64 * 1024 * 1024);
  const frames: Array<{ kind: FrameKind; body: unknown; bytes: number }> = [];
  const connection: StreamConnection = {
    codec,
    writable: true,
    whenWritable: () => Promise.resolve(),
    writeFrame(frame) {
      const whole = codec.tail === null ? frame : Buffer.concat([frame, codec.tail]);
      codec.tail = null;
      frames.push({ kind: frameKind(whole, 0), body: reader.decode(whole, 0, whole.length, true), bytes: whole.length - HEADER_BYTES });
      return true;
    },
  };
  return { table: new StreamTable(connection), frames };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('stream flow control', () => {
  it('pulls no more from the source than the credit allows, and resumes when credit comes', async () => {
    const { table, frames } = wire();
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield i;
      }
    }
    const sender = table.startSender(1, 7, source(), 'test');
    const done = sender.run();
    for (let i = 0; i < 5; i++) await turn();
    expect(pulled).toBe(INITIAL_CREDIT.items);
    const sent = frames.flatMap((frame) => frame.body as number[]);
    expect(sent).toEqual(Array.from({ length: INITIAL_CREDIT.items }, (_, i) => i));
    sender.grant(10, 1 << 20);
    for (let i = 0; i < 5; i++) await turn();
    expect(pulled).toBe(INITIAL_CREDIT.items + 10);
    sender.grant(10_000, 1 << 30);
    await expect(done).resolves.toBe(true);
    expect(frames.flatMap((frame) => frame.body as number[])).toHaveLength(1000);
    // Items ready in one turn share frames of at most MAX_BATCH_ITEMS.
    expect(frames.every((frame) => (frame.body as unknown[]).length <= MAX_BATCH_ITEMS)).toBe(true);
    expect(frames.length).toBeLessThan(1000 / 8);
  });

  it('counts body bytes too: large Buffer items stop once the byte credit is spent', async () => {
    const { table, frames } = wire();
    let pulled = 0;
    async function* chunks() {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield Buffer.alloc(100 * 1024, i);
      }
    }
    const sender = table.startSender(2, 7, chunks(), 'test');
    void sender.run();
    for (let i = 0; i < 5; i++) await turn();
    // 256 KiB of credit: three 100 KiB items (the third overruns it), each a raw frame of its own (≥ RAW_ITEM_BYTES).
    expect(pulled).toBe(3);
    expect(frames.map((frame) => frame.bytes)).toEqual([102400, 102400, 102400]);
    expect(Buffer.isBuffer(frames[0]!.body)).toBe(true);
    sender.stop();
  });

  it('never sends a frame once the byte credit is spent: a slow source, and small items mixed with large ones', async () => {
    for (const source of [
      async function* slow() {
        for (let i = 0; i < 400; i++) {
          await turn();
          yield Buffer.alloc(2000, i);
        }
      },
      async function* mixed() {
        for (let i = 0; i < 400; i++) yield i % 3 === 0 ? Buffer.alloc(50_000, i) : Buffer.alloc(2000, i);
      },
    ]) {
      const { table, frames } = wire();
      const sender = table.startSender(9, 7, source(), 'test');
      void sender.run();
      for (let i = 0; i < 300; i++) await turn();
      // Before each frame, what was sent so far was under the 256 KiB the receiver allowed.
      let sent = 0;
      for (const frame of frames) {
        expect(sent).toBeLessThan(INITIAL_CREDIT.bytes);
        sent += frame.bytes;
      }
      expect(frames.length).toBeGreaterThan(0);
      sender.stop();
    }
  });

  it("sends the items before a source's error, then throws it; stop() runs the source's finally", async () => {
    const { table, frames } = wire();
    async function* failing() {
      yield 1;
      yield 2;
      throw new RangeError('broken source');
    }
    await expect(table.startSender(3, 7, failing(), 'test').run()).rejects.toThrow('broken source');
    expect(frames.flatMap((frame) => frame.body as number[])).toEqual([1, 2]);
    let closed = false;
    async function* endless() {
      try {
        for (let i = 0; i < 1e9; i++) yield i;
      } finally {
        closed = true;
      }
    }
    const sender = table.startSender(4, 7, endless(), 'test');
    const run = sender.run();
    await turn();
    sender.stop();
    await expect(run).resolves.toBe(false);
    expect(closed).toBe(true);
  });

  it('a receiver refuses items past the credit it gave, and grants more as they are read', async () => {
    const { table, frames } = wire();
    const receiver = table.openReceiver<number>(5, 7, { items: 8, bytes: 1 << 20 }, false);
    expect(
      receiver.push(
        Array.from({ length: INITIAL_CREDIT.items }, (_, i) => i),
        100,
      ),
    ).toBeUndefined();
    expect(receiver.push([99], 10)).toBeInstanceOf(FrameError);
    // Reading a quarter of the window grants that much back, in one Credit frame.
    for (let i = 0; i < INITIAL_CREDIT.items; i++) await expect(receiver.next()).resolves.toEqual({ done: false, value: i });
    const credits = frames.filter((frame) => frame.kind === FrameKind.Credit).map((frame) => frame.body);
    expect(credits).toEqual([[INITIAL_CREDIT.items, 100]]);
    expect(receiver.push([16, 17], 10)).toBeUndefined();
    receiver.end();
    await expect(receiver.next()).resolves.toEqual({ done: false, value: 16 });
    await expect(receiver.next()).resolves.toEqual({ done: false, value: 17 });
    await expect(receiver.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('a receiver hands out what it holds before an error; return() sends a cancel once', async () => {
    const { table, frames } = wire();
    const failing = table.openReceiver<number>(6, 7, { items: 64, bytes: 1 << 20 });
    failing.push([1, 2], 10);
    failing.fail(new RangeError('gone'));
    await expect(failing.next()).resolves.toEqual({ done: false, value: 1 });
    await expect(failing.next()).resolves.toEqual({ done: false, value: 2 });
    await expect(failing.next()).rejects.toThrow('gone');
    const left = table.openReceiver<number>(7, 7, { items: 64, bytes: 1 << 20 });
    const waiting = left.next();
    await left.return();
    await left.return();
    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
    expect(frames.filter((frame) => frame.kind === FrameKind.Cancel)).toHaveLength(1);
    expect(table.onData(7, [1], false, 10)).toBeUndefined();
  });

  it('refuses malformed credit and data', () => {
    const { table } = wire();
    table.openReceiver(8, 7, { items: 64, bytes: 1 << 20 });
    expect(table.onCredit(8, [1])).toBeInstanceOf(FrameError);
    expect(table.onCredit(8, [-1, 5])).toBeInstanceOf(FrameError);
    expect(table.onCredit(8, [2 ** 40, 5])).toBeInstanceOf(FrameError);
    expect(table.onData(8, { not: 'a list' }, false, 10)).toBeInstanceOf(FrameError);
  });
});
