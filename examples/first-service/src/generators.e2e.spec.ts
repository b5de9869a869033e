import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tempRuntimeDir } from '@hostmesh/framework/testing';

const REPO = join(__dirname, '..', '..', '..');
const SETUP_MARKER = '<!-- e2e: set-up, run line by line by examples/first-service/src/generators.e2e.spec.ts';
const MARKER = '<!-- e2e: run line by line by examples/first-service/src/generators.e2e.spec.ts';
const COMMAND_TIMEOUT_MS = 120_000;
// The set-up installs nx, packs hostmesh and builds its native addon: minutes on a cold cache.
const SETUP_TIMEOUT_MS = 420_000;
// `hostmesh logs` may run before the subscriber has written the line the event caused.
const RETRIED = /^npx hostmesh (logs|ps)\b/;

interface Step {
  line: string;
  expected?: string;
}

/** The first ```sh block after `marker` in the README. */
function readmeBlock(marker: string): string {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README.md lost the e2e block marker ${marker}`);
  return /```sh\n([\s\S]*?)```/.exec(readme.slice(at))![1]!;
}

/** The README's "Your first service" block, each line with the output its `# →` comment promises. */
function readmeSteps(): Step[] {
  return readmeBlock(MARKER)
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => ({ line, expected: /# → (.*)$/.exec(line)?.[1]?.trim() }));
}

/**
 * This process's environment without what `npm test` put in it: a nested npm must see the new
 * workspace as a user's shell would, not the configuration of hostmesh's own root package.
 */
function userEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== 'INIT_CWD'));
}

describe("the README's first service, generated with nx in a fresh workspace", () => {
  const runtime = tempRuntimeDir();
  // The README's set-up runs here: the tarballs land in it, and `mkdir acme` makes the workspace.
  const home = mkdtempSync(join(tmpdir(), 'hostmesh-e2e-'));
  const workspace = join(home, 'acme');
  const env = {
    ...userEnvironment(),
    // npm's cache, which this checkout's own install filled, before the registry; no audit or funding requests.
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
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
    // The README's set-up lines, as one shell would run them (`cd acme` carries on to the next line),
    // with this checkout, built by its own `npm install`, for /path/to/hostmesh.
    const script = readmeBlock(SETUP_MARKER).replaceAll('/path/to/hostmesh', REPO);
    const result = spawnSync('bash', ['-e', '-c', script], { cwd: home, env, encoding: 'utf8', timeout: SETUP_TIMEOUT_MS, killSignal: 'SIGKILL' });
    if (result.status !== 0)
      throw new Error(`the README's set-up lines failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout}${result.stderr}`);
  }, SETUP_TIMEOUT_MS + 10_000);

  afterAll(() => {
    // Whatever happened above, nothing keeps running: down is idempotent.
    run('npx hostmesh down');
    rmSync(home, { recursive: true, force: true });
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

  it(
    'keeps depending on the packed tarballs, and installs again offline from its lockfile',
    () => {
      const manifest = JSON.parse(readFileSync(join(workspace, 'package.json'), 'utf8'));
      const specs = { ...manifest.dependencies, ...manifest.devDependencies };
      for (const name of ['native', 'framework', 'cli']) expect(specs[`@hostmesh/${name}`]).toBe(`file:../hostmesh-${name}-0.1.0.tgz`);
      rmSync(join(workspace, 'node_modules'), { recursive: true, force: true });
      const install = spawnSync('npm', ['install', '--offline'], { cwd: workspace, env, encoding: 'utf8', timeout: SETUP_TIMEOUT_MS, killSignal: 'SIGKILL' });
      if (install.status !== 0)
        throw new Error(`npm install --offline failed (${install.error?.message ?? `exit ${install.status}`}):\n${install.stdout}${install.stderr}`);
      // What was reinstalled runs: the addon built again, and a service answers through the CLI.
      expect(run('npx hostmesh doctor').output).toMatch(/message queues\s+ok/);
      expect(run('npx hostmesh up --detach').code).toBe(0);
      expect(run('npx hostmesh call pricing.bestOffer \'"ACME"\'').output).toContain('"best-offer: ACME"');
      expect(run('npx hostmesh down').code).toBe(0);
    },
    SETUP_TIMEOUT_MS + 60_000,
  );
});
