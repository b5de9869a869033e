/**
 * What one `npm run bench` run measured: written as JSON (`--json`, and
 * docs/benchmarks/latest.json by a full run), read back by the chart writer and the tests.
 * Latencies are microseconds, rates are messages per second, CPU is percent of one core.
 */
export interface BenchResult {
  date: string;
  quick: boolean;
  pin: boolean;
  rounds: number;
  /** /proc/loadavg at the start, and CPU stolen by the hypervisor during the run. */
  load: string;
  stealSeconds: number;
  busy: boolean;
  /** Every target measured, in table order: 'raw UDS' first, then the peers, then hostmesh. */
  targets: string[];
  latency: LatencyRow[];
  throughput: ThroughputRow[];
  events: EventRow[];
  cpu: CpuRow[];
  sparse: LatencyRow[];
  sweep?: Sweep;
  /** Targets that broke under a workload, and how (NestJS under 64 × 1 MiB, say). */
  failures: Array<{ target: string; reason: string }>;
  /** Workloads a target sat out by design, and why (not failures: its other rows are there). */
  skipped: Array<{ target: string; size: number; reason: string }>;
  /**
   * Payload shapes measured. `latency`, `throughput` and `skipped` above are the buffer
   * shape's, as before there were shapes; absent means a buffer-only run.
   */
  shapes?: PayloadShape[];
  /** The object shape's rows, when it was measured: see ObjectShapeRows. */
  objectShape?: ObjectShapeRows;
  /** The stream rows (absent: not measured, `--no-streams` or a run before streams). */
  streams?: StreamRow[];
  /** The replica rows (absent: not measured, `--no-replicas` or a run before them). */
  replicas?: ReplicaRows;
}

/**
 * A CPU-bound endpoint (`busy`, about 50 µs of hashing per call) served by 1, 2 and 3
 * replica processes of one service over shm, `inFlight` calls kept in flight by one client
 * that balances them (least in flight). Measured side by side: the targets alternate within
 * every round, medians over rounds.
 */
export interface ReplicaRows {
  /** `os.availableParallelism()`: with the client, the replicas share these cores. */
  cores: number;
  /** Rounds of `busyWork` per call, calibrated once in the bench to `workMicros` µs (median of 200 timed runs). */
  rounds: number;
  workMicros: number;
  inFlight: number;
  /** Calls per measurement (each round, each replica count). */
  calls: number;
  /** Where the processes ran: 'unpinned', or with --pin the client's CPU and each replica's. */
  placement: string;
  rows: ReplicaRow[];
}

export interface ReplicaRow {
  replicas: number;
  /** Calls per second, median over rounds, and min–max of the rounds. */
  rate: number;
  spread: [number, number];
  /** `rate` over the 1-replica rate of the same run. */
  scaling: number;
  /** Share of the measured calls each replica answered (instance 0 first), over all rounds. */
  shares: number[];
  /** CPU of all the replicas together and of the client, percent of one core over the wall time; median over rounds. */
  replicaCpuPercent: number;
  clientCpuPercent: number;
  /** Replica CPU (all replicas) per call, µs: the work plus the framework's service side. */
  replicaMicrosPerCall: number;
  /** Answers with the wrong hash or from no known replica, over all rounds: must be 0. */
  wrong: number;
}

/**
 * One stream workload of one target: `items` Buffer items of `itemBytes` each, from the
 * server process to the client, medians over rounds. `lost` is asked minus arrived (with
 * `wrong`, items of another length), summed over rounds: must be 0. CPU is percent of one
 * core over the stream's wall time, median over rounds.
 */
export interface StreamRow {
  target: string;
  /** 'items': many small items (64 B); 'chunks': 1 MiB chunks. */
  workload: 'items' | 'chunks';
  itemBytes: number;
  items: number;
  /** Items per second and bytes per second (10^9 bytes = 1 GB). */
  rate: number;
  bytesPerSecond: number;
  /** min–max of the rounds' items per second. */
  spread: [number, number];
  lost: number;
  wrong: number;
  serverCpuPercent: number;
  clientCpuPercent: number;
}

/**
 * A bare Buffer ('buffer') or `{ op: 'echo', id, data: Buffer }` ('object'): what an
 * encoding costs once a payload is more than bytes (issue 16).
 */
export type PayloadShape = 'buffer' | 'object';

/**
 * The object shape's sequential and 64-in-flight rows, compared with raw UDS's own object
 * rows of the same run. Kept apart from the buffer rows so that readers of older results,
 * which find a row by target and size, still find the buffer one.
 */
export interface ObjectShapeRows {
  latency: LatencyRow[];
  throughput: ThroughputRow[];
  skipped: Array<{ target: string; size: number; reason: string }>;
  /** Targets with no object shape at all, and why (the report prints n/a). */
  unsupported: Array<{ target: string; reason: string }>;
}

/** Sequential round trips of one target at one payload size: medians over rounds, and the spread of p50. */
export interface LatencyRow {
  target: string;
  size: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  spread: [number, number];
}

export interface ThroughputRow {
  target: string;
  size: number;
  inFlight: number;
  rate: number;
  spread: [number, number];
}

/** One-way events with a final barrier: `lost` is published minus received (must be 0). */
export interface EventRow {
  target: string;
  count: number;
  rate: number;
  lost: number;
  spread: [number, number];
}

/**
 * CPU from /proc/<pid>/stat: the server process while its target ran the 64 B sequential
 * workload (per 1000 calls), and while idle (no traffic at all) over `idleSeconds`.
 */
export interface CpuRow {
  target: string;
  serverMsPerKCall: number;
  clientMsPerKCall: number;
  idleServerPercent: number;
  idleSeconds: number;
}

export interface Sweep {
  /** Payload growing from 64 B to 64 MiB, one client. */
  payload: Array<{ target: string; size: number; p50: number; rate: number }>;
  /** 1 → 8 client processes, each with 64 B calls in flight: total rate and median p50 per client. */
  clients: Array<{ target: string; clients: number; rate: number; p50: number }>;
  /**
   * 64 calls of 64 B in flight from one client process of its own per run (median of the
   * runs): the in-process rows share one client process with every other target, whose
   * garbage slows the later ones (see docs/benchmarks.md).
   */
  isolated?: Array<{ target: string; rate: number; p50: number; runs: number[] }>;
}
