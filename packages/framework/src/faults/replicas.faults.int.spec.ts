import { HostmeshError } from '../core/errors/hostmesh-error';
import { ServiceUnavailableError } from '../core/errors/errors';
import { Mesh } from '../runtime/mesh';
import { sleep, spawnService, type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';
import { faultFixture, until } from './faults.testing';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReplicaReload, Replicas, ReplicaTick, ReplicaTransfer } from './fixtures/replica.contract';
import { routeId } from '../protocol/route-id';

const REPLICA = faultFixture('replica');

interface Phase {
  ok: number;
  failed: Record<string, number>;
  latencies: number[];
  byInstance: Record<string, number>;
  /** Retries the client made during the phase. */
  retries: number;
}

const newPhase = (): Phase => ({ ok: 0, failed: {}, latencies: [], byInstance: {}, retries: 0 });

function p99(latencies: number[]): number {
  if (latencies.length === 0) return 0;
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
}

/** Steady load: `workers` loops, each calling and pausing 1 ms, recording into the current phase. */
function steadyLoad(call: (n: number) => Promise<{ instance: string }>, retriesNow: () => number, workers = 8) {
  let phase = newPhase();
  let retriesAtStart = retriesNow();
  const close = (ended: Phase) => {
    const now = retriesNow();
    ended.retries = now - retriesAtStart;
    retriesAtStart = now;
    return ended;
  };
  let running = true;
  let n = 0;
  const loops = Array.from({ length: workers }, async () => {
    for (let i = 0; running && i < 1_000_000; i++) {
      const started = performance.now();
      const into = phase;
      try {
        const { instance } = await call(n++);
        into.ok++;
        into.byInstance[instance] = (into.byInstance[instance] ?? 0) + 1;
      } catch (error) {
        const name = error instanceof Error ? error.name : String(error);
        into.failed[name] = (into.failed[name] ?? 0) + 1;
      }
      into.latencies.push(performance.now() - started);
      await sleep(1);
    }
  });
  return {
    /** Starts a new phase; returns the one that ended. */
    next(): Phase {
      const ended = phase;
      phase = newPhase();
      return close(ended);
    },
    async stop(): Promise<Phase> {
      running = false;
      await Promise.all(loops);
      return close(phase);
    },
  };
}

function report(name: string, phases: Record<string, Phase>): string {
  return Object.entries(phases)
    .map(
      ([label, p]) =>
        `${name} ${label}: ${p.ok} ok, failed ${JSON.stringify(p.failed)}, ${p.retries} retried, p99 ${p99(p.latencies).toFixed(1)} ms, max ${Math.max(0, ...p.latencies).toFixed(0)} ms, by replica ${JSON.stringify(p.byInstance)}`,
    )
    .join('\n');
}

// Three replicas of an idempotent service over shm, each in its own process, under a steady
// load of calls from this one: a replica killed, stopped, or answering retryable errors
// costs no call, the breaker of the faulty one opens and closes again, and retries stay
// within the budget.
/** Queue messages each replica handles at once (HOSTMESH_MQUEUE_IN_FLIGHT). */
const QUEUE_IN_FLIGHT = 4;

