import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tempRuntimeDir } from '@hostmesh/framework/testing';

const REPO = join(__dirname, '..', '..', '..');
const MARKER = '<!-- e2e: run line by line by examples/first-service/src/generators.e2e.spec.ts';
const COMMAND_TIMEOUT_MS = 120_000;
// `hostmesh logs` may run before the subscriber has written the line the event caused.
const RETRIED = /^npx hostmesh (logs|ps)\b/;

interface Step {
  line: string;
  expected?: string;
}

/** The README's "Your first service" block, each line with the output its `# →` comment promises. */
function readmeSteps(): Step[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const at = readme.indexOf(MARKER);
  if (at < 0) throw new Error('README.md lost the e2e block marker');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))![1]!;
  return block
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => ({ line, expected: /# → (.*)$/.exec(line)?.[1]?.trim() }));
}

describe("the README's first service, generated with nx in a fresh workspace", () => {
  const runtime = tempRuntimeDir();
  const workspace = mkdtempSync(join(tmpdir(), 'hostmesh-e2e-'));
  const env = {
    ...process.env,
    HOSTMESH_RUNTIME_DIR: runtime.path,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_SKIP_NX_CACHE: 'true',
    NX_TUI: 'false',
    CI: 'true',
  };
  const run = (line: string) => {
    const result = spawnSync('bash', ['-c', line], { cwd: workspace, env, encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL' });
    return { code: result.status, output: `${result.stdout}${result.stderr}`, timedOut: result.error !== undefined };
  };

  beforeAll(() => {
    // What the README's set-up block does, offline: a bare nx workspace, hostmesh and its
    // tools taken from this checkout (its node_modules links packages/* as @hostmesh/*).
    writeFileSync(join(workspace, 'package.json'), JSON.stringify({ name: 'acme', version: '1.0.0', private: true }, null, 2));
    writeFileSync(join(workspace, 'nx.json'), '{}\n');
    symlinkSync(join(REPO, 'node_modules'), join(workspace, 'node_modules'), 'dir');
    mkdirSync(join(workspace, '.nx'), { recursive: true });
  });

  afterAll(() => {
    // Whatever happened above, nothing keeps running: down is idempotent.
    run('npx hostmesh down');
    rmSync(workspace, { recursive: true, force: true });
    runtime.remove();
  });

  it('generates, builds, tests and runs two services, one calling the other over shared memory', async () => {
    const steps = readmeSteps();
    expect(steps.map((step) => step.line.split('#')[0]!.trim())).toContain('npx hostmesh call monitor.callPricing');
    for (const step of steps) {
      let result = run(step.line);
      for (let attempt = 0; RETRIED.test(step.line) && step.expected && !result.output.includes(step.expected) && attempt < 20; attempt++) {
        spawnSync('sleep', ['0.25']);
        result = run(step.line);
      }
      // A red test names the failing line and shows what it printed.
      if (result.code !== 0 || result.timedOut)
        throw new Error(`\`${step.line}\` ${result.timedOut ? 'timed out' : `exited with ${result.code}`}:\n${result.output}`);
      if (step.expected) expect({ line: step.line, output: result.output }).toEqual({ line: step.line, output: expect.stringContaining(step.expected) });
    }
    const manifest = JSON.parse(readFileSync(join(workspace, 'hostmesh.json'), 'utf8'));
    expect(manifest.services).toEqual({
      pricing: { entry: 'dist/services/pricing/src/main.js' },
      monitor: { entry: 'dist/services/monitor/src/main.js', dependsOn: ['pricing'] },
    });
    // `down` left nothing running.
    expect(run('npx hostmesh ps').output).toContain("nothing is running in namespace 'acme'");

    // A service served on its own by nx joins the manifest's namespace, where ps (run in the workspace) looks.
    const serve = spawn('npx', ['nx', 'run', 'pricing:serve'], { cwd: workspace, env, detached: true, stdio: 'ignore' });
    const exited = new Promise((resolve) => serve.once('exit', resolve));
    try {
      let listed = '';
      for (let attempt = 0; attempt < 120 && !/pricing@0\s+\d+\s+ready/.test(listed); attempt++) {
        spawnSync('sleep', ['0.5']);
        listed = run('npx hostmesh ps').output;
      }
      expect(listed).toMatch(/pricing@0\s+\d+\s+ready/);
    } finally {
      // nx, npx and the service are one process group: SIGTERM drains the service, SIGKILL if it does not end.
      process.kill(-serve.pid!, 'SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(-serve.pid!, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
    }
  }, 600_000);
});
