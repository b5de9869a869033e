import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// The README's demo, as documented: `sudo ./run.sh` builds two network namespaces joined by
// a veth pair, runs `hostmesh up --host a` in one and `--host b` in the other, and calls
// desk (on b), which calls pricing (on a) over mutual TLS. Creating namespaces needs root.
const RUN = join(__dirname, '..', 'run.sh');
const privileged = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
const describeIfRoot = privileged ? describe : describe.skip;

describeIfRoot(privileged ? 'examples/multi-host: sudo ./run.sh' : 'examples/multi-host (skipped: creating network namespaces needs root and iproute2)', () => {
  let output = '';
  let code: number | null = null;

  beforeAll(async () => {
    const child = spawn(RUN, [], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    // SIGTERM first: run.sh's EXIT trap then tears everything down.
    const stopper = setTimeout(() => child.kill('SIGTERM'), 90_000);
    const killer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(stopper);
    clearTimeout(killer);
  }, 110_000);

  afterAll(() => {
    // Only if run.sh itself could not clean up (killed): its processes, namespaces and directories.
    spawnSync('pkill', ['-KILL', '-f', 'examples/multi-host/dist']);
    for (const host of ['a', 'b']) spawnSync('ip', ['netns', 'del', `hm-demo-${host}`]);
  });

  it('exits 0', () => {
    expect({ code, output }).toEqual({ code: 0, output: expect.any(String) });
  });

  it('answers from the other host, over TLS', () => {
    expect(output).toMatch(/"pricedOn": "a"/);
    expect(output).toMatch(/"desk": "b"/);
    expect(output).toMatch(/"total": 10\d0/);
  });

  it('shows on b where the remote binding goes', () => {
    expect(output).toMatch(/pricing +- +remote .*tcp\+tls → 10\.78\.0\.1:7301 \(host a\)/);
    expect(output).toMatch(/desk@0 +\d+ +ready/);
  });

  it('leaves no namespace, runtime directory or process behind', () => {
    expect(spawnSync('ip', ['netns', 'list']).stdout.toString()).not.toContain('hm-demo-');
    expect(existsSync('/tmp/hm-demo-a') || existsSync('/tmp/hm-demo-b')).toBe(false);
    expect(spawnSync('pgrep', ['-f', 'examples/multi-host/dist']).stdout.toString().trim()).toBe('');
  });
});
