import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempRuntimeDir } from '../testing/temp-runtime';
import type { ServiceDescriptor } from './descriptor';
import { ConsoleLogger, type LogSink } from '../core/logger';
import { ownProcessStartTime } from '@hostmesh/native';
import { RuntimeDir } from '../core/runtime-dir';
import { ServiceRegistry } from './service-registry';

describe('ServiceRegistry', () => {
  const temp = tempRuntimeDir();
  const warnings: string[] = [];
  const sink: LogSink = { out: () => undefined, err: (line) => warnings.push(line) };
  const dir = RuntimeDir.open(temp.path, 'registry');
  const registry = new ServiceRegistry(dir, new ConsoleLogger('test', 'warn', sink));
  afterAll(() => temp.remove());

  const descriptor = (service: string, instance: string, pid: number, startTime: number): ServiceDescriptor => ({
    schema: 1,
    service,
    instance,
    pid,
    startTime,
    host: 'here',
    startedAt: new Date().toISOString(),
    listeners: { uds: { kind: 'uds', path: dir.socketPath(service, instance) } },
    routes: [{ name: 'quote', id: 1, binding: 'uds' }],
    subscriptions: [],
    maxPayloadBytes: 1024,
  });

  it('announces a live instance in a private file and finds it by service name', async () => {
    await registry.register(descriptor('pricing', '0', process.pid, ownProcessStartTime()));
    const found = await registry.lookup('pricing');
    expect(found.map((d) => [d.service, d.instance, d.pid])).toEqual([['pricing', '0', process.pid]]);
    expect(statSync(dir.descriptorPath('pricing', '0')).mode & 0o777).toBe(0o600);
    expect(await registry.find('pricing', '0')).toMatchObject({ pid: process.pid });
  });

  it('ignores the descriptor of a dead process and reclaims it and its socket file', async () => {
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
    const stale = descriptor('orders', '0', dead, 12345);
    // As a service does: its sockets are bound before it registers.
    writeFileSync(dir.socketPath('orders', '0'), '');
    await registry.register(stale);
    expect(await registry.lookup('orders')).toEqual([]);
    expect(existsSync(dir.descriptorPath('orders', '0'))).toBe(false);
    expect(existsSync(dir.socketPath('orders', '0'))).toBe(false);
  });

  it('never removes a successor that registered while the dead one was being reclaimed, nor the socket it bound', async () => {
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
    const stale = descriptor('ledger', '1', dead, 12345);
    writeFileSync(dir.socketPath('ledger', '1'), '');
    await registry.register(stale);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // A lookup read the dead descriptor; before it reclaims it, the successor binds the same socket path and registers.
    writeFileSync(dir.socketPath('ledger', '1'), '');
    await registry.register(descriptor('ledger', '1', process.pid, ownProcessStartTime()));
    await (registry as unknown as { reclaim(path: string, dead: ServiceDescriptor): Promise<void> }).reclaim(dir.descriptorPath('ledger', '1'), stale);
    expect(await registry.find('ledger', '1')).toMatchObject({ pid: process.pid });
    expect(existsSync(dir.socketPath('ledger', '1'))).toBe(true);
    await registry.unregister('ledger', '1');
  });

  it("reclaims a dead descriptor's socket only if it was there when the descriptor was written", async () => {
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
    const stale = descriptor('journal', '2', dead, 12345);
    await registry.register(stale);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Bound after the dead one registered: a successor's, not yet registered.
    writeFileSync(dir.socketPath('journal', '2'), '');
    expect(await registry.lookup('journal')).toEqual([]);
    expect(existsSync(dir.descriptorPath('journal', '2'))).toBe(false);
    expect(existsSync(dir.socketPath('journal', '2'))).toBe(true);
  });

  it('ignores a descriptor whose pid lives on but belongs to a newer process', async () => {
    await registry.register(descriptor('recycled', '0', process.pid, ownProcessStartTime() - 1));
    expect(await registry.lookup('recycled')).toEqual([]);
  });

  it('skips a malformed descriptor with one warning and keeps serving the rest', async () => {
    writeFileSync(join(dir.registryDir, 'broken@0.json'), '{ not json');
    writeFileSync(join(dir.registryDir, 'wrong@0.json'), JSON.stringify({ schema: 1, service: 'wrong' }));
    expect((await registry.list()).map((d) => d.service)).toEqual(['pricing']);
    await registry.list();
    expect(warnings.filter((w) => w.includes('broken@0.json'))).toHaveLength(1);
    expect(warnings.some((w) => w.includes('wrong@0.json') && w.includes('instance is not a string'))).toBe(true);
  });

  it('only unregisters a descriptor that is still its own', async () => {
    await registry.unregister('pricing', '0', process.pid + 1);
    expect(await registry.find('pricing', '0')).toBeDefined();
    await registry.unregister('pricing', '0');
    expect(await registry.find('pricing', '0')).toBeUndefined();
  });

  it('tells watchers when a descriptor appears', async () => {
    let notified = 0;
    const stop = registry.watch(() => notified++);
    await registry.register(descriptor('watched', '0', process.pid, ownProcessStartTime()));
    for (let i = 0; i < 100 && notified === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    stop();
    expect(notified).toBeGreaterThan(0);
  });
});
