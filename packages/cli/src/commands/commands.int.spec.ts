import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { ShmSegment, userPrefix } from '@hostmesh/native';
import { sleep, tempRuntimeDir, type SpawnedService } from '@hostmesh/framework/testing';
import { fixture, hostmesh, hostmeshUp, writeManifest } from '../__fixtures__/cli';

describe('hostmesh emit, doctor, logs and version', () => {
  const runtime = tempRuntimeDir();
  const env = { HOSTMESH_RUNTIME_DIR: runtime.path, NO_COLOR: '1' };
  let supervisor: SpawnedService;

  beforeAll(async () => {
    const manifest = writeManifest(runtime.path, 'tools.json', { namespace: 'tools', services: { echo: { entry: fixture('echo') } } });
    supervisor = await hostmeshUp(manifest, env);
    await supervisor.waitForOutput('echo is ready', 20_000);
  }, 30_000);
  afterAll(async () => {
    await supervisor.stop('SIGINT');
    runtime.remove();
  }, 30_000);

  it('emits an event by name to its subscribers', async () => {
    const emitted = await hostmesh(['emit', 'echo.note', '{"text":"hello"}', '-n', 'tools'], env);
    expect(emitted).toEqual({ code: 0, output: 'echo.note published to 1 subscriber(s)\n' });
    for (let i = 0; i < 50; i++) {
      if ((await hostmesh(['call', 'echo.received', '-n', 'tools'], env)).output.trim() === '1') return;
      await sleep(50);
    }
    throw new Error('the event did not arrive');
  }, 30_000);

  it('fails an event nobody subscribes to, naming the events that have subscribers', async () => {
    expect(await hostmesh(['emit', 'echo.nte', '{"text":"typo"}', '-n', 'tools'], env)).toEqual({
      code: 1,
      output: "NoSubscriberError: no service subscribes to 'echo.nte' in namespace 'tools'; events with subscribers: echo.note\n",
    });
  }, 30_000);

  it('fails a call to a service that is not running at once, saying what runs and how to start it', async () => {
    // --timeout-ms 60000: waiting it out would fail the test; the answer is the registry's, not a timeout's.
    expect(await hostmesh(['call', 'pricing.quote', '--timeout-ms', '60000', '-n', 'tools'], env, 20_000)).toEqual({
      code: 1,
      output: "ServiceUnavailableError [SERVICE_UNAVAILABLE]: no instance of 'pricing' runs in namespace 'tools' (services running there: echo)\n",
    });
    expect(await hostmesh(['call', 'pricing.quote', '--timeout-ms', '60000', '-n', 'idle'], env, 20_000)).toEqual({
      code: 1,
      output:
        "ServiceUnavailableError [SERVICE_UNAVAILABLE]: no instance of 'pricing' runs: nothing is running in namespace 'idle' (running: tools; choose one with -n); start it with `hostmesh up`\n",
    });
  }, 60_000);

  it('refuses an event that is not a JSON object, and a call target without an endpoint', async () => {
    expect(await hostmesh(['emit', 'echo.note', '[1]', '-n', 'tools'], env)).toEqual({ code: 1, output: 'hostmesh: the event must be a JSON object\n' });
    expect(await hostmesh(['call', 'echo', '-n', 'tools'], env)).toEqual({ code: 1, output: "hostmesh: expected <service>.<endpoint>, got 'echo'\n" });
  }, 30_000);

  it('reports kernel limits and leftovers, and --clean removes what dead owners left', async () => {
    const name = `/${userPrefix()}tools.leftover`;
    ShmSegment.create(name, 64, {}).close();
    // Forge a dead owner: pid 1 never has this start time.
    const header = Buffer.alloc(4);
    header.writeUInt32LE(2 ** 22 - 3, 0);
    const fd = openSync(`/dev/shm${name}`, 'r+');
    writeSync(fd, header, 0, 4, 24);
    closeSync(fd);
    const report = JSON.parse((await hostmesh(['doctor', '--json', '-n', 'tools'], env)).output) as {
      checks: Array<{ check: string; status: string; detail: string }>;
    };
    const checks = Object.fromEntries(report.checks.map((c) => [c.check, c]));
    expect(checks['message queues']!.detail).toMatch(/fs\.mqueue\.msg_max=\d+ .*RLIMIT_MSGQUEUE=\d+/);
    expect(checks['/dev/shm']!.detail).toMatch(/MiB free of \d+ MiB/);
    expect(checks.limits!.detail).toMatch(/maxPayloadBytes=\d+, maxConnections=\d+ .*maxInFlightPerConnection=\d+.*RLIMIT_NOFILE=\d+/);
    expect(checks.supervisor!.detail).toMatch(/^pid \d+ runs /);
    expect(checks.leftovers!.status).toBe('warn');
    expect(checks.leftovers!.detail).toContain(`/dev/shm${name}`);
    const cleaned = await hostmesh(['doctor', '--clean', '-n', 'tools'], env);
    expect(cleaned.output).toContain(`removed 1: /dev/shm${name}`);
    expect(existsSync(`/dev/shm${name}`)).toBe(false);
  }, 30_000);

  it('shows what a service printed', async () => {
    const logs = await hostmesh(['logs', 'echo', '-n', 'tools'], env);
    expect(logs.code).toBe(0);
    expect(logs.output).toMatch(/echo@0 +\| .* I \[echo@0\] info: ready \(pid \d+\)/);
  });

  it('prints versions, and --help for every command', async () => {
    expect(JSON.parse((await hostmesh(['version', '--json'], env)).output)).toMatchObject({ cli: '0.1.0', framework: '0.1.0', native: '0.1.0' });
    for (const command of ['up', 'down', 'ps', 'logs', 'call', 'emit', 'repl', 'dashboard', 'doctor', 'certs', 'version']) {
      const help = await hostmesh([command, '--help'], env);
      expect(help.code).toBe(0);
      expect(help.output).toContain(`Usage: hostmesh ${command}`);
    }
  }, 60_000);
});