describe('three replicas under load', () => {
  const runtime = tempRuntimeDir();
  const namespace = `replicas-${process.pid}`;
  const replicas: SpawnedService[] = [];
  let mesh: Mesh;

  const start = (instance: number) =>
    spawnService(REPLICA, {
      env: {
        HOSTMESH_RUNTIME_DIR: runtime.path,
        HOSTMESH_NAMESPACE: namespace,
        HOSTMESH_INSTANCE: String(instance),
        HOSTMESH_REPLICAS: '3',
        // Queue messages at a time each: the first replica the kernel wakes cannot take the
        // whole queue, so the competing-consumers test sees every replica take a share.
        HOSTMESH_MQUEUE_IN_FLIGHT: String(QUEUE_IN_FLIGHT),
        REPLICA_EVENT_LOG: runtime.path,
      },
      ready: { service: 'replicas', runtimeDir: runtime.path, namespace, instance: String(instance) },
    });
  const replicaView = () => mesh.replicas().replicas!;
  const breakerOf = (instance: number) => replicaView().replicas.find((r) => r.instance === String(instance))?.breaker;
  /** The client connected straight to one replica (to flip its mode). */
  const direct = async (instance: number) => {
    const [descriptor] = (await mesh.registry.lookup('replicas')).filter((d) => d.instance === String(instance));
    return mesh.client(Replicas, { address: descriptor!.listeners.shm! });
  };
  /** Steady load of idempotent calls through `client`, counting this client's retries per phase. */
  const loadOn = (client: { work(n: number): Promise<{ instance: string }> }) =>
    steadyLoad(
      (n) => client.work(n),
      () => replicaView().retries,
    );
  /** The retries made during these phases stay within 10 % of their calls, plus the reserve a quiet client starts with. */
  const budgetHolds = (...phases: Phase[]) => {
    const calls = phases.reduce((n, p) => n + p.ok, 0);
    const retries = phases.reduce((n, p) => n + p.retries, 0);
    expect(retries).toBeLessThanOrEqual(calls * 0.1 + 10);
  };

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) replicas[i] = await start(i);
    mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent' });
    await until(async () => (await mesh.registry.lookup('replicas')).length === 3, 5000, 'three replicas announced');
  }, 60_000);

  afterAll(async () => {
    await mesh?.registry.purgeSubscriptions();
    await mesh?.close(0);
    for (const replica of replicas) {
      replica?.child.kill('SIGCONT');
      await replica?.kill();
    }
    runtime.remove();
  }, 30_000);

  it('docs/resilience.md quotes its examples verbatim from this fixture', () => {
    const root = join(__dirname, '..', '..', '..', '..');
    const page = readFileSync(join(root, 'docs', 'resilience.md'), 'utf8');
    const quoted = [...page.matchAll(/<!-- verbatim: (\S+) -->\n\s*```ts\n([\s\S]*?)\s*```/g)];
    expect(quoted.length).toBeGreaterThanOrEqual(2);
    for (const [, file, code] of quoted) {
      const source = readFileSync(join(root, file!), 'utf8');
      // Quoted inside a list, the lines carry the list's indent.
      for (const line of code!.split('\n')) expect(source).toContain(line.replace(/^ {2}(?= )/, ''));
    }
  });

  it('spreads calls: least-in-flight reaches every replica; a key stays on one replica', async () => {
    const client = mesh.client(Replicas);
    const answers = await Promise.all(Array.from({ length: 300 }, (_, n) => client.work(n)));
    const counts: Record<string, number> = {};
    for (const { instance } of answers) counts[instance] = (counts[instance] ?? 0) + 1;
    expect(Object.keys(counts).sort()).toEqual(['0', '1', '2']);
    for (const count of Object.values(counts)) expect(count).toBeGreaterThan(30);
    const placed = new Map<string, Set<string>>();
    for (let round = 0; round < 5; round++) {
      for (const key of ['ACME', 'GLOBEX', 'INITECH', 'HOOLI', 'UMBRELLA', 'WAYNE', 'STARK', 'ACE']) {
        const { instance } = await client.work(round, key);
        placed.set(key, (placed.get(key) ?? new Set()).add(instance));
      }
    }
    for (const [key, instances] of placed) expect([key, instances.size]).toEqual([key, 1]);
    expect(new Set([...placed.values()].map((s) => [...s][0])).size).toBeGreaterThan(1);
  });

  it('loses no idempotent call when a replica is SIGKILLed, and takes the newcomer in', async () => {
    const client = mesh.client(Replicas);
    const load = loadOn(client);
    await sleep(800);
    const before = load.next();
    await replicas[1]!.kill();
    await sleep(1500);
    const during = load.next();
    replicas[1] = await start(1);
    await sleep(1500);
    const after = await load.stop();
    console.log(report('SIGKILL', { before, during, after }));
    for (const phase of [before, during, after]) expect(phase.failed).toEqual({});
    expect(during.ok).toBeGreaterThan(100);
    expect(during.byInstance['1'] ?? 0).toBeLessThan(during.ok / 10);
    // The restarted replica (same name) gets calls again.
    expect(after.byInstance['1'] ?? 0).toBeGreaterThan(0);
    budgetHolds(before, during, after);
  }, 30_000);

  it('loses no idempotent call while a replica is SIGSTOPped for 5 s: its breaker opens, then closes', async () => {
    const client = mesh.client(Replicas).$with({ timeoutMs: 1000 });
    const load = loadOn(client);
    await sleep(800);
    const before = load.next();
    const ejectionsBefore = replicaView().replicas.find((r) => r.instance === '2')?.ejections ?? 0;
    replicas[2]!.child.kill('SIGSTOP');
    let sawOpen = false;
    for (let i = 0; i < 50; i++) {
      await sleep(100);
      sawOpen ||= breakerOf(2) === 'open';
    }
    const during = load.next();
    replicas[2]!.child.kill('SIGCONT');
    await until(() => breakerOf(2) === 'closed', 5000, 'the breaker of the resumed replica closes');
    await sleep(1000);
    const after = await load.stop();
    console.log(report('SIGSTOP', { before, during, after }));
    for (const phase of [before, during, after]) expect(phase.failed).toEqual({});
    expect(sawOpen).toBe(true);
    expect(replicaView().replicas.find((r) => r.instance === '2')!.ejections).toBeGreaterThan(ejectionsBefore);
    expect(after.byInstance['2'] ?? 0).toBeGreaterThan(0);
    budgetHolds(before, during, after);
  }, 30_000);

  it('loses no idempotent call while a replica answers retryable errors: its breaker opens, then closes', async () => {
    const client = mesh.client(Replicas);
    const load = loadOn(client);
    await sleep(800);
    const before = load.next();
    const faulty = await direct(0);
    await faulty.mode('failing');
    await until(() => breakerOf(0) === 'open', 3000, 'the breaker of the failing replica opens');
    await sleep(1000);
    const during = load.next();
    await faulty.mode('ok');
    await until(() => breakerOf(0) === 'closed', 5000, 'the breaker closes once the replica answers');
    await sleep(500);
    const after = await load.stop();
    console.log(report('retryable errors', { before, during, after }));
    for (const phase of [before, during, after]) expect(phase.failed).toEqual({});
    expect(after.byInstance['0'] ?? 0).toBeGreaterThan(0);
    budgetHolds(before, during, after);
  }, 30_000);

  it('shares events among the replicas (one queue, competing consumers): none lost when one is SIGKILLed mid-handler and restarts', async () => {
    const logs = () =>
      readdirSync(runtime.path)
        .filter((name) => name.startsWith('events-'))
        .map((name) => ({ instance: name.slice(7, -4), lines: readFileSync(join(runtime.path, name), 'utf8').split('\n').filter(Boolean) }));
    const seqs = () => logs().flatMap((log) => log.lines.map((line) => Number(line.split(' ')[0])));
    const total = 600;
    const publishing = (async () => {
      for (let seq = 0; seq < total; seq++) await mesh.events.publish(new ReplicaTick(seq), { timeoutMs: 10_000 });
    })();
    await until(() => logs().reduce((n, log) => n + log.lines.length, 0) >= 150, 10_000, 'a quarter of the events handled');
    // Mid-handler: each takes 2 ms, and every replica has some in flight.
    await replicas[1]!.kill();
    replicas[1] = await start(1);
    await publishing;
    await until(() => new Set(seqs()).size === total, 20_000, 'every event handled');
    const handled = seqs();
    const duplicates = handled.length - new Set(handled).size;
    const perReplica = () => Object.fromEntries(logs().map((log) => [log.instance, log.lines.length]));
    console.log(
      `events: ${total} published, ${handled.length} handled (${duplicates} twice: handled, then redelivered after the kill), by replica ${JSON.stringify(perReplica())}`,
    );
    // Only events in flight at the kill came twice: at most the killed replica's queue
    // messages in flight, one event each (every publish was awaited before the next).
    expect(duplicates).toBeLessThanOrEqual(QUEUE_IN_FLIGHT);
    // One queue, competing consumers: every replica takes events from it. Which one the kernel
    // wakes first is the scheduler's choice, so a replica left out of one burst gets more.
    let published = total;
    for (let round = 0; round < 5 && Object.keys(perReplica()).length < 3; round++) {
      for (let n = 0; n < 60; n++) await mesh.events.publish(new ReplicaTick(published++), { timeoutMs: 10_000 });
      await until(() => new Set(seqs()).size === published, 10_000, 'every event handled');
    }
    // No kill in these rounds: not one event twice.
    expect(seqs().length - new Set(seqs()).size).toBe(duplicates);
    if (Object.keys(perReplica()).length < 3) {
      // What each replica says of its queue reader, for whoever reads the failure.
      for (const replica of replicas) replica.child.kill('SIGUSR2');
      await sleep(500);
      const dir = join(runtime.path, namespace, 'diag');
      for (const name of readdirSync(dir)) console.log(name, JSON.stringify(JSON.parse(readFileSync(join(dir, name), 'utf8')).transports));
    }
    expect(Object.keys(perReplica()).sort()).toEqual(['0', '1', '2']);
  }, 60_000);

  it('keeps the order of events with one key: one replica takes each account, in order, even when that replica is SIGKILLed mid-handler and restarts', async () => {
    const accounts = Array.from({ length: 12 }, (_, i) => `acct-${i}`);
    const perAccount = 50;
    const logs = () =>
      readdirSync(runtime.path)
        .filter((name) => name.startsWith('transfers-'))
        .flatMap((name) =>
          readFileSync(join(runtime.path, name), 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => ({ instance: name.slice(10, -4), account: line.split(' ')[0]!, seq: Number(line.split(' ')[1]) })),
        );
    // Each account's partition, as docs/protocol.md gives it: FNV-1a of the key, mod the replicas.
    const partitionOf = (account: string) => String(routeId(account) % 3);
    expect(new Set(accounts.map(partitionOf)).size).toBe(3);
    const killed = partitionOf(accounts[0]!);
    const publishing = (async () => {
      for (let seq = 0; seq < perAccount; seq++) {
        for (const account of accounts) await mesh.events.publish(new ReplicaTransfer(account, seq), { timeoutMs: 15_000 });
      }
    })();
    // Killed twice: the second run replays what the first replay left, still in order.
    for (const share of [60, 120]) {
      await until(() => logs().filter((l) => l.instance === killed).length >= share, 10_000, "a share of the killed replica's transfers handled");
      await replicas[Number(killed)]!.kill();
      replicas[Number(killed)] = await start(Number(killed));
    }
    await publishing;
    const total = accounts.length * perAccount;
    await until(() => new Set(logs().map((l) => `${l.account} ${l.seq}`)).size === total, 20_000, 'every transfer handled');
    const handled = logs();
    const byAccount = new Map<string, { instances: Set<string>; seqs: number[] }>();
    for (const { instance, account, seq } of handled) {
      const entry = byAccount.get(account) ?? { instances: new Set(), seqs: [] };
      entry.instances.add(instance);
      entry.seqs.push(seq);
      byAccount.set(account, entry);
    }
    const outOfOrder = [...byAccount].flatMap(([account, { seqs }]) =>
      seqs.flatMap((seq, i) => (i > 0 && seq < seqs[i - 1]! ? [`${account}: ${seqs[i - 1]} then ${seq}`] : [])),
    );
    console.log(
      `keyed events: ${total} published over ${accounts.length} accounts, ${handled.length} handled (${handled.length - total} again after the kill of replica ${killed}), out of order: ${outOfOrder.length}, replica per account ${JSON.stringify(Object.fromEntries([...byAccount].map(([a, e]) => [a, [...e.instances].join()])))}`,
    );
    expect(outOfOrder).toEqual([]);
    for (const [account, { instances }] of byAccount) expect([...instances]).toEqual([partitionOf(account)]);
    // Only a transfer whose handler was running at a kill comes twice (at-least-once), right
    // after itself: at most one per account and kill. Those waiting behind it, and those finished in
    // the same queue message, are not handled again (the journal records each event handled).
    expect(handled.length - total).toBeLessThanOrEqual(2 * accounts.length);
  }, 60_000);

  it('delivers a broadcast event to every replica', async () => {
    for (let version = 1; version <= 5; version++) await mesh.events.publish(new ReplicaReload(version));
    const reloads = (instance: number) => {
      try {
        return readFileSync(join(runtime.path, `reloads-${instance}.log`), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map(Number);
      } catch {
        return [];
      }
    };
    await until(() => [0, 1, 2].every((i) => reloads(i).length >= 5), 5000, 'every replica took every reload');
    for (const instance of [0, 1, 2]) expect(reloads(instance)).toEqual([1, 2, 3, 4, 5]);
  });

  it('limits an endpoint with a bulkhead: two run, one waits, the rest get QueueFullError at once', async () => {
    const one = await direct(2);
    const started = Date.now();
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => one.slow(300).then(String, (error: HostmeshError) => error.name)));
    expect(outcomes.filter((o) => o === '300')).toHaveLength(3);
    expect(outcomes.filter((o) => o === 'QueueFullError')).toHaveLength(2);
    // The queued call ran after a slot freed: two rounds of 300 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    await expect(one.slow(10)).resolves.toBe(10);
  });

  it("takes policies from the deployment (HOSTMESH_ENDPOINTS, the manifest's endpoints) over the decorators, and refuses one for no endpoint", async () => {
    const fourth = await spawnService(REPLICA, {
      env: {
        HOSTMESH_RUNTIME_DIR: runtime.path,
        HOSTMESH_NAMESPACE: `${namespace}-policy`,
        HOSTMESH_ENDPOINTS: JSON.stringify({ slow: { bulkhead: { limit: 1 } }, work: { attemptTimeoutMs: 250 } }),
      },
      ready: { service: 'replicas', runtimeDir: runtime.path, namespace: `${namespace}-policy` },
    });
    const other = Mesh.connect({ runtimeDir: runtime.path, namespace: `${namespace}-policy`, logLevel: 'silent' });
    try {
      const [descriptor] = await other.registry.lookup('replicas');
      expect(descriptor!.routes.find((r) => r.name === 'work')).toMatchObject({ idempotent: true, attemptTimeoutMs: 250 });
      const client = other.client(Replicas);
      const outcomes = await Promise.all(Array.from({ length: 3 }, () => client.slow(200).then(String, (error: HostmeshError) => error.name)));
      expect(outcomes.sort()).toEqual(['200', 'QueueFullError', 'QueueFullError']);
    } finally {
      await other.close(0);
      await fourth.stop();
    }
    const refused = await spawnService(REPLICA, {
      env: { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: `${namespace}-bad`, HOSTMESH_ENDPOINTS: JSON.stringify({ nope: { idempotent: true } }) },
    });
    expect((await refused.exited).code).not.toBe(0);
    expect(refused.output).toContain("endpoints.nope: 'replicas' has no endpoint 'nope'");
  });

  it("gives the contract's fallback when a call fails for good", async () => {
    await expect(mesh.client(Replicas).unavailable()).resolves.toBe('fallback after NEVER_AVAILABLE');
  });

  it("does not take a handler's own ServiceUnavailableError (its downstream call failed) for a call that never ran: no retry", async () => {
    const runs = async () => {
      let total = 0;
      for (const i of [0, 1, 2]) total += await (await direct(i)).downstreamRuns();
      return total;
    };
    const before = await runs();
    await expect(mesh.client(Replicas).downstream()).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect((await runs()) - before).toBe(1);
  });

  it('does not retry a call that is not idempotent: the retryable error reaches the caller', async () => {
    const faulty = await direct(1);
    await faulty.mode('failing');
    try {
      const client = mesh.client(Replicas);
      const outcomes = await Promise.all(
        Array.from({ length: 30 }, (_, n) =>
          client.once(n).then(
            () => 'ok',
            (error: HostmeshError) => error.code,
          ),
        ),
      );
      expect(outcomes).toContain('REPLICA_FAILING');
      expect(outcomes).toContain('ok');
    } finally {
      await faulty.mode('ok');
    }
  });
});
