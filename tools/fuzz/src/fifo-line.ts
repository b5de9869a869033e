import fc from 'fast-check';
import { FrameError } from '@hostmesh/framework';
import { FifoEndpoint } from '@hostmesh/framework/internal';
import { check, type FuzzTarget } from './target';

const MAX_LINE = 1 << 20;
// Built once: a million fresh megabyte strings would measure the allocator, not the parser.
const LONG_LINES = [
  'x'.repeat(MAX_LINE + 1),
  `"${'x'.repeat(MAX_LINE - 2)}"`,
  'é'.repeat(MAX_LINE / 2 + 1), // few characters, too many bytes
  `[${'1,'.repeat(MAX_LINE / 2)}1]`,
];
const DEEP_LINES = ['['.repeat(300_000) + ']'.repeat(300_000), '['.repeat(300_000), `{"args":${'['.repeat(100_000)}${']'.repeat(100_000)},"id":1}`];
const decoder = new TextDecoder(); // replaces bad UTF-8 with U+FFFD, as the endpoint's stream decoder does

function mutate(text: string, changes: Array<[number, string | null]>): string {
  let out = text;
  for (const [at, insert] of changes) {
    const i = out.length === 0 ? 0 : at % out.length;
    out = insert === null ? out.slice(0, i) + out.slice(i + 1) : out.slice(0, i) + insert + out.slice(i);
  }
  return out;
}

export const hostileLine: fc.Arbitrary<string> = fc.oneof(
  { weight: 40, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  {
    weight: 40,
    arbitrary: fc
      .tuple(
        fc.json({ maxDepth: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.option(fc.constantFrom('{', '}', '[', ']', '"', ',', ':', '\\', 'e9', '\u0000'))), { maxLength: 3 }),
      )
      .map(([json, changes]) => mutate(json, changes)),
  },
  {
    weight: 60,
    arbitrary: fc
      .record(
        {
          args: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 3 })), fc.jsonValue({ maxDepth: 2 })),
          id: fc.jsonValue({ maxDepth: 2 }),
          replyTo: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 }), fc.constantFrom('/tmp/a\u0000b', `/${'a'.repeat(5000)}`, 'relative/path', '')),
        },
        { requiredKeys: [] },
      )
      .map((value) => JSON.stringify(value)),
  },
  { weight: 10, arbitrary: fc.integer({ min: 1, max: 5_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)) },
  { weight: 10, arbitrary: fc.integer({ min: 1, max: 5_000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth - 1)) },
  { weight: 1, arbitrary: fc.constantFrom(...DEEP_LINES) },
  {
    weight: 20,
    arbitrary: fc.constantFrom('1e400', '-1e400', '123456789012345678901234567890', '0x10', 'NaN', '-0', '1.', '.5', '+1', '1e', '\u2028', ' ', '\ufeff1'),
  },
  { weight: 30, arbitrary: fc.uint8Array({ maxLength: 120 }).map((bytes) => decoder.decode(bytes.filter((byte) => byte !== 0x0a))) },
  { weight: 1, arbitrary: fc.constantFrom(...LONG_LINES) },
);

/** The endpoint's request line parser: a request, a blank line, or a FrameError. */
export const fifoLineTarget: FuzzTarget<string> = {
  name: 'fifo-line',
  typed: [FrameError],
  arbitrary: hostileLine,
  run(line) {
    const envelope = FifoEndpoint.parseRequestLine(line);
    if (envelope === undefined) {
      check(line.trim() === '', 'a non-blank line parsed as blank');
      return;
    }
    check(Array.isArray(envelope.args), 'args is not a list');
    check(envelope.replyTo === undefined || typeof envelope.replyTo === 'string', 'replyTo is not a string');
  },
};
