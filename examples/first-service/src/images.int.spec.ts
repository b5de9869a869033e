import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnService, tempRuntimeDir } from '@hostmesh/framework/testing';

const IMAGES = join(__dirname, 'images.ts');
/** What the page runs: the build of this file (npm install and npm test build it first). */
const BUILT = join(__dirname, '..', 'dist', 'images.js');
const DOC = join(__dirname, '..', '..', '..', 'docs', 'shared-memory.md');

describe("docs/shared-memory.md's example: large Buffers over shared memory, lent and released", () => {
  const runtime = tempRuntimeDir();
  const env = { HOSTMESH_RUNTIME_DIR: runtime.path };
  afterAll(() => runtime.remove());

  it('is in the page exactly as this file has it', () => {
    expect(readFileSync(DOC, 'utf8')).toContain(readFileSync(IMAGES, 'utf8'));
  });

  it('sends a lent Buffer, gets the negative back, and the service kept its copy, as the page says', async () => {
    const server = await spawnService(BUILT, { env, ready: { service: 'images', runtimeDir: runtime.path } });
    try {
      const client = await spawnService(BUILT, { env, args: ['call'] });
      expect(await client.exited).toEqual({ code: 0, signal: null });
      expect(client.output.trim().split('\n')).toEqual(['1048576 pixels, the first 55', 'the service kept 1048576 bytes']);
    } finally {
      await server.kill();
    }
  }, 60_000);
});
