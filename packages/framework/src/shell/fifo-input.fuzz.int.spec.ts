import { closeSync, constants, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { mkfifo } from '@hostmesh/native';
import fc from 'fast-check';
import { Mesh } from '../runtime/mesh';
import { spawnService, type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';

const FIXTURE = join(__dirname, '..', 'testing', 'fixtures', 'conformance.main.ts');
const MAX_LINE = 1 << 20;
const PIPE_BUF = 4096;
const LINES = 300;
const seed = process.env.FUZZ_SEED === undefined ? 0x5eed : Number(process.env.FUZZ_SEED);

/** Reads JSON lines from a FIFO we hold open read-write, so writers never see ENXIO or EOF. */
class LineReader {
  private readonly socket: Socket;
  private partial = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;

  constructor(
    path: string,
    private readonly service: () => SpawnedService,
  ) {
    this.socket = new Socket({ fd: openSync(path, constants.O_RDWR | constants.O_NONBLOCK), readable: true, writable: false });
    this.socket.setEncoding('utf8');
    this.socket.on('data', (text: string) => {
      const parts = (this.partial + text).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
      this.waiter?.();
    });
  }

  async next(what: string, timeoutMs = 5000): Promise<{ id?: unknown; result?: unknown; error?: Record<string, unknown> }> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      // A dead service answers nothing: say so rather than time out.
      if (!this.service().running) throw new Error(`the service died after ${what}:\n${this.service().output.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`no reply within ${timeoutMs} ms to ${what}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    return JSON.parse(this.lines.shift()!);
  }

  get queued(): number {
    return this.lines.length;
  }

  close(): void {
    this.socket.destroy();
  }
}

type Expected = { on: 'none' } | { on: 'out' | 'fifo'; error: true; id?: unknown } | { on: 'out' | 'fifo'; error: false; result: unknown; id?: unknown };

/** What the endpoint must answer to `bytes`, worked out independently of its code. */
function expectationFor(bytes: Buffer, replyFifo: string): Expected {
  if (bytes.length > MAX_LINE) return { on: 'out', error: true };
  // Longer than PIPE_BUF with its newline: another writer's line could be interleaved with it.
  if (bytes.length >= PIPE_BUF) return { on: 'out', error: true };
  const text = new TextDecoder().decode(bytes);
  if (text.trim() === '') return { on: 'none' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // A short line that is not JSON is answered on the FIFO its text names, when that is ours.
    // eslint-disable-next-line no-control-regex -- the endpoint's own pattern: a reply path may not contain NUL
    const named = /"replyTo"\s*:\s*"([^"\\\u0000]*)"/.exec(text)?.[1];
    return { on: named === replyFifo ? 'fifo' : 'out', error: true };
  }
  let args: unknown[] = [value];
  let id: unknown;
  let on: 'out' | 'fifo' = 'out';
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'args' in value) {
    const envelope = value as { args: unknown[]; id?: unknown; replyTo?: unknown };
    if (envelope.replyTo !== undefined && typeof envelope.replyTo !== 'string') return { on: 'out', error: true };
    if (typeof envelope.replyTo === 'string') {
      if (envelope.replyTo !== replyFifo) return { on: 'none' }; // refused: logged, never written
      on = 'fifo';
    }
    if (!Array.isArray(envelope.args))
      return { on, error: true, ...(typeof envelope.id === 'string' || typeof envelope.id === 'number' ? { id: envelope.id } : {}) };
    args = envelope.args;
    id = envelope.id;
  }
  try {
    // The echo endpoint returns its first argument; the reply is its JSON round trip.
    return { on, error: false, ...JSON.parse(JSON.stringify({ id, result: args[0] ?? null })) };
  } catch {
    return { on, error: true, ...(typeof id === 'string' || typeof id === 'number' ? { id } : {}) };
  }
}

