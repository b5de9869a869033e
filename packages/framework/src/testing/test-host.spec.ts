import { CallTimeoutError, InternalError } from '../core/errors/errors';
import { ConformanceService } from './fixtures/conformance.service';
import { Conformance, ConformancePing } from './fixtures/conformance.contract';
import { createTestHost } from './test-host';

describe('createTestHost', () => {
  it('calls a service in this process through the rpc layer, errors and timeouts included', async () => {
    const host = await createTestHost(ConformanceService);
    const client = host.client(Conformance);
    await expect(client.add(20, 22)).resolves.toBe(42);
    await expect(client.echo({ nested: [1, 'two'] })).resolves.toEqual({ nested: [1, 'two'] });
    await expect(client.fail('plain')).rejects.toBeInstanceOf(InternalError);
    await expect(client.$with({ timeoutMs: 20 }).sleep(1000, 'slow')).rejects.toBeInstanceOf(CallTimeoutError);
    await host.stop();
  });

  it('streams results and arguments in this process, cancellation included', async () => {
    const host = await createTestHost(ConformanceService);
    const client = host.client(Conformance);
    const items: number[] = [];
    for await (const item of client.count(5)) items.push(item);
    expect(items).toEqual([0, 1, 2, 3, 4]);
    async function* values() {
      yield 1;
      yield 2;
    }
    await expect(client.sum(values())).resolves.toBe(3);
    for await (const item of client.feed('test-host', 0)) if (item === 2) break;
    for (let i = 0; i < 100 && !(await client.progress('test-host')).closed; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await client.progress('test-host')).toMatchObject({ closed: true, aborted: true });
    await host.stop();
  });

  it('delivers events to the @On handlers and exposes the instance', async () => {
    const host = await createTestHost(ConformanceService);
    await host.publish(new ConformancePing(7));
    await expect(host.client(Conformance).received()).resolves.toEqual([7]);
    expect(host.service).toBeInstanceOf(ConformanceService);
    await host.stop();
  });
});
