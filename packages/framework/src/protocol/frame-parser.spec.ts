import { FrameError } from '../core/errors/errors';
import { FrameKind, HEADER_BYTES, writeHeader } from './frame';
import { FrameParser } from './frame-parser';
import { InboundLimits } from './inbound-limits';

function frame(id: number, body: Buffer, kind = FrameKind.Request): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + body.length);
  writeHeader(out, kind, 0, id, 7, body.length);
  body.copy(out, HEADER_BYTES);
  return out;
}

function collect(max = 1 << 20): { parser: FrameParser; frames: Array<{ id: number; body: string; buffer: Buffer }> } {
  const frames: Array<{ id: number; body: string; buffer: Buffer }> = [];
  const parser = new FrameParser(max, (buffer, start, end) => {
    frames.push({ id: buffer.readUInt32LE(start + 4), body: buffer.subarray(start + HEADER_BYTES, end).toString(), buffer });
  });
  return { parser, frames };
}

describe('FrameParser', () => {
  const stream = Buffer.concat([frame(1, Buffer.from('alpha')), frame(2, Buffer.alloc(0)), frame(3, Buffer.from('x'.repeat(300)))]);
  const expected = [
    { id: 1, body: 'alpha' },
    { id: 2, body: '' },
    { id: 3, body: 'x'.repeat(300) },
  ];

  it('finds the same frames wherever the stream is cut into two chunks', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { parser, frames } = collect();
      parser.push(stream.subarray(0, cut));
      parser.push(stream.subarray(cut));
      expect(frames.map(({ id, body }) => ({ id, body }))).toEqual(expected);
      expect(parser.pendingBytes).toBe(0);
    }
  });

  it('finds the same frames when the stream arrives one byte at a time', () => {
    const { parser, frames } = collect();
    for (let i = 0; i < stream.length; i++) parser.push(stream.subarray(i, i + 1));
    expect(frames.map(({ id, body }) => ({ id, body }))).toEqual(expected);
  });

  it('reads ranges of a larger buffer (a ring) as it reads chunks, never past a range', () => {
    // Garbage around the stream: a parser that strayed outside [start, end) would see a bad header.
    const padded = Buffer.concat([Buffer.alloc(13, 0xee), stream, Buffer.alloc(13, 0xee)]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const { parser, frames } = collect();
      parser.push(padded, 13, 13 + cut);
      parser.push(padded, 13 + cut, 13 + stream.length);
      expect(frames.map(({ id, body }) => ({ id, body }))).toEqual(expected);
      expect(parser.pendingBytes).toBe(0);
    }
    const { parser, frames } = collect();
    parser.push(padded, 13, 13 + stream.length);
    expect(frames.every((f) => f.buffer === padded)).toBe(true);
  });

  it('hands out frames that arrive whole in place, without copying the chunk', () => {
    const { parser, frames } = collect();
    parser.push(stream);
    expect(frames.every((f) => f.buffer === stream)).toBe(true);
  });

  it('counts the bytes of a frame that has not finished arriving', () => {
    const { parser, frames } = collect();
    parser.push(stream.subarray(0, HEADER_BYTES + 2));
    expect(frames).toHaveLength(0);
    expect(parser.pendingBytes).toBe(HEADER_BYTES + 2);
  });

  it.each([
    ['bad magic', (f: Buffer) => (f[0] = 0x47), /bad frame magic 0x47/],
    ['an unknown version', (f: Buffer) => (f[1] = 9), /unsupported protocol version 9/],
    ['an unknown kind', (f: Buffer) => (f[2] = 42), /unknown frame kind 42/],
    ['unknown flags', (f: Buffer) => (f[3] = 0x80), /unknown frame flags 0x80/],
    ['a body over the limit', (f: Buffer) => f.writeUInt32LE(2000, 12), /2000 bytes exceeds the limit of 1024/],
  ])('rejects a header with %s as a FrameError', (_what, corrupt, message) => {
    const bad = frame(1, Buffer.from('body'));
    corrupt(bad);
    const { parser } = collect(1024);
    expect(() => parser.push(bad)).toThrow(FrameError);
    expect(() => collect(1024).parser.push(bad)).toThrow(message);
  });

  it('rejects a bad header even when it arrives split across chunks', () => {
    const bad = frame(1, Buffer.from('body'));
    bad[0] = 0;
    const { parser } = collect();
    parser.push(bad.subarray(0, 5));
    expect(() => parser.push(bad.subarray(5))).toThrow(FrameError);
  });

  it('takes a frame in progress from the shared budget, gives it back when whole or disposed, and refuses one that would run it over', () => {
    const limits = new InboundLimits(1000, 30_000, 0);
    const received: number[] = [];
    const make = () => new FrameParser(1 << 20, (buffer, start) => received.push(buffer.readUInt32LE(start + 4)), limits);
    const [a, b, c] = [make(), make(), make()];
    const big = frame(1, Buffer.alloc(584)); // 600 bytes
    a.push(big.subarray(0, 100));
    expect(limits.bufferedBytes).toBe(600);
    // Whole frames within one chunk never touch the budget.
    b.push(frame(2, Buffer.from('small')));
    expect([received, limits.bufferedBytes]).toEqual([[2], 600]);
    expect(() => b.push(frame(3, Buffer.alloc(484)).subarray(0, 20))).toThrow(
      new FrameError('a frame of 500 bytes would take the service past its budget of 1000 bytes for frames in progress (600 held now; maxBufferedBytes)'),
    );
    expect(limits.bufferedBytes).toBe(600);
    a.push(big.subarray(100));
    expect([received, limits.bufferedBytes]).toEqual([[2, 1], 0]);
    c.push(big.subarray(0, 20));
    expect(limits.bufferedBytes).toBe(600);
    c.dispose();
    expect(limits.bufferedBytes).toBe(0);
  });
});
