import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceStoppingError } from '../core/errors/errors';
import { Conformance } from '../testing/fixtures/conformance.contract';
import { sleep, spawnService, type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';
import type { DiagnosticSnapshot } from './diagnostics';
import { Mesh } from './mesh';
import { RuntimeDir } from '../core/runtime-dir';

const FIXTURES = join(__dirname, '..', 'testing', 'fixtures');
const SERVICE = join(FIXTURES, 'conformance.main.ts');

describe('a service process', () => {
  const runtime = tempRuntimeDir();
  const meshes: Mesh[] = [];
  const children: SpawnedService[] = [];
  afterAll(async () => {
    for (const mesh of meshes) {
      await mesh.registry.purgeSubscriptions();
      await mesh.close(0);
    }
    for (const child of children) await child.kill();
    runtime.remove();
  });

  async function start(namespace: string): Promise<{ server: SpawnedService; mesh: Mesh; dir: RuntimeDir }> {
    const server = await spawnService(SERVICE, {
      env: { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: namespace },
      ready: { service: 'conformance', runtimeDir: runtime.path, namespace },
    });
    children.push(server);
    const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent' });
    meshes.push(mesh);
    return { server, mesh, dir: RuntimeDir.open(runtime.path, namespace) };
  }

  it('drains on SIGTERM: every accepted call gets its reply, new ones are refused, and it exits 0 leaving nothing behind', async () => {
    const { server, mesh, dir } = await start('drain');
    const client = mesh.client(Conformance);
    const before = await client.calls();
    const accepted = Array.from({ length: 1000 }, (_, i) => client.sleep(1500, `drain-${i}`));
    // SIGTERM only once the service has taken all 1000 (a loaded machine may need a while).
    for (let i = 0; i < 200 && (await client.calls()) - before < 1000; i++) await sleep(10);
    server.child.kill('SIGTERM');
    await server.waitForOutput('stopping (SIGTERM): 1000 calls in flight');
    await expect(client.add(1, 2)).rejects.toBeInstanceOf(ServiceStoppingError);
    await expect(Promise.all(accepted)).resolves.toEqual(accepted.map(() => 1500));
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(dir.socketPath('conformance', '0'))).toBe(false);
    expect(existsSync(dir.descriptorPath('conformance', '0'))).toBe(false);
  }, 20_000);

  it('refuses to start a second instance of a service that is running', async () => {
    const { server } = await start('twice');
    const second = await spawnService(SERVICE, { env: { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: 'twice' } });
    children.push(second);
    expect(await second.exited).toEqual({ code: 1, signal: null });
    expect(second.output).toContain(`ServiceAlreadyRunningError [SERVICE_ALREADY_RUNNING]: conformance@0 is already running as pid ${server.pid}`);
    expect(server.running).toBe(true);
  }, 20_000);

  it('after SIGKILL, the next start reclaims the stale socket file and serves again, with the socket at 0600', async () => {
    const first = await start('crash');
    await first.server.kill();
    const socket = first.dir.socketPath('conformance', '0');
    expect(existsSync(socket)).toBe(true);
    const second = await start('crash');
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    await expect(second.mesh.client(Conformance).pid()).resolves.toBe(second.server.pid);
  }, 20_000);

  it('runs @OnSignal handlers when the signal arrives', async () => {
    const { server, mesh } = await start('signals');
    const client = mesh.client(Conformance);
    expect(await client.reloads()).toBe(0);
    // Standard signals are not queued: send the second only once the first was handled.
    for (const expected of [1, 2]) {
      server.child.kill('SIGHUP');
      for (let i = 0; i < 100 && (await client.reloads()) < expected; i++) await sleep(10);
      expect(await client.reloads()).toBe(expected);
    }
  }, 20_000);

  it('writes a diagnostic snapshot on SIGUSR2: mechanisms, calls, latency, in-flight', async () => {
    const { server, mesh, dir } = await start('diagnostics');
    const client = mesh.client(Conformance);
    for (let i = 0; i < 20; i++) await client.add(i, i);
    const slow = client.sleep(2000, 'in flight');
    await sleep(50);
    server.child.kill('SIGUSR2');
    const path = join(dir.diagnosticsDir, 'conformance@0.json');
    await server.waitForOutput(`diagnostics written to ${path}`);
    const snapshot = JSON.parse(readFileSync(path, 'utf8')) as DiagnosticSnapshot;
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(snapshot).toMatchObject({ service: 'conformance', instance: '0', pid: server.pid, state: 'running', inFlight: 1 });
    const add = snapshot.endpoints.find((e) => e.name === 'conformance.add')!;
    expect(add).toMatchObject({ mechanism: 'shm', calls: 20, errors: 0 });
    expect(add.p50Us).toBeGreaterThan(0);
    expect(add.p99Us).toBeGreaterThanOrEqual(add.p50Us);
    expect(snapshot.events.map((e) => [e.name, e.mechanism])).toContainEqual(['conformance.ping', 'mqueue']);
    expect(snapshot.transports).toContainEqual(expect.objectContaining({ kind: 'mqueue', messages: 0 }));
    await slow;
  }, 20_000);

  it('exits 1 at bootstrap naming the class and method of a misused decorator', async () => {
    const misused = await spawnService(join(FIXTURES, 'misused.main.ts'), { env: { HOSTMESH_RUNTIME_DIR: runtime.path } });
    children.push(misused);
    expect(await misused.exited).toEqual({ code: 1, signal: null });
    expect(misused.output).toContain(
      'BootstrapError [BOOTSTRAP_INVALID]: ForgotTheServiceDecorator.quote is decorated as a handler but ForgotTheServiceDecorator has no @Service(contract) decorator',
    );
  }, 20_000);
});
