import { FrameError, PayloadTooLargeError } from '../core/errors/errors';
import { Packr, Unpackr } from 'msgpackr';
import { encodeStatelessFrame, FrameCodec, packsAsOwnFields } from './codec';
import { FrameFlag, FrameKind, frameFlags, frameId, frameKind, frameRoute, HEADER_BYTES } from './frame';

const decodeWhole = (codec: FrameCodec, frame: Buffer) => codec.decode(frame, 0, frame.length);

describe('FrameCodec', () => {
  it('writes the header fields a receiver reads back', () => {
    const frame = new FrameCodec(1024).encode(FrameKind.Event, 0xdeadbeef, 0x01020304, { a: 1 });
    expect(frameKind(frame, 0)).toBe(FrameKind.Event);
    expect(frameId(frame, 0)).toBe(0xdeadbeef);
    expect(frameRoute(frame, 0)).toBe(0x01020304);
    expect(frame.readUInt32LE(12)).toBe(frame.length - HEADER_BYTES);
  });

  it('round-trips the values services exchange, keeping their types', () => {
    const sender = new FrameCodec(1 << 20);
    const receiver = new FrameCodec(1 << 20);
    const value = {
      text: 'héllo',
      list: [1, -2.5, null, true],
      when: new Date(1_700_000_000_000),
      bytes: Buffer.from([1, 2, 3]),
      floats: new Float32Array([0.5]),
      map: new Map([['k', 1]]),
      big: 2n ** 70n,
      missing: undefined,
    };
    expect(decodeWhole(receiver, sender.encode(FrameKind.Request, 1, 1, value))).toEqual(value);
  });

  it('packs into lent memory when the frame fits, into its own when not, and never writes there again', () => {
    const sender = new FrameCodec(8 << 20);
    const receiver = new FrameCodec(8 << 20);
    const value = { op: 'echo', id: 1, data: Buffer.alloc(100_000, 7) };
    const first = sender.encode(FrameKind.Request, 1, 1, value);
    expect(sender.largeHint).toBe(first.length);
    const lent = Buffer.alloc(200_000);
    const inPlace = sender.encodeInto(lent, FrameKind.Request, 2, 1, value);
    expect(inPlace.buffer).toBe(lent.buffer);
    expect(inPlace.byteOffset).toBe(lent.byteOffset);
    const tooSmall = Buffer.alloc(50_000);
    const elsewhere = sender.encodeInto(tooSmall, FrameKind.Request, 3, 1, value);
    expect(elsewhere.buffer).not.toBe(tooSmall.buffer);
    // The next frames go to the codec's own memory: the lent bytes stay the frame's.
    const snapshot = Buffer.from(lent);
    sender.encode(FrameKind.Request, 4, 1, { small: true });
    sender.encode(FrameKind.Request, 5, 1, value);
    expect(lent.equals(snapshot)).toBe(true);
    expect(sender.largeHint).toBeGreaterThan(0);
    sender.encode(FrameKind.Request, 6, 1, 'small');
    expect(sender.largeHint).toBe(0);
    for (const frame of [first, inPlace, elsewhere]) expect(decodeWhole(receiver, frame)).toEqual(value);
  });

  it.each([
    ['1 MiB (zero-filled first)', 1 << 20],
    ['8 MiB (packed as it is)', 8 << 20],
  ])('packs a %s object frame into lent memory holding old bytes exactly as into its own, and writes nothing past the loan', (_, size) => {
    const sender = new FrameCodec(16 << 20);
    const twin = new FrameCodec(16 << 20);
    const receiver = new FrameCodec(16 << 20);
    const value = { op: 'echo', id: 1, data: Buffer.alloc(size, 7) };
    const first = sender.encode(FrameKind.Request, 1, 1, value);
    twin.encode(FrameKind.Request, 1, 1, value);
    // The loan is the middle of a larger region, all of it old bytes (what the pool held before).
    const region = Buffer.alloc(2 * size + 4096, 0xee);
    const lent = region.subarray(1024, 1024 + size + (size >>> 2));
    const inPlace = sender.encodeInto(lent, FrameKind.Request, 2, 1, value);
    expect(inPlace.buffer).toBe(lent.buffer);
    expect(inPlace.byteOffset).toBe(lent.byteOffset);
    expect(inPlace.equals(twin.encode(FrameKind.Request, 2, 1, value))).toBe(true);
    const old = (bytes: Buffer) => bytes.equals(Buffer.alloc(bytes.length, 0xee));
    expect(old(region.subarray(0, 1024))).toBe(true);
    expect(old(region.subarray(1024 + lent.length))).toBe(true);
    for (const frame of [first, inPlace]) {
      const decoded = decodeWhole(receiver, frame) as typeof value;
      expect([decoded.op, decoded.id, decoded.data.equals(value.data)]).toEqual(['echo', 1, true]);
    }
  });

  it('describes a repeated object shape once, so later frames are smaller', () => {
    const codec = new FrameCodec(1 << 20);
    const quote = { symbol: 'ACME', price: 1.5, quantity: 10, side: 'buy', at: 1 };
    const first = codec.encode(FrameKind.Request, 1, 1, quote).length;
    const second = codec.encode(FrameKind.Request, 2, 1, quote).length;
    expect(second).toBeLessThan(first - 15);
  });

  it('refuses an oversized body before sending, and resets the peer so the stream stays in step', () => {
    const sender = new FrameCodec(64);
    const receiver = new FrameCodec(64);
    decodeWhole(receiver, sender.encode(FrameKind.Request, 1, 1, { a: 1 }));
    // This encode defines a new structure, then is refused: the receiver never sees it.
    expect(() => sender.encode(FrameKind.Request, 2, 1, { b: 'x'.repeat(100) })).toThrow(PayloadTooLargeError);
    // The same shape again: without the reset it would be sent as a reference the receiver never learnt.
    const next = sender.encode(FrameKind.Request, 3, 1, { b: 'short' });
    expect(frameFlags(next, 0) & FrameFlag.CodecReset).toBeTruthy();
    expect(decodeWhole(receiver, next)).toEqual({ b: 'short' });
    expect(decodeWhole(receiver, sender.encode(FrameKind.Request, 4, 1, { a: 3 }))).toEqual({ a: 3 });
  });

  it('sends a small Buffer as a raw body copied behind the header', () => {
    const codec = new FrameCodec(1 << 20);
    const bytes = Buffer.from('raw bytes');
    const frame = codec.encodeBytes(FrameKind.Response, 1, 1, bytes);
    expect(codec.tail).toBeNull();
    expect(frameFlags(frame, 0) & FrameFlag.RawBody).toBeTruthy();
    expect(frame.subarray(HEADER_BYTES).toString()).toBe('raw bytes');
    expect(decodeWhole(new FrameCodec(1 << 20), frame)).toEqual(bytes);
  });

  it('leaves a large Buffer in place as the tail of the frame, without copying it', () => {
    const codec = new FrameCodec(1 << 22);
    const bytes = Buffer.alloc(1 << 20, 9);
    const head = codec.encodeBytes(FrameKind.Request, 1, 1, bytes);
    expect(head.length).toBe(HEADER_BYTES);
    expect(head.readUInt32LE(12)).toBe(1 << 20);
    expect(codec.tail).toBe(bytes);
  });

  it('refuses a raw body over the limit', () => {
    expect(() => new FrameCodec(10).encodeBytes(FrameKind.Request, 1, 1, Buffer.alloc(11))).toThrow(PayloadTooLargeError);
  });

  it('reports a body that is not msgpack as a FrameError', () => {
    const frame = new FrameCodec(64).encode(FrameKind.Request, 1, 1, 'ok');
    frame[HEADER_BYTES] = 0xc1; // never used by msgpack
    expect(() => decodeWhole(new FrameCodec(64), frame)).toThrow(FrameError);
  });

  it('decodes stateless frames without any connection state', () => {
    const frame = encodeStatelessFrame(FrameKind.Event, 5, 6, { symbol: 'ACME' }, 1024);
    expect(frameFlags(frame, 0) & FrameFlag.Stateless).toBeTruthy();
    expect(decodeWhole(new FrameCodec(1024), frame)).toEqual({ symbol: 'ACME' });
    expect(decodeWhole(new FrameCodec(1024), frame)).toEqual({ symbol: 'ACME' });
  });
});

