import { listQueues } from '@hostmesh/native';
import { deployments, fixture, hostmesh, writeManifest } from '../__fixtures__/cli';

type Status = Awaited<ReturnType<ReturnType<typeof deployments>['ps']>>;
type Seen = { breaker: string; inFlight: number; ejections: number };

/** `hostmesh ps` with real processes: what a caller's breakers see of a replica it calls, while the replica is stopped and once it resumes. */
describe('hostmesh ps: replicas as their callers see them', () => {
  const { runtime, env, pids, up, ps, until } = deployments();
  const namespace = 'replicas-ps';

  it('shows the breaker of a SIGSTOPped replica open, then closed after SIGCONT', async () => {
    const manifest = writeManifest(runtime.path, 'replicas.json', {
      namespace,
      services: {
        replicas: { entry: fixture('replica'), replicas: 3 },
        'replica-caller': { entry: fixture('replica-caller'), dependsOn: ['replicas'] },
      },
      gracePeriodMs: 2000,
    });
    const supervisor = await up(manifest);
    await supervisor.waitForOutput('replica-caller is ready', 30_000);
    const seenOf = (status: Status, instance: number) =>
      (status.instances.find((i) => i.service === 'replicas' && i.instance === instance) as { seenByCallers?: Seen } | undefined)?.seenByCallers;
    const breakerOf = async (instance: number) => seenOf(await ps(namespace), instance)?.breaker;

    const before = await ps(namespace);
    pids.push(...before.instances.map((i) => i.pid!));
    // Every replica is balanced over by the caller once its health report carries the view.
    await until('the caller reports all three replicas closed', async () => {
      const status = await ps(namespace);
      return [0, 1, 2].every((i) => seenOf(status, i)?.breaker === 'closed');
    });
    const stopped = before.instances.find((i) => i.service === 'replicas' && i.instance === 1)!.pid!;
    try {
      process.kill(stopped, 'SIGSTOP');
      await until('the stopped replica shows its breaker open', async () => (await breakerOf(1)) === 'open', 10_000);
      const table = await hostmesh(['ps', '-n', namespace], env);
      console.log(table.output);
      expect(table.output).toMatch(/^SERVICE\s+PID\s+STATE\s+.*QUEUE\s+BREAKER\s+CALLERS-IN-FLIGHT\s+EJECTIONS\s+BINDINGS/);
      // Open, or half-open while its one probe waits on the stopped process: either way it takes no other call.
      expect(table.output).toMatch(/replicas@1\s+\d+\s+stopped\s.*\s(?:open|half-open)\s+\d+\s+[1-9]\d*\s/);
      expect(table.output).toMatch(/^retries by callers: \d+ \(\d+ refused by the retry budget\)$/m);
      // Each replica reads the shared queue and its own partition of the events with a key (HOSTMESH_REPLICAS from the manifest).
      for (const instance of [0, 2]) expect(table.output).toMatch(new RegExp(`replicas@${instance}\\s.*\\s\\d+/\\d+ p${instance}:\\d+/\\d+\\s`));
      // The caller itself is called by no one.
      expect(table.output).toMatch(/replica-caller@0\s.*\s-\s+-\s+-\s/);
    } finally {
      process.kill(stopped, 'SIGCONT');
    }
    await until('the resumed replica shows its breaker closed', async () => (await breakerOf(1)) === 'closed', 10_000);
    const after = await ps(namespace);
    expect(seenOf(after, 1)!.ejections).toBeGreaterThan(0);
    expect(seenOf(after, 0)!.breaker).toBe('closed');
    expect((after as Status & { retries: { made: number; refused: number } }).retries.made).toBeGreaterThan(0);
    const partitions = () => {
      const listing = listQueues();
      if (!listing.ok) throw new Error(`cannot list message queues here: ${listing.reason}`);
      return listing.queues.filter((q) => q.name.includes(`.${namespace}.`) && /\.ev\.replicas\.p\d$/.test(q.name));
    };
    expect(partitions()).toHaveLength(3);
    await supervisor.stop('SIGINT');
    // Ctrl-C purges the queues: the partitions go with the shared one.
    expect(partitions()).toEqual([]);
  }, 90_000);
});
