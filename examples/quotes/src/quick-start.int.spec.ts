import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RuntimeDir } from '@hostmesh/framework';
import { tempRuntimeDir } from '@hostmesh/framework/testing';
import { listQueues } from '@hostmesh/native';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');

/** The commands the README's quick start tells a new user to type in another terminal, as written there. */
function quickStartLines(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Your first service'));
  return [...section.matchAll(/`((?:npx hostmesh|examples\/quotes\/scripts\/quote\.sh) [^`]+)`/g)].map((match) => match[1]!);
}

// The README's quick start, literally: `npm start` piped through `cat` as a terminal user
// might, the lines it gives run verbatim from the repository root, then Ctrl-C to the whole
// pipeline. Only HOSTMESH_RUNTIME_DIR is set, so the test has a runtime directory of its own.
describe("the README's quick start, as written", () => {
  const runtime = tempRuntimeDir('hm-qs-');
  const env = { ...process.env, HOSTMESH_RUNTIME_DIR: runtime.path, NO_COLOR: '1' };
  let start: ChildProcess | undefined;
  let output = '';
  let exited: Promise<number | null> = Promise.resolve(null);

  /** Whether any process of the pipeline's group (npm, the supervisor, the services, cat) is left. */
  const groupAlive = () => {
    try {
      process.kill(-start!.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };

  afterAll(() => {
    // The whole group, whatever the test got to: the shell may be gone while the supervisor is not.
    if (start?.pid && groupAlive()) process.kill(-start.pid, 'SIGKILL');
    start?.stdout?.destroy();
    start?.stderr?.destroy();
    runtime.remove();
  });

  const waitFor = async (text: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!output.includes(text)) {
      if (Date.now() > deadline) throw new Error(`npm start did not print "${text}" within ${timeoutMs} ms:\n${output}`);
      if (start?.exitCode !== null) throw new Error(`npm start ended before printing "${text}":\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it('finds the lines to run in the README', () => {
    expect(quickStartLines()).toEqual([
      'npx hostmesh ps',
      `npx hostmesh call pricing.quote '{"symbol":"ACME","quantity":10}'`,
      'npx hostmesh logs -F',
      'examples/quotes/scripts/quote.sh ACME 10',
    ]);
  });

  it('npm start | cat serves, the lines answer, and Ctrl-C to the pipeline leaves nothing behind', async () => {
    start = spawn('bash', ['-c', 'npm start | cat'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    start.stdout!.on('data', (chunk) => (output += chunk));
    start.stderr!.on('data', (chunk) => (output += chunk));
    exited = new Promise((resolve) => start!.once('exit', resolve));
    await waitFor('monitor is ready', 90_000);

    const [ps, call, logs, quote] = quickStartLines();
    const line = async (command: string) => (await run('bash', ['-c', command], { cwd: ROOT, env, timeout: 30_000 })).stdout;
    expect(await line(ps!)).toMatch(/pricing@0 +\d+ +ready[\s\S]*monitor@0 +\d+ +ready/);
    expect(JSON.parse(await line(call!))).toMatchObject({ symbol: 'ACME', quantity: 10 });
    // The contract's schemas refuse a bad argument before the handler runs, naming it (docs/call-context.md).
    const refused = await run('bash', ['-c', `npx hostmesh call pricing.quote '{"symbol":"ACME","quantity":"ten"}'`], { cwd: ROOT, env, timeout: 30_000 }).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toMatch(/ValidationError.*invalid arguments for pricing\.quote: quantity: /);
    // `logs -F` follows until stopped: what it printed in a few seconds.
    const follow = spawn('bash', ['-c', logs!], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    follow.stdout!.on('data', (chunk) => (followed += chunk));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    process.kill(-follow.pid!, 'SIGINT');
    await new Promise((resolve) => follow.once('exit', resolve));
    expect(followed).toMatch(/monitor@0 .*call +pricing\.quote ACME x10 = \d+\.\d\d/);
    expect(JSON.parse(await line(quote!))).toMatchObject({ result: { symbol: 'ACME', quantity: 10 } });

    // Ctrl-C at the terminal: SIGINT to the whole process group, `cat` included, so the
    // supervisor's stdout breaks while it drains.
    // The names of this deployment's kernel objects, read before the stop renews the key.
    const prefix = new RuntimeDir(runtime.path, 'quotes-example').objectPrefix();
    process.kill(-start.pid!, 'SIGINT');
    await exited;
    // The shell returns at once; the supervisor drains on, and every process of the group must end.
    for (let waited = 0; groupAlive(); waited += 100) {
      if (waited > 30_000) throw new Error(`the deployment did not stop within 30 s of Ctrl-C:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // (Its last lines went to `cat`, which Ctrl-C ended: what it left is checked instead.)
    expect(existsSync(join(runtime.path, 'quotes-example', 'supervisor.json'))).toBe(false);
    expect(readdirSync('/dev/shm').filter((name) => name.includes(prefix))).toEqual([]);
    // Queues are listed where /dev/mqueue is mounted, or as root (CI): elsewhere /dev/shm is what can be checked.
    const listing = listQueues();
    expect(listing.ok ? listing.queues.filter((queue) => queue.name.includes(prefix)) : []).toEqual([]);
  }, 150_000);
});
