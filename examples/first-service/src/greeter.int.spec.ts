import { execSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnService, tempRuntimeDir } from '@hostmesh/framework/testing';

const GREETER = join(__dirname, 'greeter.ts');

describe("the README's first service", () => {
  const runtime = tempRuntimeDir();
  afterAll(() => runtime.remove());

  it('is in the README exactly as this file has it', () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    expect(readme).toContain(readFileSync(GREETER, 'utf8'));
  });

  it('serves in one process and answers a call from another', async () => {
    const env = { HOSTMESH_RUNTIME_DIR: runtime.path };
    const server = await spawnService(GREETER, { env, ready: { service: 'greeter', runtimeDir: runtime.path } });
    try {
      const client = await spawnService(GREETER, { env, args: ['call', 'Ada'] });
      expect(await client.exited).toEqual({ code: 0, signal: null });
      expect(client.output.trim()).toBe('Hello, Ada!');
      server.child.kill('SIGINT');
      expect(await server.exited).toEqual({ code: 0, signal: null });
    } finally {
      await server.kill();
    }
  }, 30_000);

  it("compiles and runs in a project of one's own with the README's lines, as written", async () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    const block = /run line by line by examples\/first-service\/src\/greeter\.int\.spec\.ts -->\n```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    const [compile, serve, call] = block
      .trim()
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, ''));
    const project = mkdtempSync(join(tmpdir(), 'hm-greeter-'));
    try {
      // A project of one's own: the package installed (here: linked from this checkout), greeter.ts beside it.
      symlinkSync(join(__dirname, '..', '..', '..', 'node_modules'), join(project, 'node_modules'), 'dir');
      copyFileSync(GREETER, join(project, 'greeter.ts'));
      execSync(compile!, { cwd: project, stdio: 'pipe', timeout: 120_000 });
      const env = { HOSTMESH_RUNTIME_DIR: runtime.path };
      const [command, ...args] = serve!.split(' ');
      expect(command).toBe('node');
      const server = await spawnService(join(project, args[0]!), { env, ready: { service: 'greeter', runtimeDir: runtime.path } });
      try {
        const output = execSync(call!, { cwd: project, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
        expect(output.trim()).toBe('Hello, Ada!');
        server.child.kill('SIGINT');
        expect(await server.exited).toEqual({ code: 0, signal: null });
      } finally {
        await server.kill();
      }
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  }, 180_000);
});