describe('FIFO endpoint fed hostile lines (fast-check, real FIFOs, service in its own process)', () => {
  const runtime = tempRuntimeDir();
  const namespace = 'fuzz';
  const pipes = join(runtime.path, namespace, 'pipes', 'conformance@0');
  const replyFifo = join(runtime.path, 'reply.fifo');
  const precious = join(runtime.path, 'precious.txt');
  let service: SpawnedService;
  let out: LineReader;
  let replies: LineReader;

  beforeAll(async () => {
    service = await spawnService(FIXTURE, {
      env: { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: namespace, HOSTMESH_SHELL: 'echo' },
      ready: { service: 'conformance', runtimeDir: runtime.path, namespace },
    });
    mkfifo(replyFifo, 0o600);
    writeFileSync(precious, 'keep me');
    out = new LineReader(join(pipes, 'echo.out'), () => service);
    replies = new LineReader(replyFifo, () => service);
  }, 30_000);
  afterAll(async () => {
    out?.close();
    replies?.close();
    await service.stop();
    const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent' });
    await mesh.registry.purgeSubscriptions();
    await mesh.close(0);
    runtime.remove();
  });

  it(`answers ${LINES} generated hostile lines one by one with typed errors or echoes, and stays up`, async () => {
    const replyTo = fc.oneof(
      fc.constant(replyFifo),
      fc.constantFrom(
        precious,
        runtime.path,
        join(runtime.path, 'missing.fifo'),
        'relative.fifo',
        '',
        `${replyFifo}\u0000x`,
        `/${'d'.repeat(5000)}`,
        '/proc/1/root/x',
      ),
      fc.string({ maxLength: 30 }),
    );
    const json = fc.jsonValue({ maxDepth: 3 });
    const line = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 120 }).map((text) => Buffer.from(text)),
      fc.uint8Array({ minLength: 1, maxLength: 80 }).map((bytes) => Buffer.from(bytes)), // invalid UTF-8 too
      json.map((value) => Buffer.from(JSON.stringify(value))),
      fc
        .record({ args: fc.oneof(fc.array(json, { maxLength: 3 }), json), id: json, replyTo: fc.oneof(replyTo, json) }, { requiredKeys: [] })
        .map((value) => Buffer.from(JSON.stringify(value))),
      fc
        .constantFrom('1e400', '-1e400', '123456789012345678901234567890', 'NaN', '{"args":', '{"args":[1],"replyTo":5}', '{"id":3}')
        .map((text) => Buffer.from(text)),
      fc.integer({ min: 1, max: 300_000 }).map((depth) => Buffer.from('['.repeat(depth) + ']'.repeat(depth))),
    );
    const generated = fc.sample(line, { numRuns: LINES, seed }).map((bytes) => Buffer.from(bytes.filter((byte) => byte !== 0x0a)));
    // Always among them, wherever the sample falls: too deep to echo, a deep id, too long, NUL in a path.
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    // Long lines: over PIPE_BUF, refused whole (fifo-endpoint.int.spec.ts covers large replies).
    const big = JSON.stringify('y'.repeat(MAX_LINE - 100));
    const fixed = [
      deep,
      `{"args":[1],"id":${deep},"replyTo":${JSON.stringify(replyFifo)}}`,
      'x'.repeat(MAX_LINE + 10),
      `{"args":[1],"replyTo":"${replyFifo}\\u0000"}`,
      big,
      `{"args":[${JSON.stringify('z'.repeat(600_000))}],"id":2,"replyTo":${JSON.stringify(replyFifo)}}`,
    ];
    const lines = [...fixed.map((text) => Buffer.from(text)), ...generated];

    const input = openSync(join(pipes, 'echo.in'), constants.O_WRONLY);
    const tally = { errors: 0, results: 0, silent: 0 };
    try {
      for (const [i, bytes] of lines.entries()) {
        const expected = expectationFor(bytes, replyFifo);
        writeSync(input, Buffer.concat([bytes, Buffer.from('\n')]));
        if (expected.on === 'none') {
          tally.silent++;
          continue;
        }
        const what = `line ${i}: ${JSON.stringify(bytes.subarray(0, 80).toString())}`;
        const reply = await (expected.on === 'out' ? out : replies).next(what);
        if (expected.error) {
          expect({ what, error: reply.error }).toMatchObject({ what, error: { name: 'FrameError', code: 'FRAME_INVALID', retryable: false } });
          if ('id' in expected) expect(reply.id).toEqual(expected.id);
          tally.errors++;
        } else {
          expect({ what, reply }).toEqual({ what, reply: { id: expected.id, result: expected.result } });
          tally.results++;
        }
      }
    } finally {
      closeSync(input);
    }
    // Nothing unexpected was written anywhere, the service is still up and serves a plain request.
    expect(out.queued).toBe(0);
    expect(replies.queued).toBe(0);
    expect(readFileSync(precious, 'utf8')).toBe('keep me');
    expect(service.running).toBe(true);
    const again = openSync(join(pipes, 'echo.in'), constants.O_WRONLY);
    writeSync(again, '{"args":["still here"],"id":"last"}\n');
    closeSync(again);
    expect(await out.next('the final valid request')).toEqual({ id: 'last', result: 'still here' });
    expect(service.output).not.toMatch(/Uncaught|unhandled|RangeError|ERR_INVALID_ARG_VALUE/i);
    expect(tally.errors).toBeGreaterThan(50);
    expect(tally.results).toBeGreaterThan(50);
    expect(tally.silent).toBeGreaterThan(5);
  }, 120_000);
});
