import type { BenchResult, LatencyRow, ReplicaRow, StreamRow, ThroughputRow } from '../result';
import { renderMarkdown } from './markdown';

const SIZES = [64, 1 << 20];
const TARGETS = ['raw UDS', 'zeromq ipc', 'moleculer TCP', 'hostmesh shm'];

const latency = (target: string, size: number, p50: number): LatencyRow => ({ target, size, p50, p90: p50, p99: p50, p999: p50, spread: [p50, p50] });
const throughput = (target: string, size: number, rate: number): ThroughputRow => ({ target, size, inFlight: 64, rate, spread: [rate, rate] });
const MOLECULER_SKIP = { target: 'moleculer TCP', size: 1 << 20, reason: 'too slow' };

/** Buffer rows at 10 µs / 1000 per s for every target, as a run before issue 16 wrote them. */
function bufferOnly(): BenchResult {
  return {
    date: '2025-01-01T00:00:00.000Z',
    quick: true,
    pin: false,
    rounds: 1,
    load: '0 0 0',
    stealSeconds: 0,
    busy: false,
    targets: TARGETS,
    latency: SIZES.flatMap((size) => TARGETS.map((target) => latency(target, size, 10))),
    throughput: SIZES.flatMap((size) => TARGETS.filter((t) => t !== 'moleculer TCP' || size < 1 << 20).map((target) => throughput(target, size, 1000))),
    events: [],
    cpu: [],
    sparse: [],
    failures: [],
    skipped: [MOLECULER_SKIP],
  };
}

/** Raw UDS's object rows are 20 µs and 2000/s: hostmesh's are 40 µs and 500/s, so 0.50× and 0.25×. */
function withObjects(): BenchResult {
  const measured = TARGETS.filter((t) => t !== 'zeromq ipc');
  const p50 = (target: string) => (target === 'raw UDS' ? 20 : 40);
  const rate = (target: string) => (target === 'raw UDS' ? 2000 : 500);
  return {
    ...bufferOnly(),
    shapes: ['buffer', 'object'],
    objectShape: {
      latency: SIZES.flatMap((size) => measured.map((target) => latency(target, size, p50(target)))),
      throughput: SIZES.flatMap((size) =>
        measured.filter((t) => t !== 'moleculer TCP' || size < 1 << 20).map((target) => throughput(target, size, rate(target))),
      ),
      skipped: [MOLECULER_SKIP],
      unsupported: [{ target: 'zeromq ipc', reason: 'bytes only' }],
    },
  };
}

const section = (markdown: string, title: string) => markdown.slice(markdown.indexOf(title)).split('\n\n').slice(0, 2).join('\n\n');

