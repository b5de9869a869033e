import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnService, tempRuntimeDir, type SpawnedService } from '@hostmesh/framework/testing';

/**
 * The Python client of clients/python (stdlib socket + Debian's python3-msgpack, nothing
 * else) calls the pricing service over its Unix socket, asking for plain msgpack: the
 * lines of clients/python/README.md, run as written, against a real service process.
 */
const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');
// Debian's python3 (where python3-msgpack is installed), not whatever python3 comes first on PATH.
const PYTHON = '/usr/bin/python3';

describe('a Python client calling the quotes example over a Unix socket', () => {
  const runtime = tempRuntimeDir();
  let pricing: SpawnedService;
  beforeAll(async () => {
    pricing = await spawnService(join(__dirname, '..', 'dist', 'pricing.main.js'), {
      env: { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: 'quotes-example' },
      ready: { service: 'pricing', runtimeDir: runtime.path, namespace: 'quotes-example' },
    });
  }, 30_000);
  afterAll(async () => {
    await pricing?.stop();
    runtime.remove();
  });

  const python = async (...args: string[]) => {
    try {
      const { stdout } = await run(PYTHON, ['clients/python/example.py', ...args], {
        cwd: ROOT,
        env: { ...process.env, HOSTMESH_RUNTIME_DIR: runtime.path },
        timeout: 10_000,
      });
      return { code: 0, output: JSON.parse(stdout) as unknown };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      if (!failed.stdout) throw new Error(`python failed (${failed.code}): ${failed.stderr}`);
      return { code: failed.code, output: JSON.parse(failed.stdout) as unknown };
    }
  };

  it('calls pricing.quote with a map argument, which the service receives as an object', async () => {
    const { code, output } = await python('pricing.quote', '{"symbol":"ACME","quantity":10}', '--namespace', 'quotes-example');
    expect(code).toBe(0);
    expect(output).toEqual({ symbol: 'ACME', quantity: 10, price: expect.any(Number), total: expect.any(Number), at: expect.any(Number) });
  });

  it("gets the service's typed error, and RouteNotFoundError for an endpoint that does not exist", async () => {
    expect(await python('pricing.quote', '{"symbol":"NOPE","quantity":1}', '--namespace', 'quotes-example')).toEqual({
      code: 1,
      output: { error: { name: 'UnknownSymbolError', code: 'UNKNOWN_SYMBOL', message: 'no price for NOPE', retryable: false } },
    });
    expect(await python('pricing.nothing', '--namespace', 'quotes-example')).toEqual({
      code: 1,
      output: { error: expect.objectContaining({ name: 'RouteNotFoundError', code: 'ROUTE_NOT_FOUND', retryable: false }) },
    });
  });

  it('calls an endpoint with no arguments', async () => {
    expect(await python('pricing.symbols', '--namespace', 'quotes-example')).toEqual({ code: 0, output: ['ACME', 'GLOBEX', 'INITECH'] });
  });
});