describe('FrameCodec over transient memory', () => {
  it('copies Buffers out of a frame whose memory the transport reuses, and only then', () => {
    const sender = new FrameCodec(1 << 20);
    const raw = sender.encodeBytes(FrameKind.Response, 1, 1, Buffer.from('raw'));
    const packed = sender.encode(FrameKind.Response, 2, 1, { bin: Buffer.from('bin') });
    const receiver = new FrameCodec(1 << 20);
    const kept = receiver.decode(raw, 0, raw.length, true) as Buffer;
    const keptObject = receiver.decode(packed, 0, packed.length, true) as { bin: Buffer };
    raw.fill(0);
    packed.fill(0, HEADER_BYTES + 1);
    expect(kept.toString()).toBe('raw');
    expect(keptObject.bin.toString()).toBe('bin');
    const again = sender.encodeBytes(FrameKind.Response, 3, 1, Buffer.from('view'));
    const view = new FrameCodec(1 << 20).decode(again, 0, again.length, false) as Buffer;
    expect(view.buffer).toBe(again.buffer);
  });

  it('reads a plain msgpack request as any msgpack library writes it (maps as objects), and answers that connection in plain msgpack', () => {
    // [{"symbol": "ACME", "n": 10}] as Python's msgpack.packb writes it: fixarray, fixmap, fixstr keys.
    const body = Buffer.from([0x91, 0x82, 0xa6, ...Buffer.from('symbol'), 0xa4, ...Buffer.from('ACME'), 0xa1, 0x6e, 0x0a]);
    const request = Buffer.alloc(HEADER_BYTES + body.length);
    request.set([0xa7, 1, FrameKind.Request, FrameFlag.Plain], 0);
    request.writeUInt32LE(7, 4);
    request.writeUInt32LE(1, 8);
    request.writeUInt32LE(body.length, 12);
    body.copy(request, HEADER_BYTES);
    const service = new FrameCodec(1 << 20);
    const args = decodeWhole(service, request) as unknown[];
    expect(args).toEqual([{ symbol: 'ACME', n: 10 }]);
    expect(args[0]).not.toBeInstanceOf(Map);
    // The reply: flag Plain, a standard map (map16: 0xde and a count), no msgpackr record extension (0xd4/0xd5 … 0x72), undefined as nil.
    const reply = service.encode(FrameKind.Response, 7, 1, { total: 1.5, none: undefined });
    expect(frameFlags(reply, 0)).toBe(FrameFlag.Plain);
    expect(reply.subarray(HEADER_BYTES)).toEqual(
      Buffer.from([0xde, 0x00, 0x02, 0xa5, ...Buffer.from('total'), 0xcb, ...Buffer.from([0x3f, 0xf8, 0, 0, 0, 0, 0, 0]), 0xa4, ...Buffer.from('none'), 0xc0]),
    );
  });
});

