import { readFileSync } from 'node:fs';
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
});
