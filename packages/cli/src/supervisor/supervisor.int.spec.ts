import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive, processStartTime } from '@hostmesh/native';
import { sleep, tempRuntimeDir } from '@hostmesh/framework/testing';
import { deployments, fixture, hostmesh, writeManifest } from '../__fixtures__/cli';

/** Supervisor behaviour with real processes: every case starts `hostmesh` as a user would. */
describe('hostmesh up / ps / call / down', () => {
  const { runtime, env, pids, up, ps, until: untilNamed } = deployments();
  const until = (check: () => Promise<boolean>, timeoutMs = 15_000) => untilNamed('condition', check, timeoutMs);

  it('starts services in dependency order, answers ps and call, and leaves nothing behind on down', async () => {
    const manifest = writeManifest(runtime.path, 'basic.json', {
      namespace: 'basic',
      services: { echo: { entry: fixture('echo'), replicas: 2 }, stubborn: { entry: fixture('stubborn'), dependsOn: ['echo'] } },
      gracePeriodMs: 1000,
    });
    const supervisor = await up(manifest);
    await supervisor.waitForOutput('stubborn is ready', 20_000);
    expect(supervisor.output.indexOf('echo is ready')).toBeLessThan(supervisor.output.indexOf('stubborn is ready'));

    const state = await ps('basic');
    expect(state.supervisor?.pid).toBe(supervisor.pid);
    expect(state.instances.map((i) => [`${i.service}@${i.instance}`, i.state])).toEqual([
      ['echo@0', 'ready'],
      ['echo@1', 'ready'],
      ['stubborn@0', 'ready'],
    ]);
    pids.push(...state.instances.map((i) => i.pid!));
    const call = await hostmesh(['call', 'echo.ping', '-n', 'basic'], env);
    expect(call.code).toBe(0);
    expect(state.instances.map((i) => i.pid)).toContain(Number(call.output.trim()));
    const table = await hostmesh(['ps', '-n', 'basic'], env);
    expect(table.output).toMatch(/^SERVICE\s+PID\s+STATE\s+UPTIME\s+RESTARTS\s+IN-FLIGHT\s+CALLS\/S\s+P50\/P99\s+QUEUE\s+BINDINGS/);
    expect(table.output).toMatch(/echo@0\s+\d+\s+ready/);

    const down = await hostmesh(['down', '-n', 'basic'], env);
    expect(down.code).toBe(0);
    expect(down.output).toContain(`stopped the deployment in namespace 'basic' (supervisor pid ${supervisor.pid})`);
    expect(await supervisor.exited).toEqual({ code: 0, signal: null });
    // The stubborn one ignored SIGTERM and was killed after the grace period.
    expect(readFileSync(join(runtime.path, 'basic', 'logs', 'stubborn@0.log'), 'utf8')).toMatch(/still running 1000 ms after SIGTERM: SIGKILL/);
    for (const pid of state.instances.map((i) => i.pid!)) expect(processStartTime(pid)).toBeUndefined();
    expect(readdirSync(join(runtime.path, 'basic', 'registry'))).toEqual([]);
    expect(readdirSync(join(runtime.path, 'basic', 'sock'))).toEqual([]);
    expect(readdirSync('/dev/shm').filter((name) => name.includes('.basic.'))).toEqual([]);
  }, 60_000);

  it('restarts a service killed with SIGKILL, reclaims what it left, and callers recover', async () => {
    const manifest = writeManifest(runtime.path, 'restart.json', { namespace: 'restart', services: { echo: { entry: fixture('echo') } } });
    const supervisor = await up(manifest);
    await supervisor.waitForOutput('echo is ready', 20_000);
    const [first] = (await ps('restart')).instances;
    pids.push(first!.pid!);
    expect((await hostmesh(['call', 'echo.ping', '-n', 'restart'], env)).output.trim()).toBe(String(first!.pid));
    const segmentsBefore = readdirSync('/dev/shm').filter((name) => name.includes('.restart.'));
    process.kill(first!.pid!, 'SIGKILL');
    await until(async () => {
      const [now] = (await ps('restart')).instances;
      return now!.state === 'ready' && now!.pid !== first!.pid;
    });
    const [second] = (await ps('restart')).instances;
    pids.push(second!.pid!);
    expect(second!.restarts).toBe(1);
    expect(second!.lastExit).toMatch(/^killed by SIGKILL/);
    expect((await hostmesh(['call', 'echo.ping', '-n', 'restart'], env)).output.trim()).toBe(String(second!.pid));
    // The dead process's rings are reclaimed; its event queue's in-flight journal is durable
    // by design, and the restarted instance took it over.
    const journal = segmentsBefore.filter((name) => name.includes('.evjournal.'));
    expect(journal).toEqual([expect.stringMatching(/\.restart\.[0-9a-f]{16}\.evjournal\.echo\.0$/)]);
    for (const name of segmentsBefore) expect(existsSync(join('/dev/shm', name))).toBe(journal.includes(name));
    await supervisor.stop('SIGINT');
  }, 60_000);

  it('reports a crash loop and keeps the other services running', async () => {
    const manifest = writeManifest(runtime.path, 'loop.json', {
      namespace: 'loop',
      restart: { initialDelayMs: 20, maxDelayMs: 100, maxRestarts: 2, windowMs: 10_000 },
      services: { crash: { entry: fixture('crash') }, echo: { entry: fixture('echo') } },
    });
    const supervisor = await up(manifest);
    await supervisor.waitForOutput(/crash@0 exited with code 3: crash loop \(3 crashes within 10 s\), giving up on it/, 30_000);
    await supervisor.waitForOutput('echo is ready', 20_000);
    const { instances } = await ps('loop');
    expect(instances.find((i) => i.service === 'crash')).toMatchObject({ state: 'failed', restarts: 2 });
    expect(instances.find((i) => i.service === 'echo')).toMatchObject({ state: 'ready' });
    pids.push(instances.find((i) => i.service === 'echo')!.pid!);
    expect((await hostmesh(['call', 'echo.ping', '-n', 'loop'], env)).code).toBe(0);
    // The others served, but the run failed: up says which service and why, and exits 1.
    expect(await supervisor.stop('SIGINT')).toEqual({ code: 1, signal: null });
    expect(supervisor.output).toMatch(/hostmesh: crash@0 failed: exited with code 3 at \S+; last error: crash fixture: failing on purpose/);
  }, 60_000);

  it('up --detach waits for every service and, when one does not start, stops the rest, names it and exits 1', async () => {
    const manifest = writeManifest(runtime.path, 'detached-loop.json', {
      namespace: 'detached-loop',
      restart: { initialDelayMs: 20, maxDelayMs: 100, maxRestarts: 2, windowMs: 10_000 },
      services: { echo: { entry: fixture('echo') }, crash: { entry: fixture('crash'), dependsOn: ['echo'] } },
    });
    const detached = await hostmesh(['up', '--detach', manifest], env, 60_000);
    expect(detached.code).toBe(1);
    expect(detached.output).toMatch(/hostmesh: crash@0 failed: exited with code 3 at \S+; last error: crash fixture: failing on purpose/);
    expect(detached.output).toContain('hostmesh: the deployment was stopped');
    expect((await ps('detached-loop')).supervisor).toBeNull(); // nothing half-up stays behind
  }, 90_000);

  it('shows a SIGSTOPped service as stopped, and ready again after SIGCONT', async () => {
    const manifest = writeManifest(runtime.path, 'paused.json', { namespace: 'paused', services: { echo: { entry: fixture('echo') } } });
    const supervisor = await up(manifest);
    await supervisor.waitForOutput('echo is ready', 20_000);
    const [echo] = (await ps('paused')).instances;
    pids.push(echo!.pid!);
    process.kill(echo!.pid!, 'SIGSTOP');
    try {
      expect((await ps('paused')).instances.map((i) => [i.pid, i.state])).toEqual([[echo!.pid, 'stopped']]);
      const table = await hostmesh(['ps', '-n', 'paused'], env);
      expect(table.output).toMatch(new RegExp(`echo@0 +${echo!.pid} +stopped`));
    } finally {
      process.kill(echo!.pid!, 'SIGCONT');
    }
    await until(async () => (await ps('paused')).instances[0]!.state === 'ready');
    await supervisor.stop('SIGINT');
  }, 60_000);

  it('finds the one running deployment without -n, and names it when another namespace is asked for', async () => {
    const own = tempRuntimeDir();
    const ownEnv = { HOSTMESH_RUNTIME_DIR: own.path, NO_COLOR: '1' };
    try {
      const manifest = writeManifest(own.path, 'solo.json', { namespace: 'solo', services: { echo: { entry: fixture('echo') } } });
      const supervisor = await up(manifest, ownEnv);
      await supervisor.waitForOutput('echo is ready', 20_000);
      // From the repository's root: no hostmesh.json up the tree, no HOSTMESH_NAMESPACE.
      expect(process.env.HOSTMESH_NAMESPACE).toBeUndefined();
      const found = await hostmesh(['ps', '--json'], ownEnv);
      expect(JSON.parse(found.output)).toMatchObject({ namespace: 'solo', supervisor: { pid: supervisor.pid } });
      expect((await hostmesh(['ps', '-n', 'other'], ownEnv)).output).toBe("nothing is running in namespace 'other' (running: solo; choose one with -n)\n");
      await supervisor.stop('SIGINT');
    } finally {
      own.remove();
    }
  }, 60_000);

  it('refuses a second up in the same namespace without disturbing the first', async () => {
    const manifest = writeManifest(runtime.path, 'twice.json', { namespace: 'twice', services: { echo: { entry: fixture('echo') } } });
    const first = await up(manifest);
    await first.waitForOutput('echo is ready', 20_000);
    const second = await hostmesh(['up', manifest], env);
    expect(second.code).toBe(1);
    expect(second.output).toContain(`hostmesh: a deployment is already running in namespace 'twice' (supervisor pid ${first.pid}`);
    expect((await ps('twice')).instances.map((i) => i.state)).toEqual(['ready']);
    expect(first.running).toBe(true);
    await first.stop('SIGINT');
  }, 60_000);

  it('says so when down finds nothing running', async () => {
    const result = await hostmesh(['down', '-n', 'nobody-here'], env);
    expect(result).toEqual({ code: 0, output: "nothing is running in namespace 'nobody-here'\n" });
  });

  it('refuses an invalid manifest naming the file, the path and what is expected', async () => {
    const manifest = writeManifest(runtime.path, 'invalid.json', { services: { echo: { entry: fixture('echo'), replicas: 'two' } } });
    const result = await hostmesh(['up', manifest], env);
    expect(result.code).toBe(1);
    expect(result.output).toBe(`hostmesh: ${manifest}: services.echo.replicas must be integer\n`);
  });

  it('keeps up with a service that floods its output, and stops services whose supervisor was SIGKILLed', async () => {
    const manifest = writeManifest(runtime.path, 'flood.json', {
      namespace: 'flood',
      services: { flood: { entry: fixture('flood') }, echo: { entry: fixture('echo') } },
    });
    const supervisor = await up(manifest);
    await supervisor.waitForOutput('echo is ready', 20_000);
    await sleep(500);
    const { instances } = await ps('flood');
    pids.push(...instances.map((i) => i.pid!));
    expect((await hostmesh(['call', 'echo.ping', '-n', 'flood'], env)).code).toBe(0);
    expect(readFileSync(join(runtime.path, 'flood', 'logs', 'flood@0.log'), 'utf8').length).toBeGreaterThan(100_000);
    await supervisor.kill(); // SIGKILL: no drain at all
    const children = instances.map((i) => ({ pid: i.pid!, start: processStartTime(i.pid!)! }));
    // They notice on their control pipe and drain; a child flooding its (now broken) stdout
    // on a loaded machine may take a while, but not forever.
    await until(async () => children.every((c) => !isProcessAlive(c.pid, c.start)), 20_000).catch((error: Error) => {
      const alive = children.filter((c) => isProcessAlive(c.pid, c.start)).map((c) => c.pid);
      throw new Error(
        `${error.message}: still alive after the supervisor's SIGKILL: ${alive.join(', ')} (of ${instances.map((i) => `${i.service}=${i.pid}`).join(', ')})`,
      );
    });
    // The next up cleans up after it and runs.
    const again = await up(manifest);
    await again.waitForOutput('echo is ready', 20_000);
    await again.stop('SIGINT');
    expect(await again.exited).toEqual({ code: 0, signal: null });
  }, 90_000);
});
