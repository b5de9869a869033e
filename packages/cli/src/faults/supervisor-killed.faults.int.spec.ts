import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive, processStartTime } from '@hostmesh/native';
import { sleep, spawnService, tempRuntimeDir, type SpawnedService } from '@hostmesh/framework/testing';
import { fixture, hostmesh, hostmeshUp, writeManifest } from '../__fixtures__/cli';
import type { SupervisorState } from '../supervisor/state';

/**
 * Fault: the supervisor (`hostmesh up`) is SIGKILLed. By default each service sees its
 * control pipe close and drains: it unregisters and removes its own socket files before
 * exiting. A service configured with HOSTMESH_ORPHAN=keep serves on. The next `up` in the
 * namespace stops what the dead supervisor left running, reclaims kernel objects of dead
 * owners and stale registry entries, and starts the deployment cleanly.
 */
describe('fault: the supervisor SIGKILLed', () => {
  const runtime = tempRuntimeDir('hm-sv-');
  const env = { HOSTMESH_RUNTIME_DIR: runtime.path, NO_COLOR: '1' };
  const namespace = `svk-${process.pid}`;
  const root = join(runtime.path, namespace);
  const ups: SpawnedService[] = [];
  const pids: number[] = [];
  const manifest = writeManifest(runtime.path, 'svk.json', {
    namespace,
    gracePeriodMs: 1000,
    services: {
      echo: { entry: fixture('echo') },
      keeper: { entry: join(__dirname, 'fixtures', 'keeper.main.ts'), env: { HOSTMESH_ORPHAN: 'keep' } },
    },
  });

  afterAll(async () => {
    for (const up of ups) await up.stop('SIGTERM', 5000);
    for (const pid of pids) if (processStartTime(pid) !== undefined) process.kill(pid, 'SIGKILL');
    await hostmesh(['down', '--purge', '-n', namespace], env, 15_000);
    runtime.remove();
  }, 60_000);

  const up = async () => {
    const child = await hostmeshUp(manifest, env);
    ups.push(child);
    await child.waitForOutput('keeper is ready', 20_000);
    return child;
  };
  const instances = async (): Promise<SupervisorState['instances']> => {
    const { output, code } = await hostmesh(['ps', '--json', '-n', namespace], env);
    expect(code).toBe(0);
    return (JSON.parse(output) as { instances: SupervisorState['instances'] }).instances;
  };
  const until = async (check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
      await sleep(50);
    }
  };
  const callKeeper = async () => {
    const result = await hostmesh(['call', 'keeper.pid', '-n', namespace], env);
    return { code: result.code, pid: Number(result.output.trim()) };
  };
  const registered = () => readdirSync(join(root, 'registry')).sort();
  const sockets = (service: string) => readdirSync(join(root, 'sock')).filter((name) => name.startsWith(`${service}@`));

  let echoPid: number;
  let keeperPid: number;
  let keeperStart: number;

  it('drains the services by default (they unregister themselves) and keeps a HOSTMESH_ORPHAN=keep one serving', async () => {
    const supervisor = await up();
    const first = await instances();
    echoPid = first.find((i) => i.service === 'echo')!.pid!;
    keeperPid = first.find((i) => i.service === 'keeper')!.pid!;
    pids.push(echoPid, keeperPid);
    const echoStart = processStartTime(echoPid)!;
    keeperStart = processStartTime(keeperPid)!;
    expect(registered()).toEqual(['echo@0.json', 'keeper@0.json']);

    await supervisor.kill(); // SIGKILL: no drain, no goodbye
    await until(() => !isProcessAlive(echoPid, echoStart), 10_000, `echo (pid ${echoPid}) exits after its supervisor died`);
    // A drain, not a crash: the service removed its own descriptor and socket files.
    expect(registered()).toEqual(['keeper@0.json']);
    expect(sockets('echo')).toEqual([]);
    expect(readFileSync(join(root, 'logs', 'echo@0.log'), 'utf8')).not.toMatch(/EPIPE/);

    await sleep(500);
    expect(isProcessAlive(keeperPid, keeperStart)).toBe(true);
    expect(await callKeeper()).toEqual({ code: 0, pid: keeperPid });
  }, 60_000);

  it('the next up stops what the dead supervisor left running, reclaims stale objects, and starts cleanly', async () => {
    // Kernel objects of a dead owner in the namespace (as a service SIGKILLed with its supervisor leaves).
    const leftover = await spawnService(join(__dirname, 'fixtures', 'leftover.main.ts'), { env: { ...env, HOSTMESH_NAMESPACE: namespace } });
    await leftover.waitForOutput('created', 10_000);
    await leftover.kill();
    const stale = readdirSync('/dev/shm').filter((name) => name.includes(`.${namespace}.leftover.`));
    expect(stale).toHaveLength(3); // segment and two doorbells

    const again = await up();
    expect(isProcessAlive(keeperPid, keeperStart)).toBe(false);
    expect(again.output).toMatch(new RegExp(`keeper@0 \\(pid ${keeperPid}\\)`));
    const now = await instances();
    expect(now.map((i) => [i.service, i.state])).toEqual([
      ['echo', 'ready'],
      ['keeper', 'ready'],
    ]);
    pids.push(...now.map((i) => i.pid!));
    const keeper = await callKeeper();
    expect(keeper.code).toBe(0);
    expect(keeper.pid).toBe(now.find((i) => i.service === 'keeper')!.pid);
    expect(keeper.pid).not.toBe(keeperPid);
    for (const name of stale) expect(existsSync(join('/dev/shm', name))).toBe(false);
    expect(now.every((i) => i.restarts === 0)).toBe(true);

    await again.stop('SIGINT');
    expect(await again.exited).toEqual({ code: 0, signal: null });
    expect(registered()).toEqual([]);
  }, 60_000);
});
