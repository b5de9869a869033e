import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InternalError, ValidationError } from '../core/errors/errors';
import type { TransportKind } from '../metadata/types';
import { Mesh } from '../runtime/mesh';
import { spawnService, type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';
import { Orders } from './fixtures/orders.contract';

const run = promisify(execFile);

describe('arguments and results checked against the contract schemas (zod and valibot), in a service process', () => {
  const runtime = tempRuntimeDir();
  const namespace = 'validation';
  let service: SpawnedService;
  let mesh: Mesh;

  beforeAll(async () => {
    service = await spawnService(join(__dirname, 'fixtures', 'orders.main.ts'), {
      env: { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: namespace },
      ready: { service: 'orders', runtimeDir: runtime.path, namespace },
    });
    mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent' });
  }, 30_000);

  afterAll(async () => {
    await mesh?.close(0);
    await service?.stop();
    runtime.remove();
  });

  const refusal = (call: Promise<unknown>) =>
    call.then(
      () => undefined,
      (error: unknown) => error as ValidationError,
    );

  it.each<TransportKind>(['shm', 'uds', 'fifo'])('refuses bad arguments over %s before the handler runs, naming the path of each issue', async (binding) => {
    const orders = mesh.client(Orders, { binding });
    const before = await orders.handled();

    const wrongType = await refusal(orders.place({ symbol: 'ACME', quantity: 'ten' as unknown as number }));
    expect(wrongType).toBeInstanceOf(ValidationError);
    expect(wrongType).toMatchObject({
      code: 'VALIDATION_FAILED',
      retryable: false,
      data: { route: 'orders.place', issues: [{ path: ['quantity'], argument: 0 }] },
    });
    expect(wrongType!.message).toMatch(/^invalid arguments for orders\.place: quantity: /);

    // valibot, on the second argument.
    const tooFew = await refusal(orders.placeLegacy('ACME', 0));
    expect(tooFew).toBeInstanceOf(ValidationError);
    expect(tooFew!.data.issues).toEqual([{ path: [], argument: 1, message: expect.stringContaining('1') }]);
    expect(tooFew!.message).toContain('argument 1');

    const missing = await refusal((orders.place as unknown as () => Promise<unknown>)());
    expect(missing).toBeInstanceOf(ValidationError);
    const extra = await refusal((orders.place as unknown as (...args: unknown[]) => Promise<unknown>)({ symbol: 'A', quantity: 1 }, 'more'));
    expect(extra!.message).toBe('orders.place takes 1 argument, got 2');

    expect(await orders.handled()).toBe(before);
    await expect(orders.place({ symbol: 'ACME', quantity: 3 })).resolves.toEqual({ symbol: 'ACME', quantity: 3, total: 30 });
    await expect(orders.placeLegacy('ACME', 2)).resolves.toBe('2 ACME');
    expect(await orders.handled()).toBe(before + 2);
  });

  it('withholds a result the contract does not allow: the service logs its own bug, the caller gets InternalError', async () => {
    const error = await refusal(mesh.client(Orders).broken());
    expect(error).toBeInstanceOf(InternalError);
    expect(error!.message).toMatch(/^orders\.broken failed with an unexpected ContractViolation \(call \d+\)/);
    await service.waitForOutput(
      /orders\.broken failed \(call \d+ from .*\n.*ContractViolation: orders\.broken returned a result its contract does not allow: /,
    );
  });

  it('checks each item of a stream against the schema: a bad result item ends the stream after the good ones', async () => {
    const orders = mesh.client(Orders);
    const good: Array<{ seq: number; price: number }> = [];
    for await (const fill of orders.fills(3, false)) good.push(fill);
    expect(good).toEqual([
      { seq: 0, price: 100 },
      { seq: 1, price: 101 },
      { seq: 2, price: 102 },
    ]);
    const seen: number[] = [];
    const error = await (async () => {
      for await (const fill of orders.fills(5, true)) seen.push(fill.seq);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([0, 1]);
    expect(error).toBeInstanceOf(InternalError);
    await service.waitForOutput(/ContractViolation: orders\.fills returned a result its contract does not allow: price: /);
  });

  it('checks each item of a streamed argument as the handler reads it, naming the item', async () => {
    const orders = mesh.client(Orders);
    async function* stream(bad: boolean) {
      yield { symbol: 'ACME', quantity: 2 };
      yield { symbol: 'ACME', quantity: bad ? -1 : 3 };
    }
    await expect(orders.totalQuantity(stream(false))).resolves.toBe(5);
    const error = await refusal(orders.totalQuantity(stream(true)));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error!.message).toMatch(/^invalid item 1 of the streamed argument of orders\.totalQuantity: 1\.quantity: /);
    expect(error!.data.issues).toEqual([{ path: [1, 'quantity'], argument: 0, message: expect.any(String) }]);
  });

  it('refuses bad arguments from a shell pipe the same way', async () => {
    const pipes = join(runtime.path, namespace, 'pipes', 'orders@0');
    const before = await mesh.client(Orders).handled();
    const shell = async (script: string) => JSON.parse((await run('sh', ['-c', script], { cwd: pipes, timeout: 10_000 })).stdout);
    const bad = await shell(`head -n 1 place.out & sleep 0.1; echo '{"symbol":"ACME","quantity":"ten"}' > place.in; wait`);
    expect(bad).toEqual({
      error: {
        name: 'ValidationError',
        code: 'VALIDATION_FAILED',
        retryable: false,
        message: expect.stringMatching(/^invalid arguments for orders\.place: quantity: /),
        data: { route: 'orders.place', issues: [{ path: ['quantity'], argument: 0, message: expect.any(String) }] },
      },
    });
    const good = await shell(`head -n 1 place.out & sleep 0.1; echo '{"symbol":"ACME","quantity":2}' > place.in; wait`);
    expect(good).toEqual({ result: { symbol: 'ACME', quantity: 2, total: 20 } });
    expect(await mesh.client(Orders).handled()).toBe(before + 1);
  });
});
