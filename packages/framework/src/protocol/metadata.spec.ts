import { pack, unpack } from 'msgpackr';
import { FrameError } from '../core/errors/errors';
import { encodeStatelessFrame, FrameCodec } from './codec';
import { checkHeader, FrameFlag, FrameKind, frameFlags, HEADER_BYTES } from './frame';
import { encodeMetadata, METADATA_LIMITS, metadataScratch, readMetadata } from './metadata';

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

const whole = (frame: Buffer) => ({ frame, end: HEADER_BYTES + checkHeader(frame, 0, 1 << 20) });

describe('frame metadata (flag 0x20)', () => {
  it('writes a deadline alone as the 15 bytes docs/protocol.md gives, without packing', () => {
    const bytes = encodeMetadata(1234.2, undefined, metadataScratch());
    expect(bytes.toString('hex')).toBe('81a8646561646c696e65ce000004d3');
    // Any msgpack library reads it as a map.
    expect(unpack(bytes)).toEqual({ deadline: 1235 });
  });

  it('carries deadline and headers beside the body, on stream, stateless, plain and raw frames', () => {
    const metadata = encodeMetadata(
      500,
      { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tenant: 'acme', tries: 2 },
      metadataScratch(),
    );
    const expected = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tenant: 'acme', tries: 2, deadline: 500 };
    const frames = [
      new FrameCodec(1 << 20).encode(FrameKind.Request, 1, 7, [{ a: 1 }], undefined, metadata),
      encodeStatelessFrame(FrameKind.Event, 1, 7, [{ a: 1 }], 1 << 20, undefined, metadata),
      new FrameCodec(1 << 20, false, true).encode(FrameKind.Request, 1, 7, [{ a: 1 }], undefined, metadata),
    ];
    for (const frame of frames) {
      const { end } = whole(frame);
      expect(frameFlags(frame, 0) & FrameFlag.Metadata).toBe(FrameFlag.Metadata);
      expect(readMetadata(frame, 0, end)).toEqual(expected);
      expect(new FrameCodec(1 << 20).decode(frame, 0, end)).toEqual([{ a: 1 }]);
    }
    for (const size of [10, 64 * 1024]) {
      const codec = new FrameCodec(1 << 20);
      const bytes = Buffer.alloc(size, 7);
      let frame = codec.encodeBytes(FrameKind.Request, 1, 7, bytes, undefined, metadata);
      if (codec.tail) frame = Buffer.concat([frame, codec.tail]);
      const { end } = whole(frame);
      expect(readMetadata(frame, 0, end)).toEqual(expected);
      expect(new FrameCodec(1 << 20).decode(frame, 0, end)).toEqual(bytes);
    }
  });

  it('places a section too large for the reserved space by one copy', () => {
    const metadata = encodeMetadata(undefined, { note: 'x'.repeat(1000) }, metadataScratch());
    const frame = new FrameCodec(1 << 20).encode(FrameKind.Request, 1, 7, ['after'], undefined, metadata);
    const { end } = whole(frame);
    expect(readMetadata(frame, 0, end)).toEqual({ note: 'x'.repeat(1000) });
    expect(new FrameCodec(1 << 20).decode(frame, 0, end)).toEqual(['after']);
  });

  it('costs a frame without metadata nothing: no flag, no section', () => {
    const frame = new FrameCodec(1024).encode(FrameKind.Request, 1, 7, [1]);
    expect(frameFlags(frame, 0) & FrameFlag.Metadata).toBe(0);
    expect(readMetadata(frame, 0, frame.length)).toBeUndefined();
  });

  it('refuses outgoing metadata beyond its bounds, naming the bound', () => {
    const scratch = metadataScratch();
    const many = Object.fromEntries(Array.from({ length: METADATA_LIMITS.entries + 1 }, (_, i) => [`k${i}`, i]));
    expect(() => encodeMetadata(undefined, many, scratch)).toThrow(`more than ${METADATA_LIMITS.entries} entries`);
    expect(() => encodeMetadata(undefined, { long: 'x'.repeat(5000) }, scratch)).toThrow("'long' has 5000 characters");
    expect(() => encodeMetadata(undefined, { bad: NaN }, scratch)).toThrow('neither a string nor a finite number');
  });

  it('treats a malformed incoming section as a malformed frame', () => {
    const frame = (section: Buffer, declared = section.length) => {
      const out = Buffer.alloc(HEADER_BYTES + 4 + section.length + 1);
      out[0] = 0xa7;
      out[1] = 1;
      out[2] = FrameKind.Request;
      out[3] = FrameFlag.Metadata;
      out.writeUInt32LE(out.length - HEADER_BYTES, 12);
      out.writeUInt32LE(declared, HEADER_BYTES);
      section.copy(out, HEADER_BYTES + 4);
      out[out.length - 1] = 0x90; // an empty argument list
      return out;
    };
    const cases: Array<[Buffer, string]> = [
      [frame(pack({ a: 1 }), 100), 'runs past the end of the frame'],
      [frame(pack({ a: 1 }), METADATA_LIMITS.bytes + 1), 'exceeds the limit'],
      [frame(pack([1, 2])), 'not a map'],
      [frame(pack({ a: { nested: true } })), 'neither a string nor a finite number'],
      [frame(Buffer.from([0x82, 0xa1, 0x61])), 'undecodable frame metadata'],
    ];
    for (const [bytes, message] of cases) {
      expect({ message, thrown: thrownBy(() => readMetadata(bytes, 0, bytes.length)) }).toEqual({ message, thrown: expect.any(FrameError) });
      expect(() => readMetadata(bytes, 0, bytes.length)).toThrow(message);
    }
    // The body cannot be read past a broken section either.
    const [broken] = cases[0]!;
    expect(() => new FrameCodec(1024).decode(broken, 0, broken.length)).toThrow('runs past the end of the frame');
  });
});
