import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';

const REPO = join(__dirname, '..', '..', '..', '..');
const COMMAND_TIMEOUT_MS = 120_000;

/**
 * `--stream` end to end, through nx as a user runs it: a workspace on disk whose node_modules is
 * this checkout's (so the generators and the framework are the built ones, `tsc -b` first, as
 * `npm test` does), generated code type-checked, linted by this repository's rules, and its tests
 * run, one of them against the service in its own process. The README's e2e covers installing.
 */
describe('generated streaming endpoints, in a workspace on disk', () => {
  const workspace = mkdtempSync(join(tmpdir(), 'hostmesh-stream-'));
  const env = {
    // A nested npx, nx and jest see the workspace as a user's shell would, not hostmesh's root package.
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== 'INIT_CWD')),
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    CI: 'true',
  };
  const run = (line: string): string => {
    const result = spawnSync('bash', ['-c', line], { cwd: workspace, env, encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL' });
    const output = stripVTControlCharacters(`${result.stdout}${result.stderr}`);
    // A red test names the failing line and shows what it printed.
    if (result.status !== 0) throw new Error(`\`${line}\` ${result.error ? 'timed out' : `exited with ${result.status}`}:\n${output}`);
    return output;
  };

  beforeAll(() => {
    if (!existsSync(join(REPO, 'packages/framework/dist/generators/endpoint/generator.js'))) throw new Error('build the framework first: npx tsc -b');
    writeFileSync(join(workspace, 'package.json'), JSON.stringify({ name: 'acme', private: true }));
    writeFileSync(join(workspace, 'nx.json'), '{}');
    symlinkSync(join(REPO, 'node_modules'), join(workspace, 'node_modules'));
    run('npx nx g @hostmesh/framework:init --skipInstall');
    // The service's example stream makes the contract's declarations; the endpoint's joins them.
    run('npx nx g @hostmesh/framework:service pricing --stream');
    run('npx nx g @hostmesh/framework:endpoint pricing best-offers --stream --binding uds');
  }, 3 * COMMAND_TIMEOUT_MS);

  afterAll(() => rmSync(workspace, { recursive: true, force: true }));

  it('declares both streams in the contract', () => {
    expect(readFileSync(join(workspace, 'libs/contracts/src/pricing.contract.ts'), 'utf8')).toContain(
      "defineContract<PricingApi>('pricing', { ticks: { stream: true }, bestOffers: { stream: true } });",
    );
  });

  it(
    'type-checks, builds, and keeps to the lint rules of this repository',
    () => {
      run('npx nx run pricing:build');
      writeFileSync(
        join(workspace, 'tsconfig.specs.json'),
        JSON.stringify({ extends: './tsconfig.base.json', compilerOptions: { noEmit: true, types: ['node', 'jest'] }, include: ['services', 'libs'] }),
      );
      run('npx tsc -p tsconfig.specs.json');
      run(`npx eslint -c ${REPO}/eslint.config.mjs --max-warnings 0 services libs`);
      run(`npx prettier --check --log-level warn --config ${REPO}/.prettierrc.json services libs`);
    },
    4 * COMMAND_TIMEOUT_MS,
  );

  it(
    'passes its tests: the streams iterated in process and from another process',
    () => {
      const output = run('npx nx run pricing:test');
      for (const spec of ['pricing.int.spec.ts', 'ticks.endpoint.spec.ts', 'best-offers.endpoint.spec.ts'])
        expect(output).toMatch(new RegExp(`PASS .*${spec}`));
      expect(output).toMatch(/Tests:\s+4 passed, 4 total/);
    },
    COMMAND_TIMEOUT_MS,
  );
});
