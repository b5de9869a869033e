import fc from 'fast-check';
import { FrameError, fromWireError, HostmeshError } from '@hostmesh/framework';
import { protocol } from '@hostmesh/framework/internal';
import { check, type FuzzTarget } from './target';

const { FrameCodec, FrameParser, checkHeader, encodeStatelessFrame, writeHeader, HEADER_BYTES } = protocol;
const MAX_BODY = 96;
// const enums do not cross the package boundary as values: the wire numbers, as in docs/protocol.md.
const KINDS = [1, 2, 3, 4, 5, 6, 7, 8];
const FLAGS = [0, 0x01, 0x02, 0x04, 0x03];
const ERROR_KIND = 3;

const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 });

function edited(bytes: Uint8Array, changes: Array<[number, number]>): Buffer {
  const out = Buffer.from(bytes);
  for (const [at, value] of changes) if (out.length > 0) out[at % out.length] = value;
  return out;
}

/** A valid frame whose body is real msgpack (of anything) or noise. */
const frame = fc
  .record({
    kind: fc.constantFrom(...KINDS),
    flags: fc.constantFrom(...FLAGS),
    id: fc.nat(),
    body: fc.oneof(
      fc.uint8Array({ maxLength: MAX_BODY }),
      fc.anything({ maxDepth: 2 }).map((value) => encodeStatelessFrame(2, 0, 0, value, 1 << 20).subarray(HEADER_BYTES)),
    ),
  })
  .map(({ kind, flags, id, body }) => {
    const out = Buffer.alloc(HEADER_BYTES + body.length);
    writeHeader(out, kind as never, flags, id, 7, body.length);
    out.set(body, HEADER_BYTES);
    return out;
  });

/** The chunks a socket might deliver. */
function split(stream: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, stream.length]) {
    chunks.push(stream.subarray(from, point));
    from = point;
  }
  return chunks;
}

/** What a correct parser makes of `stream`, from docs/protocol.md rather than from frame.ts. */
function oracle(stream: Buffer): { delivered: number; error: boolean } {
  let at = 0;
  while (stream.length - at >= HEADER_BYTES) {
    const [magic, version, kind, flags] = stream.subarray(at, at + 4);
    const length = stream.readUInt32LE(at + 12);
    if (magic !== 0xa7 || version !== 1 || kind! < 1 || kind! > 8 || (flags! & ~0x7f) !== 0 || length > MAX_BODY) return { delivered: at, error: true };
    if (at + HEADER_BYTES + length > stream.length) break;
    at += HEADER_BYTES + length;
  }
  return { delivered: at, error: false };
}

/** A byte stream cut into chunks, parsed and every frame decoded, as one connection does. */
export const frameStreamTarget: FuzzTarget<{ stream: Buffer; cuts: number[] }> = {
  name: 'frame-parser+decode',
  typed: [FrameError],
  arbitrary: fc.record({
    stream: fc.oneof(
      fc.tuple(fc.array(frame, { maxLength: 6 }), edits).map(([frames, changes]) => edited(Buffer.concat(frames), changes)),
      fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
    ),
    cuts: fc.array(fc.nat(), { maxLength: 8 }),
  }),
  run({ stream, cuts }) {
    const codec = new FrameCodec(1 << 20);
    const expected = oracle(stream);
    let delivered = 0;
    let bodyRefused = false;
    const parser = new FrameParser(MAX_BODY, (buffer, start, end) => {
      check(start >= 0 && end <= buffer.length, `frame [${start}, ${end}) outside its ${buffer.length}-byte buffer`);
      check(end - start === HEADER_BYTES + checkHeader(buffer, start, MAX_BODY), 'frame length differs from its header');
      check(buffer.subarray(start, end).equals(stream.subarray(delivered, delivered + end - start)), 'frame is not the next bytes of the stream');
      delivered += end - start;
      bodyRefused = true; // until the codec says otherwise: a FrameError from here is about the body
      decodeLikeAPeer(codec, buffer, start, end);
      bodyRefused = false;
    });
    try {
      for (const chunk of split(stream, cuts)) parser.push(chunk);
    } catch (error) {
      // A header error must be the oracle's, after exactly the frames before it.
      if (error instanceof FrameError && !bodyRefused) check(expected.error && delivered === expected.delivered, 'FrameError where the stream is valid');
      throw error;
    }
    check(!expected.error, 'a bad header went unnoticed');
    check(delivered === expected.delivered, `${delivered} bytes of frames delivered, ${expected.delivered} expected`);
  },
};

function decodeLikeAPeer(codec: InstanceType<typeof FrameCodec>, buffer: Buffer, start: number, end: number): void {
  const value = codec.decode(buffer, start, end, false);
  // What rpc-client does with the body of an error frame: it must become a typed error.
  if (buffer[start + 2] === ERROR_KIND) {
    const error = fromWireError(value, 'fuzz');
    check(error instanceof HostmeshError && typeof error.code === 'string', 'error body not rebuilt as a HostmeshError');
  }
}

/** Garbage and mutated msgpack bodies under valid headers, through one long-lived codec. */
export function codecTarget(): FuzzTarget<{ kind: number; flags: number; body: Buffer; copy: boolean }> {
  const codec = new FrameCodec(1 << 20);
  return {
    name: 'codec-decode',
    typed: [FrameError],
    arbitrary: fc.record({
      kind: fc.constantFrom(2, 3, 1),
      flags: fc.constantFrom(...FLAGS),
      body: fc.oneof(
        fc.uint8Array({ maxLength: 128 }).map((bytes) => Buffer.from(bytes)),
        fc.tuple(fc.anything(), edits).map(([value, changes]) => edited(encodeStatelessFrame(2, 0, 0, value, 1 << 20).subarray(HEADER_BYTES), changes)),
      ),
      copy: fc.boolean(),
    }),
    run({ kind, flags, body, copy }) {
      const out = Buffer.alloc(HEADER_BYTES + body.length);
      writeHeader(out, kind as never, flags, 1, 2, body.length);
      out.set(body, HEADER_BYTES);
      const value = codec.decode(out, 0, out.length, copy);
      if (kind === ERROR_KIND) check(fromWireError(value, 'fuzz') instanceof HostmeshError, 'error body not rebuilt as a HostmeshError');
    },
  };
}
