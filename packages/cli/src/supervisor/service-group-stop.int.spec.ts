import { Mesh, ServiceGroup } from '@hostmesh/framework';
import { sleep, tempRuntimeDir, typescriptExecArgv } from '@hostmesh/framework/testing';
import { fixture } from '../__fixtures__/cli';

/** ServiceGroup used directly (as the group's process does), stopped at awkward moments. */
describe('ServiceGroup stop', () => {
  const runtime = tempRuntimeDir();
  const env = { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: 'group-stop', HOSTMESH_LOG_LEVEL: 'warn' };
  const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace: 'group-stop', logLevel: 'silent' });
  afterAll(async () => {
    await mesh.close(0);
    runtime.remove();
  });

  it('stops a member that was still starting when the stop came, and every other one', async () => {
    const group = new ServiceGroup(
      ['echo', 'relay'].map((service) => ({ service, entry: fixture(service), env, execArgv: typescriptExecArgv() })),
      { gracePeriodMs: 5000 },
    );
    const started = group.start();
    // echo is up; relay (started next, its TypeScript compiled in its own thread) is on its way.
    for (let i = 0; i < 300 && (await mesh.registry.lookup('echo')).length === 0; i++) await sleep(20);
    expect((await mesh.registry.lookup('echo')).length).toBe(1);
    await group.stop('test');
    await started;
    // Nothing of either is left: no registry entry, and calls find no one.
    expect((await mesh.registry.list()).map((d) => d.service)).toEqual([]);
    await sleep(200);
    expect((await mesh.registry.list()).map((d) => d.service)).toEqual([]);
  }, 60_000);
});
