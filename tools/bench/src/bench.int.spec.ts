import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from './result';

// The quick run end to end: real servers, real peers, every workload. What it checks is
// that every row is there and sane, never how fast anything was (that is the bench's job).
const MAIN = join(__dirname, '..', 'dist', 'main.js');
const SIZES = [64, 4096, 1 << 20];
const TARGETS = [
  'raw UDS',
  'child_process IPC',
  'NestJS TCP',
  'moleculer TCP',
  'zeromq ipc',
  'hostmesh uds',
  'hostmesh tcp',
  'hostmesh shm',
  'hostmesh shm, released',
  'hostmesh shm, loans',
  'hostmesh thread',
  'hostmesh fifo',
];
// ~120 s on a busy 2-vCPU machine (the replica rows ~8 s of it); the limit leaves room for a more loaded one.
const RUN_LIMIT_MS = 300_000;
const EVENT_TARGETS = ['raw UDS', 'hostmesh mqueue', 'hostmesh uds', 'hostmesh tcp', 'hostmesh shm', 'hostmesh fifo'];

describe('npm run bench -- --quick', () => {
  const out = mkdtempSync(join(tmpdir(), 'hm-bench-test-'));
  let result: BenchResult;
  let stdout = '';
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  beforeAll(async () => {
    // Its own process group: a timeout here takes down the bench and every server it started,
    // whose inherited pipes would otherwise keep this test process alive.
    const child = spawn(process.execPath, [MAIN, '--quick', '--sweep', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const group = -child.pid!;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(group, signal);
      } catch {
        // already gone
      }
    };
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timers = [setTimeout(() => signalGroup('SIGTERM'), RUN_LIMIT_MS), setTimeout(() => signalGroup('SIGKILL'), RUN_LIMIT_MS + 10_000)];
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    timers.forEach(clearTimeout);
    signalGroup('SIGKILL');
    child.stdout.destroy();
    child.stderr.destroy();
    if (code !== 0) throw new Error(`bench exited with ${code}:\n${stdout}\n${stderr}`);
    result = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchResult;
  }, RUN_LIMIT_MS + 20_000);

  /** A failure ends a target's rows after the size it failed at ("… at 1048576 B × 64 in flight"). */
  const failedFrom = (target: string) => {
    const failure = result.failures.find((f) => f.target === target);
    return failure ? Number(/at (\d+) B × \d+ in flight/.exec(failure.reason)?.[1]) : Number.POSITIVE_INFINITY;
  };

  it('measures round trips of every target at every size, with ordered percentiles', () => {
    expect(result.targets).toEqual(TARGETS);
    for (const target of TARGETS) {
      for (const size of SIZES.filter((s) => s <= failedFrom(target))) {
        const row = result.latency.find((r) => r.target === target && r.size === size);
        expect({ target, size, found: row !== undefined }).toEqual({ target, size, found: true });
        expect(row!.p50).toBeGreaterThan(0);
        expect(row!.p50).toBeLessThanOrEqual(row!.p90);
        expect(row!.p90).toBeLessThanOrEqual(row!.p99);
        expect(row!.p99).toBeLessThanOrEqual(row!.p999);
      }
    }
  });

  it('measures 64 in flight for every target, or says why one failed', () => {
    for (const target of TARGETS) {
      for (const size of SIZES) {
        const row = result.throughput.find((r) => r.target === target && r.size === size);
        const skip = result.skipped.find((s) => s.target === target && s.size === size);
        expect({ target, size, measured: row !== undefined && row.rate > 0 }).toEqual({
          target,
          size,
          measured: size < failedFrom(target) && skip === undefined,
        });
      }
    }
    // hostmesh itself never fails nor sits out a workload.
    expect([...result.failures, ...result.skipped].filter((f) => f.target.startsWith('hostmesh'))).toEqual([]);
  });

  it('measures the object payload of every target that can send one, and says why zeromq and shm loans cannot', () => {
    expect(result.shapes).toEqual(['buffer', 'object']);
    const object = result.objectShape!;
    const unsupported = ['zeromq ipc', 'hostmesh shm, loans'];
    expect(object.unsupported.map((u) => u.target)).toEqual(unsupported);
    for (const target of TARGETS.filter((t) => !unsupported.includes(t))) {
      for (const size of SIZES.filter((s) => s <= failedFrom(target))) {
        const row = object.latency.find((r) => r.target === target && r.size === size);
        expect({ target, size, positive: row !== undefined && row.p50 > 0 }).toEqual({ target, size, positive: true });
      }
    }
    for (const target of TARGETS.filter((t) => (t === 'raw UDS' || t.startsWith('hostmesh')) && !unsupported.includes(t))) {
      for (const size of SIZES)
        expect({ target, size, measured: object.throughput.some((r) => r.target === target && r.size === size && r.rate > 0) }).toEqual({
          target,
          size,
          measured: true,
        });
    }
    expect(stdout).toContain('| target | 64 B object | 4 KiB object | 1 MiB object |');
    expect(stdout).toMatch(/^\| hostmesh shm, loans \| n\/a \| n\/a \| n\/a \|$/m);
  });

  it('delivers every one-way event', () => {
    expect(result.events.map((r) => r.target)).toEqual(EVENT_TARGETS);
    for (const row of result.events)
      expect({ target: row.target, lost: row.lost, positive: row.rate > 0 }).toEqual({ target: row.target, lost: 0, positive: true });
  });

  it('reports CPU, idle CPU, sparse traffic and the scaling sweep', () => {
    expect(result.cpu.map((r) => r.target)).toEqual(TARGETS);
    for (const row of result.cpu) {
      expect(Number.isFinite(row.serverMsPerKCall) && Number.isFinite(row.idleServerPercent)).toBe(true);
      expect(row.clientMsPerKCall).toBeGreaterThan(0);
    }
    expect(result.sparse.map((r) => r.target)).toEqual(['raw UDS', 'hostmesh uds', 'hostmesh shm']);
    const sweepTargets = ['raw UDS', 'hostmesh uds', 'hostmesh shm'];
    // The payload sweep also measures shm callers that release their results.
    expect(new Set(result.sweep!.payload.map((r) => r.target))).toEqual(new Set([...sweepTargets, 'hostmesh shm, released']));
    expect(new Set(result.sweep!.clients.map((r) => `${r.target}×${r.clients}`))).toEqual(new Set(sweepTargets.flatMap((t) => [`${t}×1`, `${t}×2`])));
    for (const row of [...result.sweep!.payload, ...result.sweep!.clients, ...result.sweep!.isolated!]) expect(row.rate).toBeGreaterThan(0);
    expect(result.sweep!.isolated!.map((r) => r.target)).toEqual(sweepTargets);
  });

  it('streams 64 B items and 1 MiB chunks from raw UDS, hostmesh shm and uds, losing none, with the goals next to the ratios', () => {
    const streamTargets = ['raw UDS', 'hostmesh shm', 'hostmesh uds'];
    const shapes = { items: { itemBytes: 64, items: 200_000 }, chunks: { itemBytes: 1 << 20, items: 256 } };
    for (const workload of ['items', 'chunks'] as const) {
      const rows = result.streams!.filter((row) => row.workload === workload);
      expect(rows.map((row) => row.target)).toEqual(streamTargets);
      for (const row of rows) {
        expect({
          workload,
          target: row.target,
          ...shapes[workload],
          lost: row.lost,
          wrong: row.wrong,
          measured: row.rate > 0 && row.bytesPerSecond > 0,
        }).toEqual({
          workload,
          target: row.target,
          itemBytes: row.itemBytes,
          items: row.items,
          lost: 0,
          wrong: 0,
          measured: true,
        });
      }
    }
    expect(stdout).toContain('**Stream of 200 k items of 64 B**');
    expect(stdout).toContain('**Stream of 256 MiB in 1 MiB chunks** (256 items)');
    expect(stdout).toMatch(/^\| hostmesh shm \| [^|]+ k\/s \| [^|]+ \| [\d.]+× \| ≥ 2× raw: (met|missed) \|/m);
    expect(stdout).toMatch(/^\| hostmesh shm \| [\d.]+ [GM]B\/s \| [^|]+ \| [\d.]+× \| ≥ 3× raw: (met|missed) \|/m);
  });

  it('calls a CPU-bound endpoint on 1, 2 and 3 replicas, each replica answering and none wrongly, with the cores next to the scaling', () => {
    const replicas = result.replicas!;
    expect({ cores: replicas.cores, inFlight: replicas.inFlight, calls: replicas.calls, placement: replicas.placement }).toEqual({
      cores: availableParallelism(),
      inFlight: 64,
      calls: 5000,
      placement: 'unpinned',
    });
    // Calibrated to about 50 µs here; a loaded machine times it slower, never much faster.
    expect(replicas.rounds).toBeGreaterThan(0);
    expect(replicas.workMicros).toBeGreaterThan(20);
    expect(replicas.rows.map((row) => row.replicas)).toEqual([1, 2, 3]);
    for (const row of replicas.rows) {
      expect({
        replicas: row.replicas,
        measured: row.rate > 0 && row.scaling > 0,
        shares: row.shares.length,
        everyReplicaAnswered: row.shares.every((share) => share > 0),
        wrong: row.wrong,
      }).toEqual({ replicas: row.replicas, measured: true, shares: row.replicas, everyReplicaAnswered: true, wrong: 0 });
      expect(row.shares.reduce((sum, share) => sum + share, 0)).toBeCloseTo(1, 6);
    }
    expect(replicas.rows[0]!.scaling).toBe(1);
    expect(stdout).toContain('| replicas | calls/s | vs 1 replica | spread | calls per replica |');
    expect(stdout).toContain(`This machine has ${availableParallelism()} core`);
    expect(stdout).toMatch(/^Scaling: 2 replicas \/ 1 = [\d.]+×, 3 replicas \/ 1 = [\d.]+×\.$/m);
  });

  it('prints the markdown tables and writes the charts', () => {
    expect(readFileSync(join(out, 'latest.md'), 'utf8')).toBe(stdout.slice(stdout.indexOf('Quick run of')).split('\nwrote ')[0]!.trimEnd() + '\n');
    for (const target of TARGETS) expect(stdout).toMatch(new RegExp(`^\\| ${target} \\|`, 'm'));
    expect(stdout).toContain('**Latency distribution at 1 MiB**');
    for (const chart of ['latency-64.svg', 'throughput.svg', 'events.svg', 'cpu.svg', 'sweep-payload.svg', 'sweep-clients.svg']) {
      expect({ chart, exists: existsSync(join(out, chart)) }).toEqual({ chart, exists: true });
    }
  });
});
