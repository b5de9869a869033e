import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime } from '@hostmesh/native';
import { deployments, fixture, hostmesh, writeManifest } from '../__fixtures__/cli';

/** Manifest groups: several services in one process, each in a worker thread, supervised as one. */
describe('hostmesh up with a group', () => {
  const { runtime, env, pids, up, until, ps: state } = deployments();
  const ps = async (namespace: string) => (await state(namespace)).instances;

  it('runs the services of a group in one process: calls inside go over threads, ps and logs show each service, a kill restarts the group, down leaves nothing', async () => {
    const manifest = writeManifest(runtime.path, 'pair.json', {
      namespace: 'grouped',
      gracePeriodMs: 3000,
      services: {
        relay: { entry: fixture('relay'), group: 'pair', dependsOn: ['echo'] },
        echo: { entry: fixture('echo'), group: 'pair', bindings: { ping: 'thread' } },
      },
    });
    const supervisor = await up(manifest);
    await supervisor.waitForOutput(/group pair \(echo, relay\) is ready \(pid \d+\)/, 30_000);

    const instances = await ps('grouped');
    expect(instances.map((i) => [`${i.service}@${i.instance}`, i.state, i.group])).toEqual([
      ['echo@0', 'ready', 'pair'],
      ['relay@0', 'ready', 'pair'],
    ]);
    const pid = instances[0]!.pid!;
    pids.push(pid);
    expect(instances[1]!.pid).toBe(pid);
    expect(pid).not.toBe(supervisor.pid);

    // relay calls echo in the same process: over the thread transport, as echo's binding says.
    const relayed = await hostmesh(['call', 'relay.pids', '-n', 'grouped'], env);
    expect(relayed.code).toBe(0);
    expect(JSON.parse(relayed.output)).toEqual({ relay: pid, echo: pid });
    await until('echo reports a thread connection', async () => {
      const echo = (await ps('grouped')).find((i) => i.service === 'echo');
      const thread = echo?.health?.transports.find((t) => t.kind === 'thread');
      return echo?.health?.endpoints.find((e) => e.name === 'echo.ping')?.mechanism === 'thread' && Number(thread?.connections) >= 1;
    });
    // From another process, thread falls back to a binding every service has.
    const direct = await hostmesh(['call', 'echo.ping', '-n', 'grouped'], env);
    expect(direct).toEqual({ code: 0, output: `${pid}\n` });

    const table = await hostmesh(['ps', '-n', 'grouped'], env);
    expect(table.output).toMatch(new RegExp(`echo@0\\s+${pid} \\(pair\\)\\s+ready`));
    expect(table.output).toMatch(new RegExp(`relay@0\\s+${pid} \\(pair\\)\\s+ready`));
    // Each service's lines land in its own log, as if it were a process of its own.
    const logs = join(runtime.path, 'grouped', 'logs');
    expect(readFileSync(join(logs, 'echo@0.log'), 'utf8')).toMatch(/ready \(pid \d+, thread \d+\)/);
    expect(readFileSync(join(logs, 'relay@0.log'), 'utf8')).toMatch(/ready \(pid \d+, thread \d+\)/);
    const followed = await hostmesh(['logs', 'relay', '-n', 'grouped'], env);
    expect(followed.output).toMatch(/ready \(pid \d+, thread \d+\)/);

    // The process is the unit: a member ending on its own stops the group, and the group is restarted.
    await hostmesh(['call', 'relay.quit', '4', '-n', 'grouped'], env);
    // Said in relay's own log: why the group stopped.
    await supervisor.waitForOutput(/relay@0 +\| exited with code 4 \(thread \d+\): stopping its group/, 20_000);
    await supervisor.waitForOutput(/pair@0 exited with code 1: restarting/, 20_000);
    const restarted = async (times: number, not: number) => {
      await until(`the group is back (restart ${times})`, async () => {
        const now = await ps('grouped');
        return now.length === 2 && now.every((i) => i.state === 'ready' && i.pid !== not && i.restarts === times);
      });
      const [back] = await ps('grouped');
      pids.push(back!.pid!);
      return back!.pid!;
    };
    const second = await restarted(1, pid);
    // Killing the process restarts both services too, in order, and callers recover.
    process.kill(second, 'SIGKILL');
    await supervisor.waitForOutput(/pair@0 killed by SIGKILL: restarting/, 20_000);
    const again = { pid: await restarted(2, second) };
    const after = await hostmesh(['call', 'relay.pids', '-n', 'grouped'], env);
    expect(JSON.parse(after.output)).toEqual({ relay: again.pid, echo: again.pid });

    const down = await hostmesh(['down', '-n', 'grouped'], env);
    expect(down.code).toBe(0);
    expect(await supervisor.exited).toEqual({ code: 0, signal: null });
    expect(processStartTime(again.pid!)).toBeUndefined();
    // Both members drained (their own SIGTERM path), not killed at the end of the grace period.
    expect(readFileSync(join(logs, 'pair@0.log'), 'utf8')).not.toMatch(/SIGKILL: /);
    expect(readFileSync(join(logs, 'echo@0.log'), 'utf8')).toMatch(/stopped/);
    expect(readdirSync(join(runtime.path, 'grouped', 'registry'))).toEqual([]);
    expect(existsSync(join(runtime.path, 'grouped', 'supervisor.json'))).toBe(false);
    expect(readdirSync('/dev/shm').filter((name) => name.includes('.grouped.'))).toEqual([]);
  }, 120_000);

  it('gives up on a group whose member cannot start, naming the member and its error', async () => {
    const manifest = writeManifest(runtime.path, 'broken.json', {
      namespace: 'broken-group',
      restart: { initialDelayMs: 20, maxDelayMs: 100, maxRestarts: 1, windowMs: 10_000 },
      services: { echo: { entry: fixture('echo'), group: 'shaky' }, crash: { entry: fixture('crash'), group: 'shaky', dependsOn: ['echo'] } },
    });
    const supervisor = await up(manifest);
    await supervisor.waitForOutput(/shaky@0 exited with code 1: crash loop/, 30_000);
    const instances = await ps('broken-group');
    expect(instances.map((i) => [i.service, i.state])).toEqual([
      ['echo', 'failed'],
      ['crash', 'failed'],
    ]);
    expect(instances[1]!.lastErrors!.join('\n')).toContain('crash fixture: failing on purpose');
    expect(await supervisor.stop('SIGINT')).toEqual({ code: 1, signal: null });
    expect(supervisor.output).toMatch(/the group did not start: crash: .*crash\.main\.ts exited with 3 before it was ready/);
  }, 60_000);

  it('refuses groups a process cannot run, naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [
        { a: { entry: fixture('echo'), group: 'g', replicas: 2 }, b: { entry: fixture('relay'), group: 'g' } },
        "services.b.replicas is 1, but a of the same group 'g' has 2: a group runs as one process per replica",
      ],
      [
        { a: { entry: fixture('echo'), group: 'a' } },
        "services.a.group 'a' is also a service's name: name the group apart (it names the group's process and log)",
      ],
      [
        { a: { entry: fixture('echo'), group: 'g', nodeOptions: ['--max-old-space-size=64'] }, b: { entry: fixture('relay'), group: 'g' } },
        "services.b.nodeOptions must be the same as a's: the services of group 'g' share one node process",
      ],
    ];
    for (const [services, message] of cases) {
      const manifest = writeManifest(runtime.path, 'bad-group.json', { namespace: 'bad-group', services });
      const result = await hostmesh(['up', manifest], env);
      expect(result).toEqual({ code: 1, output: `hostmesh: ${manifest}: ${message}\n` });
    }
  }, 60_000);
});
