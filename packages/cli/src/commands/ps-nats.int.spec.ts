import { hostname } from 'node:os';
import { sleep, spawnService, tempRuntimeDir, useNatsServer, type SpawnedService } from '@hostmesh/framework/testing';
import { fixture, hostmesh } from '../__fixtures__/cli';

// Host A runs echo with its bindings on NATS; host B (another runtime directory, nothing
// shared but the NATS server) sees it in `ps`, calls it and emits to it, all over NATS.
describe('hostmesh ps, call and emit towards a service heard of over NATS', () => {
  const nats = useNatsServer({ beforeAll, afterAll });
  const hostA = tempRuntimeDir();
  const hostB = tempRuntimeDir();
  const namespace = `ps-nats-${process.pid}`;
  let echo: SpawnedService;
  const onB = () => ({ HOSTMESH_RUNTIME_DIR: hostB.path, HOSTMESH_NATS_SERVERS: nats.server.url, NO_COLOR: '1' });

  beforeAll(async () => {
    echo = await spawnService(fixture('echo'), {
      env: { HOSTMESH_RUNTIME_DIR: hostA.path, HOSTMESH_NAMESPACE: namespace, HOSTMESH_BINDINGS: '{"*":"nats"}', HOSTMESH_NATS_SERVERS: nats.server.url },
      ready: { service: 'echo', runtimeDir: hostA.path, namespace },
    });
  }, 30_000);
  afterAll(async () => {
    await echo?.stop();
    hostA.remove();
    hostB.remove();
  }, 30_000);

  it('lists it as remote with its NATS subject and host', async () => {
    const ps = await hostmesh(['ps', '-n', namespace], onB());
    expect(ps.code).toBe(0);
    expect(ps.output).toMatch(new RegExp(`echo@0 +${echo.pid} +remote .*nats → hm\\.${namespace}\\.echo\\.0\\.\\w+ \\(host ${hostname()}\\)`));
    const json = JSON.parse((await hostmesh(['ps', '--json', '-n', namespace], onB())).output) as {
      instances: Array<{ service: string; state: string; remote?: { via?: string } }>;
    };
    expect(json.instances).toEqual([expect.objectContaining({ service: 'echo', state: 'remote', remote: expect.objectContaining({ via: 'nats' }) })]);
  }, 30_000);

  it('calls it and emits to it', async () => {
    expect(await hostmesh(['call', 'echo.ping', '-n', namespace], onB())).toEqual({ code: 0, output: `${echo.pid}\n` });
    expect(await hostmesh(['emit', 'echo.note', '{"text":"hi"}', '-n', namespace], onB())).toEqual({
      code: 0,
      output: 'echo.note published to 1 subscriber(s)\n',
    });
    let received = '';
    for (let i = 0; i < 40 && received !== '1'; i++) {
      received = (await hostmesh(['call', 'echo.received', '-n', namespace], onB())).output.trim();
      if (received !== '1') await sleep(50);
    }
    expect(received).toBe('1');
  }, 60_000);

  it('names an instance started on its own with a name (not NaN)', async () => {
    const blue = await spawnService(fixture('echo'), {
      env: { HOSTMESH_RUNTIME_DIR: hostB.path, HOSTMESH_NAMESPACE: namespace, HOSTMESH_INSTANCE: 'blue' },
      ready: { service: 'echo', instance: 'blue', runtimeDir: hostB.path, namespace },
    });
    try {
      const ps = await hostmesh(['ps', '-n', namespace], onB());
      expect(ps.output).toMatch(new RegExp(`echo@blue +${blue.pid} +ready`));
      const json = JSON.parse((await hostmesh(['ps', '--json', '-n', namespace], onB())).output) as { instances: Array<{ instance: unknown; state: string }> };
      expect(json.instances.map((i) => [i.instance, i.state]).sort()).toEqual([
        [0, 'remote'],
        ['blue', 'ready'],
      ]);
    } finally {
      await blue.stop();
    }
  }, 30_000);

  it('without NATS servers, host B sees nothing', async () => {
    const ps = await hostmesh(['ps', '--json', '-n', namespace], { HOSTMESH_RUNTIME_DIR: hostB.path, HOSTMESH_NATS_SERVERS: '' });
    expect(JSON.parse(ps.output)).toMatchObject({ instances: [] });
  }, 30_000);
});