describe('renderMarkdown', () => {
  it('renders a buffer-only result with no object tables', () => {
    const markdown = renderMarkdown(bufferOnly());
    expect(markdown).not.toContain('object');
    expect(markdown).toContain('| target | 64 B | 1 MiB |');
    expect(markdown).toContain('moleculer TCP sat out 1 MiB × 64 in flight: too slow.');
  });

  it('prints the latency distribution at the first size and at every size from 1 MiB, with p99 / p50 there', () => {
    const result = bufferOnly();
    result.latency = result.latency.map((row) => (row.size === 1 << 20 ? { ...row, p90: 20, p99: 25, p999: 40 } : row));
    const markdown = renderMarkdown(result);
    expect(section(markdown, '**Latency distribution at 64 B**')).toContain('| hostmesh shm | 10.0 µs | 10.0 µs | 10.0 µs | 10.0 µs | 10.0 µs–10.0 µs |');
    const large = section(markdown, '**Latency distribution at 1 MiB**');
    expect(large).toContain('| target | p50 | p90 | p99 | p99.9 | p99 / p50 | p50 spread |');
    expect(large).toContain('| hostmesh shm | 10.0 µs | 20.0 µs | 25.0 µs | 40.0 µs | 2.50× | 10.0 µs–10.0 µs |');
  });

  it('prints the object rows in their own tables, each ratio against raw UDS object rows', () => {
    const markdown = renderMarkdown(withObjects());
    const sequential = section(markdown, '**Sequential round trips, p50, object payload**');
    expect(sequential).toContain('| target | 64 B object | 1 MiB object |');
    expect(sequential).toContain('| raw UDS | 20.0 µs | 20.0 µs |');
    expect(sequential).toContain('| hostmesh shm | 40.0 µs (0.50× raw) | 40.0 µs (0.50× raw) |');
    expect(sequential).toContain('| zeromq ipc | n/a | n/a |');
    const inFlight = section(markdown, '**64 requests in flight, object payload**');
    expect(inFlight).toContain('| hostmesh shm | 500 /s (0.25× raw) | 500 /s (0.25× raw) |');
    expect(inFlight).toContain('| moleculer TCP | 500 /s (0.25× raw) | skipped |');
    // The buffer tables keep their own baseline.
    expect(section(markdown, '**Sequential round trips, p50**, Buffer payload')).toContain('| hostmesh shm | 10.0 µs (1.00× raw) |');
    expect(markdown).toContain('zeromq ipc: n/a for the object payload: bytes only.');
    expect(markdown).toContain('raw UDS has no serialization');
    expect(markdown).toContain('moleculer TCP sat out 1 MiB (Buffer and object payloads) × 64 in flight: too slow.');
  });

  it('prints each stream workload with its ratio to raw UDS and the goal on the shm row, and no empty tables in a streams-only run', () => {
    const row = (target: string, workload: 'items' | 'chunks', rate: number): StreamRow => {
      const itemBytes = workload === 'items' ? 64 : 1 << 20;
      return {
        target,
        workload,
        itemBytes,
        items: workload === 'items' ? 1_000_000 : 1024,
        rate,
        bytesPerSecond: rate * itemBytes,
        spread: [rate, rate],
        lost: 0,
        wrong: 0,
        serverCpuPercent: 50,
        clientCpuPercent: 75,
      };
    };
    const result: BenchResult = {
      ...bufferOnly(),
      targets: ['raw UDS', 'hostmesh shm', 'hostmesh uds'],
      latency: [],
      throughput: [],
      skipped: [],
      streams: [
        row('raw UDS', 'items', 200_000),
        row('hostmesh shm', 'items', 500_000),
        row('hostmesh uds', 'items', 300_000),
        row('raw UDS', 'chunks', 1000),
        row('hostmesh shm', 'chunks', 2000),
        row('hostmesh uds', 'chunks', 1000),
      ],
    };
    const markdown = renderMarkdown(result);
    const items = section(markdown, '**Stream of 1 M items of 64 B**');
    expect(items).toContain('| target | items/s | MB/s | vs raw UDS | goal | spread | server CPU | client CPU | lost |');
    expect(items).toContain('| raw UDS | 200.0 k/s | 12.8 MB/s | 1.00× |  | 200.0 k/s–200.0 k/s | 50 % | 75 % | 0 |');
    expect(items).toContain('| hostmesh shm | 500.0 k/s | 32.0 MB/s | 2.50× | ≥ 2× raw: met |');
    expect(items).toContain('| hostmesh uds | 300.0 k/s | 19.2 MB/s | 1.50× |  |');
    const chunks = section(markdown, '**Stream of 1 GiB in 1 MiB chunks** (1024 items)');
    expect(chunks).toContain('| hostmesh shm | 2.10 GB/s | 2.0 k/s | 2.00× | ≥ 3× raw: missed |');
    expect(markdown).not.toContain('One-way events');
    expect(markdown).not.toContain('**CPU**');
    expect(markdown).not.toContain('Sparse traffic');
  });

  it('prints the replica rows with their scaling against 1 replica and the cores that cap it, and nothing else in a replicas-only run', () => {
    const row = (replicas: number, rate: number, shares: number[]): ReplicaRow => ({
      replicas,
      rate,
      spread: [rate - 1000, rate],
      scaling: rate / 10_000,
      shares,
      replicaCpuPercent: 90 * Math.min(replicas, 2),
      clientCpuPercent: 20,
      replicaMicrosPerCall: 60,
      wrong: 0,
    });
    const result: BenchResult = {
      ...bufferOnly(),
      targets: ['hostmesh shm × 1', 'hostmesh shm × 2', 'hostmesh shm × 3'],
      latency: [],
      throughput: [],
      skipped: [],
      replicas: {
        cores: 2,
        rounds: 45_000,
        workMicros: 50.4,
        inFlight: 64,
        calls: 40_000,
        placement: 'unpinned',
        rows: [row(1, 10_000, [1]), row(2, 17_000, [0.5, 0.5]), row(3, 16_500, [0.34, 0.33, 0.33])],
      },
    };
    const markdown = renderMarkdown(result);
    const replicas = section(markdown, '**A CPU-bound endpoint on 1, 2, 3 replicas**');
    expect(replicas).toContain('~50 µs of hashing per call (45000 rounds, calibrated once), over shm, 64 calls in flight');
    expect(replicas).toContain('This machine has 2 cores (`os.availableParallelism()`): 3 replicas cannot beat 2 here, and the client shares the cores too.');
    expect(replicas).toContain('| replicas | calls/s | vs 1 replica | spread | calls per replica | replicas CPU | client CPU | replica CPU per call | wrong |');
    expect(replicas).toContain('| 1 | 10.0 k/s | 1.00× | 9.0 k/s–10.0 k/s | 100 % | 90 % | 20 % | 60 µs | 0 |');
    expect(replicas).toContain('| 3 | 16.5 k/s | 1.65× | 15.5 k/s–16.5 k/s | 34 % / 33 % / 33 % | 180 % | 20 % | 60 µs | 0 |');
    expect(markdown).toContain('Scaling: 2 replicas / 1 = 1.70×, 3 replicas / 1 = 1.65×.');
    expect(markdown).not.toContain('One-way events');
    expect(markdown).not.toContain('Stream of');
    expect(markdown).not.toContain('| target |');
  });

  it('renders an object-only run', () => {
    const result = { ...withObjects(), shapes: ['object' as const], latency: [], throughput: [], skipped: [] };
    const markdown = renderMarkdown(result);
    expect(markdown).not.toContain('Buffer payload');
    expect(markdown).toContain('| target | 64 B object | 1 MiB object |');
    expect(markdown).toContain('moleculer TCP sat out 1 MiB (object payload) × 64 in flight: too slow.');
  });
});
