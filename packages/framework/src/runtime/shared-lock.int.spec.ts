import { join } from 'node:path';
import { LockTimeoutError } from '../core/errors/errors';
import { spawnService, type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';
import { Mesh } from './mesh';

const HOLDER = join(__dirname, '..', 'testing', 'fixtures', 'lock-holder.main.ts');

describe('SharedLock across processes', () => {
  const runtime = tempRuntimeDir();
  const namespace = `locks-${process.pid}`;
  const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent' });
  const children: SpawnedService[] = [];
  const hold = async (name: string, ms: number) => {
    const child = await spawnService(HOLDER, { env: { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: namespace }, args: [name, String(ms)] });
    children.push(child);
    await child.waitForOutput(`holding ${child.pid}`);
    return child;
  };
  afterAll(async () => {
    for (const child of children) await child.kill();
    for (const name of ['audit', 'device', 'work']) mesh.locks.remove(name);
    await mesh.close(0);
    runtime.remove();
  });

  it('keeps a second process out while one holds the lock, and names the holder', async () => {
    const holder = await hold('audit', 400);
    expect(mesh.locks.holder('audit')).toBe(holder.pid);
    const error = await mesh.locks.acquire('audit', { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as Error).message).toBe(`lock 'audit' not acquired within 100 ms: held by pid ${holder.pid}`);
    const started = Date.now();
    const handle = await mesh.locks.acquire('audit', { timeoutMs: 5000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150); // it had to wait for the release
    expect(mesh.locks.holder('audit')).toBe(process.pid);
    handle.release();
    expect(() => handle.release()).toThrow("lock 'audit' released twice");
  }, 20_000);

  it('takes over a lock whose holder was killed while holding it', async () => {
    const holder = await hold('device', 60_000);
    await holder.kill(); // SIGKILL: it never releases
    const handle = await mesh.locks.acquire('device', { timeoutMs: 3000 });
    expect(mesh.locks.holder('device')).toBe(process.pid);
    handle.release();
    expect(mesh.locks.holder('device')).toBe(0);
  }, 20_000);

  it('runs work under the lock and releases it even when the work fails', async () => {
    await expect(mesh.locks.withLock('work', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(mesh.locks.withLock('work', () => 42, { timeoutMs: 100 })).resolves.toBe(42);
  });
});
