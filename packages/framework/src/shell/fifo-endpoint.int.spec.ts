import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Mesh } from '../runtime/mesh';
import { Conformance } from '../testing/fixtures/conformance.contract';
import { spawnService, type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';

const run = promisify(execFile);
const FIXTURE = join(__dirname, '..', 'testing', 'fixtures', 'conformance.main.ts');

describe('endpoints exposed to shells on named pipes', () => {
  const runtime = tempRuntimeDir();
  const namespace = 'shell';
  const pipes = join(runtime.path, namespace, 'pipes', 'conformance@0');
  let service: SpawnedService;

  beforeAll(async () => {
    service = await spawnService(FIXTURE, {
      env: { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: namespace, HOSTMESH_SHELL: 'add,echo,fail,bytes,count,feed,failAfter' },
      ready: { service: 'conformance', runtimeDir: runtime.path, namespace },
    });
  }, 30_000);
  afterAll(async () => {
    await service.stop();
    const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent' });
    await mesh.registry.purgeSubscriptions();
    await mesh.close(0);
    runtime.remove();
  });

  const shell = async (script: string) => (await run('sh', ['-c', script], { cwd: pipes, timeout: 10_000 })).stdout;
  const lines = (text: string) =>
    text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);

  it('creates 0600 request and reply FIFOs per endpoint', () => {
    for (const name of ['add.in', 'add.out', 'echo.in', 'echo.out']) {
      const stat = statSync(join(pipes, name));
      expect(stat.isFIFO()).toBe(true);
      expect(stat.mode & 0o777).toBe(0o600);
    }
    expect(existsSync(join(pipes, 'sleep.in'))).toBe(false);
  });

  it("answers a bare argument on the endpoint's .out pipe", async () => {
    const out = await shell(`head -n 1 echo.out & sleep 0.1; echo '{"symbol":"ACME"}' > echo.in; wait`);
    expect(JSON.parse(out)).toEqual({ result: { symbol: 'ACME' } });
  });

  it("answers an envelope on the caller's own reply FIFO, with its id", async () => {
    const out = await shell(
      `r=$(mktemp -u) && mkfifo -m 600 $r && (head -n 1 $r > $r.txt &) && sleep 0.1 && ` +
        `echo '{"args":[2,40],"id":7,"replyTo":"'$r'"}' > add.in && sleep 0.3 && cat $r.txt && rm -f $r $r.txt`,
    );
    expect(JSON.parse(out)).toEqual({ id: 7, result: 42 });
  });

  it('answers errors as JSON with name, code and retryable', async () => {
    const out = await shell(`head -n 1 fail.out & sleep 0.1; echo '"typed"' > fail.in; wait`);
    expect(JSON.parse(out)).toEqual({ error: { name: 'OutOfStockError', message: 'ACME is out of stock', code: 'OUT_OF_STOCK', retryable: true } });
  });

  it('answers a line that is not JSON with a FrameError, and keeps serving', async () => {
    const out = await shell(`head -n 2 echo.out & sleep 0.1; echo 'not json' > echo.in; echo '1' > echo.in; wait`);
    const [bad, good] = out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(bad.error).toMatchObject({ name: 'FrameError', code: 'FRAME_INVALID' });
    expect(good).toEqual({ result: 1 });
  });

  it('refuses to write a reply anywhere but a FIFO of this user', async () => {
    const missing = join(runtime.path, 'missing.txt');
    const file = join(runtime.path, 'precious.txt');
    writeFileSync(file, 'keep me');
    await shell(`echo '{"args":[1,1],"replyTo":"${missing}"}' > add.in; echo '{"args":[1,1],"replyTo":"${file}"}' > add.in; sleep 0.2`);
    await service.waitForOutput(`not replying to ${missing}: it does not exist`);
    await service.waitForOutput(`not replying to ${file}: it is not a FIFO`);
    expect(existsSync(missing)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
  });

  it("answers an envelope whose args is not a list with an error, on the envelope's reply FIFO", async () => {
    const out = await shell(
      `r=$(mktemp -u) && mkfifo -m 600 $r && (head -n 1 $r > $r.txt &) && sleep 0.1 && ` +
        `echo '{"args":5,"id":4,"replyTo":"'$r'"}' > add.in && sleep 0.3 && cat $r.txt && rm -f $r $r.txt`,
    );
    expect(JSON.parse(out)).toEqual({
      id: 4,
      error: expect.objectContaining({ name: 'FrameError', message: expect.stringContaining("an envelope's args must be a list, got 5") }),
    });
  });

  it('answers a short line that is not JSON on the reply FIFO its text names, so a script waiting there does not hang', async () => {
    const out = await shell(
      `r=$(mktemp -u) && mkfifo -m 600 $r && (head -n 1 $r > $r.txt &) && sleep 0.1 && ` +
        `echo '{"args":[{"symbol":"ACME","quantity":abc}],"replyTo":"'$r'"}' > add.in && sleep 0.3 && cat $r.txt && rm -f $r $r.txt`,
    );
    expect(JSON.parse(out)).toEqual({ error: expect.objectContaining({ name: 'FrameError', message: expect.stringContaining('not a JSON request') }) });
  });

  it('answers many requests naming one reply FIFO, one reply at a time, none lost', async () => {
    // 20 requests at once, all answered on one FIFO that the reader holds open (read-write,
    // so it sees no end-of-file between the service's replies, each written on its own open).
    const out = await shell(
      `r=$(mktemp -u) && mkfifo -m 600 $r && for i in $(seq 1 20); do echo '{"args":['$i',0],"id":'$i',"replyTo":"'$r'"}'; done > add.in && ` +
        `head -n 20 0<>$r; rm -f $r`,
    );
    expect(
      out
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { result: number }).result)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  }, 30_000);

  it('writes a reply larger than a pipe holds whole, while its reader reads', async () => {
    const out = await run('sh', ['-c', `head -n 1 bytes.out & sleep 0.1; echo '{"args":[300000,7]}' > bytes.in; wait`], {
      cwd: pipes,
      timeout: 10_000,
      maxBuffer: 16 << 20,
    });
    const reply = JSON.parse(out.stdout) as { result: { type: string; data: number[] } };
    expect(reply.result.type).toBe('Buffer');
    expect(reply.result.data).toHaveLength(300_000);
    expect(reply.result.data.every((byte) => byte === 7)).toBe(true);
  });

  it('refuses, never runs, lines longer than PIPE_BUF: two processes writing 300 KB lines to one pipe get one refusal per line', async () => {
    const perWriter = 5;
    const writer = (letter: string) =>
      run(
        process.execPath,
        [
          '-e',
          `const fs = require('fs'); const fd = fs.openSync('echo.in', 'w'); const line = Buffer.from(JSON.stringify('${letter}'.repeat(300 * 1024)) + '\\n');
        for (let i = 0; i < ${perWriter}; i++) for (let at = 0; at < line.length; ) { try { at += fs.writeSync(fd, line, at, line.length - at); } catch (e) { if (e.code !== 'EAGAIN') throw e; } }`,
        ],
        { cwd: pipes, timeout: 20_000 },
      );
    const reader = run('sh', ['-c', `head -n ${2 * perWriter} echo.out`], { cwd: pipes, timeout: 20_000, maxBuffer: 64 << 20 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await Promise.all([writer('a'), writer('b')]);
    const replies = (await reader).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { result?: unknown; error?: { name: string; message: string } });
    // However the kernel interleaved the two writers' bytes, each newline ended one line, and each
    // line one refusal: too long, or (a short tail cut off from its line) not JSON. None ran.
    expect(replies).toHaveLength(2 * perWriter);
    for (const reply of replies)
      expect(reply).toEqual({
        error: expect.objectContaining({ name: 'FrameError', message: expect.stringMatching(/longer than PIPE_BUF \(4096\)|not a JSON request/) }),
      });
    expect(replies.filter((reply) => reply.error?.message.includes('PIPE_BUF')).length).toBeGreaterThanOrEqual(perWriter);
  }, 30_000);

  describe('a handler that returns an async iterable', () => {
    const client = () => Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent' });
    const closedFeed = async (tag: string) => {
      const mesh = client();
      try {
        for (let i = 0; i < 100; i++) {
          const progress = await mesh.client(Conformance).progress(tag);
          if (progress.closed) return progress;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error(`the feed ${tag} was not stopped`);
      } finally {
        await mesh.close(0);
      }
    };
    const replyFifo = `r=$(mktemp -u) && mkfifo -m 600 $r`;

    it("streams one reply line per item to the caller's FIFO, then closes it: cat ends with the stream", async () => {
      const out = await shell(`${replyFifo} && echo '{"args":[4],"id":3,"replyTo":"'$r'"}' > count.in && cat $r; rm -f $r`);
      expect(lines(out)).toEqual([0, 1, 2, 3].map((result) => ({ id: 3, result })));
    });

    it('streams to .out when the line names no FIFO, and an error after the items before it', async () => {
      const out = await shell(`head -n 3 failAfter.out & sleep 0.1; echo 2 > failAfter.in; wait`);
      expect(lines(out)).toEqual([{ result: 0 }, { result: 1 }, { error: expect.objectContaining({ name: 'OutOfStockError', code: 'OUT_OF_STOCK' }) }]);
    });

    it('stops the generator when its reader leaves early (head -n 3): return() runs, the signal aborts', async () => {
      const tag = `head-${Date.now()}`;
      const out = await shell(`${replyFifo} && echo '{"args":["${tag}",5],"replyTo":"'$r'"}' > feed.in && head -n 3 $r; rm -f $r`);
      expect(lines(out)).toEqual([{ result: 0 }, { result: 1 }, { result: 2 }]);
      expect(await closedFeed(tag)).toMatchObject({ closed: true, aborted: true });
    });

    it('pulls no further ahead than the pipe holds while its reader does not read', async () => {
      const tag = `stall-${Date.now()}`;
      // The reader holds the FIFO open for a second before it reads two lines and leaves.
      await shell(`${replyFifo} && echo '{"args":["${tag}",0],"replyTo":"'$r'"}' > feed.in && (sleep 1; head -n 2 >/dev/null) < $r; rm -f $r`);
      // A pipe holds 64 KiB: a few thousand lines of ~14 bytes, where an unbounded writer makes millions in that second.
      const { produced } = await closedFeed(tag);
      expect(produced).toBeGreaterThan(2);
      expect(produced).toBeLessThan(10_000);
    });
  });
});
