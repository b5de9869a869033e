import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnService, tempRuntimeDir } from '@hostmesh/framework/testing';

const ORDERS = join(__dirname, 'orders.ts');
const DOC = join(__dirname, '..', '..', '..', 'docs', 'call-context.md');

describe("docs/call-context.md's example: a validated, guarded, intercepted endpoint", () => {
  const runtime = tempRuntimeDir();
  const env = { HOSTMESH_RUNTIME_DIR: runtime.path };
  afterAll(() => runtime.remove());

  it('is in the page exactly as this file has it', () => {
    expect(readFileSync(DOC, 'utf8')).toContain(readFileSync(ORDERS, 'utf8'));
  });

  it('answers a good call, and refuses a bad argument and a caller without a tenant, as the page says', async () => {
    const server = await spawnService(ORDERS, { env, ready: { service: 'orders', runtimeDir: runtime.path } });
    const call = async (...args: string[]) => {
      const client = await spawnService(ORDERS, { env, args: ['call', ...args] });
      expect(await client.exited).toEqual({ code: 0, signal: null });
      return client.output.trim();
    };
    try {
      expect(await call('acme', '{"symbol":"ACME","quantity":3}')).toBe('3 × ACME for acme');
      expect(await call('acme', '{"symbol":"ACME","quantity":"ten"}')).toMatch(/^ValidationError: invalid arguments for orders\.place: quantity: /);
      expect(await call('', '{"symbol":"ACME","quantity":3}')).toBe('ForbiddenError: orders.place: refused by TenantGuard');
      // The interceptor ran around the calls the guard let through, with the deadline the caller sent.
      await server.waitForOutput(/orders\.place took \d+\.\d ms \((4\d\d|500) ms left of the caller's deadline\)/);
      server.child.kill('SIGINT');
      expect(await server.exited).toEqual({ code: 0, signal: null });
    } finally {
      await server.kill();
    }
  }, 60_000);
});