describe('packsAsOwnFields', () => {
  class Tick {
    constructor(
      readonly seq: number,
      readonly note: string,
    ) {}
    get doubled(): number {
      return this.seq * 2;
    }
  }
  class LaterTick extends Tick {
    extra = [1, 2];
  }

  it('says yes for classes msgpackr writes as their own fields, and the plain copy packs to the same bytes', () => {
    expect(packsAsOwnFields(Tick)).toBe(true);
    expect(packsAsOwnFields(LaterTick)).toBe(true);
    for (const event of [new Tick(7, 'n'), new LaterTick(300, 'é')]) {
      const stateless = (body: unknown) => encodeStatelessFrame(FrameKind.Event, 1, 2, ['id', body], 1 << 20);
      expect(stateless({ ...event })).toEqual(stateless(event));
      // Record structures (ordered connections): the same bytes too, first frame and later ones.
      const [viaClass, viaCopy] = [new FrameCodec(1 << 20), new FrameCodec(1 << 20)];
      for (let i = 0; i < 2; i++)
        expect(viaCopy.encode(FrameKind.Event, i, 2, ['id', { ...event }])).toEqual(viaClass.encode(FrameKind.Event, i, 2, ['id', event]));
    }
  });

  it('says no for classes with an encoding of their own: toJSON anywhere on the chain, a built-in base, an enumerable prototype field, no Object.prototype', () => {
    class WithJson {
      toJSON() {
        return 'me';
      }
    }
    class BelowJson extends WithJson {}
    class OwnCheck {
      hasOwnProperty() {
        return true;
      }
    }
    for (const base of [Map, Set, Date, Error, RegExp, Array, Uint8Array, ArrayBuffer, DataView]) {
      const Sub = class extends (base as unknown as new () => object) {};
      expect([base.name, packsAsOwnFields(Sub)]).toEqual([base.name, false]);
    }
    expect(packsAsOwnFields(WithJson)).toBe(false);
    expect(packsAsOwnFields(BelowJson)).toBe(false);
    expect(packsAsOwnFields(OwnCheck)).toBe(false);
    class Enumerable {}
    Object.assign(Enumerable.prototype, { kind: 'shared' });
    expect(packsAsOwnFields(Enumerable)).toBe(false);
    function Bare() {}
    Bare.prototype = Object.create(null);
    expect(packsAsOwnFields(Bare)).toBe(false);
    // What msgpackr does with the one it refuses: toJSON's value, not the fields.
    expect(new Unpackr({ moreTypes: true, useRecords: false }).unpack(new Packr({ moreTypes: true, useRecords: false }).pack(new BelowJson()))).toBe('me');
  });
});
