import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnService, type SpawnedService } from '@hostmesh/framework/testing';
import { CLI, deployments, hostmesh } from '../__fixtures__/cli';

const REPO = join(__dirname, '..', '..', '..', '..');
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

/** A service whose `version` endpoint answers what src/<name>.version.ts says. */
function serviceSource(name: string, className: string): string {
  return [
    "import 'reflect-metadata';",
    "import { bootstrap, defineContract, Endpoint, Service } from '@hostmesh/framework';",
    `import { version } from './${name}.version';`,
    '',
    `@Service(defineContract('${name}'))`,
    `class ${className} {`,
    '  @Endpoint()',
    '  version(): string {',
    '    return version;',
    '  }',
    '}',
    '',
    `void bootstrap(${className});`,
    '',
  ].join('\n');
}

/** `hostmesh up --watch` on a small TypeScript project of two services, built with tsc. */
describe('hostmesh up --watch', () => {
  const { env, pids, ps } = deployments();
  const project = mkdtempSync(join(tmpdir(), 'hm-watch-'));
  let up: SpawnedService | undefined;
  afterAll(async () => {
    await up?.stop('SIGTERM', 10_000);
    rmSync(project, { recursive: true, force: true });
  }, 30_000);

  const write = (path: string, text: string) => writeFileSync(join(project, path), text);
  const call = async (target: string) => (await hostmesh(['call', target, '--json', '-n', 'watched'], env)).output.trim();
  const pidOf = async (service: string) => (await ps('watched')).instances.find((i) => i.service === service)?.pid;

  it('restarts only the service whose code changed, with the new code; a failed build keeps the running version', async () => {
    mkdirSync(join(project, 'src'));
    write(
      'tsconfig.json',
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'commonjs',
          outDir: 'dist',
          rootDir: 'src',
          strict: true,
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          useDefineForClassFields: false,
          skipLibCheck: true,
          noEmitOnError: true,
        },
        include: ['src'],
      }),
    );
    write('src/alpha.main.ts', serviceSource('alpha', 'AlphaService'));
    write('src/alpha.version.ts', "export const version = 'alpha v1';\n");
    write('src/beta.main.ts', serviceSource('beta', 'BetaService'));
    write('src/beta.version.ts', "export const version = 'beta v1';\n");
    write(
      'hostmesh.json',
      JSON.stringify({ namespace: 'watched', gracePeriodMs: 2000, services: { alpha: { entry: 'dist/alpha.main.js' }, beta: { entry: 'dist/beta.main.js' } } }),
    );
    symlinkSync(join(REPO, 'node_modules'), join(project, 'node_modules'), 'dir');

    up = await spawnService(CLI, { args: ['up', '--watch', '--build', `node ${TSC} -p tsconfig.json`, join(project, 'hostmesh.json')], env });
    await up.waitForOutput(/watching .* \(build: node .*tsc -p tsconfig.json\)/, 60_000);
    expect(await call('alpha.version')).toBe('"alpha v1"');
    const [alpha, beta] = [await pidOf('alpha'), await pidOf('beta')];
    pids.push(alpha!, beta!);

    write('src/alpha.version.ts', "export const version = 'alpha v2';\n");
    await up.waitForOutput('rebuilt after src/alpha.version.ts changed: restarting alpha', 60_000);
    await up.waitForOutput('alpha restarted with the new build', 30_000);
    expect(await call('alpha.version')).toBe('"alpha v2"');
    const alphaNow = await pidOf('alpha');
    pids.push(alphaNow!);
    expect(alphaNow).not.toBe(alpha);
    // beta's code did not change: the same process kept serving.
    expect(await pidOf('beta')).toBe(beta);
    expect(await call('beta.version')).toBe('"beta v1"');

    // A compile error: shown, and the running alpha stays as it was.
    write('src/alpha.version.ts', "export const version: number = 'alpha v3';\n");
    await up.waitForOutput(/build failed after src\/alpha.version.ts changed; still running the previous version:\n[\s\S]*TS2322/, 60_000);
    expect(await call('alpha.version')).toBe('"alpha v2"');
    expect(await pidOf('alpha')).toBe(alphaNow);

    up.child.kill('SIGINT');
    expect(await up.exited).toEqual({ code: 0, signal: null });
  }, 180_000);
});
