import { RuntimeDir } from '@hostmesh/framework';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { listQueues, MessageQueue, processStartTime } from '@hostmesh/native';
import { spawnService, tempRuntimeDir } from '@hostmesh/framework/testing';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');
/** What `npm start` runs: the built CLI on the built example (npm test builds first). */
const HOSTMESH = join(ROOT, 'packages', 'cli', 'bin', 'hostmesh.js');
const MANIFEST = join(__dirname, '..', 'hostmesh.json');

describe('the quotes example under `hostmesh up`', () => {
  const runtime = tempRuntimeDir();
  const env = { ...process.env, HOSTMESH_RUNTIME_DIR: runtime.path, NO_COLOR: '1' };
  const namespace = join(runtime.path, 'quotes-example');
  afterAll(() => runtime.remove());

  const hostmesh = async (...args: string[]) => (await run(process.execPath, [HOSTMESH, ...args], { env, timeout: 20_000 })).stdout;

  it('runs both services, answers ps, call and the shell pipe from another terminal, and Ctrl-C leaves nothing behind', async () => {
    expect(existsSync(join(ROOT, 'packages', 'cli', 'dist', 'bin', 'hostmesh.js'))).toBe(true);
    const up = await spawnService(HOSTMESH, { args: ['up', MANIFEST], env: { HOSTMESH_RUNTIME_DIR: runtime.path, NO_COLOR: '1' } });
    let pids: number[] = [];
    let monitorQueue = '';
    let prefix = '.quotes-example.';
    try {
      await up.waitForOutput('monitor is ready', 20_000);
      monitorQueue = new RuntimeDir(runtime.path, 'quotes-example').objectName('ev.monitor'); // before the stop renews the key
      // This deployment's objects only: another quotes-example (another runtime dir) may run meanwhile.
      prefix = new RuntimeDir(runtime.path, 'quotes-example').objectPrefix();
      await up.waitForOutput(/monitor@0 +\| \[monitor@0\] info: call +pricing\.quote ACME x10 = \d+\.\d\d/, 10_000);
      await up.waitForOutput(/monitor@0 +\| \[monitor@0\] info: event +price\.changed [A-Z]+ → \d+\.\d\d/, 10_000);
      await up.waitForOutput(/call +pricing\.symbols = ACME, GLOBEX, INITECH/, 10_000);

      const ps = JSON.parse(await hostmesh('ps', '--json', '-n', 'quotes-example')) as {
        instances: Array<{
          service: string;
          pid: number;
          state: string;
          health: { endpoints: Array<{ name: string; mechanism: string }>; events: Array<{ name: string; mechanism: string }> };
        }>;
      };
      pids = ps.instances.map((i) => i.pid);
      expect(ps.instances.map((i) => [i.service, i.state])).toEqual([
        ['pricing', 'ready'],
        ['monitor', 'ready'],
      ]);
      const mechanisms = ps.instances.flatMap((i) => [...i.health.endpoints, ...i.health.events].map((e) => `${e.name}:${e.mechanism}`));
      expect(mechanisms).toEqual(expect.arrayContaining(['pricing.quote:shm', 'pricing.symbols:fifo', 'price.changed:mqueue']));

      const quote = JSON.parse(await hostmesh('call', 'pricing.quote', '{"symbol":"INITECH","quantity":3}', '-n', 'quotes-example'));
      expect(quote).toMatchObject({ symbol: 'INITECH', quantity: 3 });
      const shell = JSON.parse((await run('sh', [join(__dirname, '..', 'scripts', 'quote.sh'), 'GLOBEX', '4'], { env, timeout: 10_000 })).stdout);
      expect(shell).toMatchObject({ result: { symbol: 'GLOBEX', quantity: 4 } });
      // A quantity that is not a number: an error line at once (the script checks what it puts in JSON), and no FIFO left.
      const scratch = mkdtempSync(join(tmpdir(), 'hm-quote-'));
      try {
        const started = Date.now();
        const bad = await run('sh', [join(__dirname, '..', 'scripts', 'quote.sh'), 'ACME', 'abc'], { env: { ...env, TMPDIR: scratch }, timeout: 10_000 }).catch(
          (e: { code: number; stdout: string }) => e,
        );
        const took = Date.now() - started;
        process.stdout.write(`quote.sh ACME abc answered in ${took} ms\n`);
        expect((bad as { code: number }).code).toBe(1);
        expect(JSON.parse((bad as { stdout: string }).stdout)).toEqual({
          error: { name: 'UsageError', code: 'BAD_ARGUMENT', message: 'quantity must be a whole number', retryable: false },
        });
        expect(took).toBeLessThan(5000); // the script's own timeout did not have to end it
        expect(readdirSync(scratch)).toEqual([]); // its reply FIFO is gone
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }

      up.child.kill('SIGINT');
      expect(await up.exited).toEqual({ code: 0, signal: null });
    } finally {
      await up.kill();
    }
    expect(up.output).toMatch(/monitor@0 +\| \[monitor@0\] info: stopped/);
    expect(up.output).toMatch(/pricing@0 +\| \[pricing@0\] info: stopped/);
    expect(up.output).toContain('all services stopped');
    // No process, no kernel object, no registry or socket file is left.
    for (const pid of pids) expect(processStartTime(pid)).toBeUndefined();
    expect(readdirSync('/dev/shm').filter((name) => name.includes(prefix))).toEqual([]);
    const queues = listQueues();
    if (queues.ok) expect(queues.queues.filter((queue) => queue.name.includes(prefix))).toEqual([]);
    // Without root or a mounted mqueue filesystem queues cannot be listed: the monitor's own must be gone.
    else expect(() => MessageQueue.open(monitorQueue)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    // A clean stop renews the object key: names seen during this run are of no use against the next.
    expect(existsSync(join(namespace, 'objects.key'))).toBe(false);
    for (const dir of ['registry', 'sock', 'subscriptions']) expect(readdirSync(join(namespace, dir))).toEqual([]);
    expect(existsSync(join(namespace, 'supervisor.json'))).toBe(false);
  }, 60_000);

  it("runs the docs' group example (docs/cli.md) as written: both services in one process, pricing reached over threads", async () => {
    const docs = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
    const example = /### Groups[\s\S]*?```json\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(example).toBeDefined();
    // Next to the example's own manifest, so that its entries resolve; its own namespace.
    const manifest = join(__dirname, '..', `hostmesh.group-${process.pid}.json`);
    writeFileSync(manifest, JSON.stringify({ ...JSON.parse(example!), namespace: 'quotes-group' }));
    const up = await spawnService(HOSTMESH, { args: ['up', manifest], env: { HOSTMESH_RUNTIME_DIR: runtime.path, NO_COLOR: '1' } });
    try {
      await up.waitForOutput(/group quotes \(pricing, monitor\) is ready \(pid \d+\)/, 30_000);
      // monitor calls pricing.quote every second, in the same process.
      await up.waitForOutput(/monitor@0 +\| \[monitor@0\] info: call +pricing\.quote ACME x10 = \d+\.\d\d/, 10_000);
      const ps = JSON.parse(await hostmesh('ps', '--json', '-n', 'quotes-group')) as {
        instances: Array<{ service: string; pid: number; group: string; health: { endpoints: Array<{ name: string; mechanism: string; calls: number }> } }>;
      };
      expect(ps.instances.map((i) => [i.service, i.group])).toEqual([
        ['pricing', 'quotes'],
        ['monitor', 'quotes'],
      ]);
      expect(ps.instances[0]!.pid).toBe(ps.instances[1]!.pid);
      expect(ps.instances[0]!.health.endpoints.find((e) => e.name === 'pricing.quote')).toMatchObject({ mechanism: 'thread' });
      const quote = JSON.parse(await hostmesh('call', 'pricing.quote', '{"symbol":"ACME","quantity":2}', '-n', 'quotes-group'));
      expect(quote).toMatchObject({ symbol: 'ACME', quantity: 2 });
      up.child.kill('SIGINT');
      expect(await up.exited).toEqual({ code: 0, signal: null });
      expect(processStartTime(ps.instances[0]!.pid)).toBeUndefined();
      expect(up.output).toMatch(/pricing@0 +\| \[pricing@0\] info: stopped/);
    } finally {
      await up.kill();
      rmSync(manifest, { force: true });
    }
  }, 60_000);
});
