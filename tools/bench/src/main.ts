/**
 * Every hostmesh mechanism side by side with what a user would pick instead, between
 * separate Node processes, in one run on one machine (ratios, not absolutes).
 *
 *   npm run bench                   full run: 3 interleaved rounds, scaling sweep, writes docs/benchmarks/
 *   npm run bench -- --quick        smoke run (< 2 min), writes nothing unless --out
 *   npm run bench -- --pin          servers on CPU 1, client on CPU 0 (needs taskset)
 *   npm run bench -- --out DIR      latest.json, latest.md and SVG charts into DIR
 *   npm run bench -- --json FILE    the result as JSON
 *   npm run bench -- --sweep / --no-sweep
 *   npm run bench -- --sizes 64,4096 --mechanisms shm,uds --peers nest
 *   npm run bench -- --shapes object
 *   npm run bench -- --quick --streams-only   the stream rows alone (raw UDS vs hostmesh shm and uds)
 *   npm run bench -- --quick --replicas-only  the replica rows alone (a CPU-bound endpoint on 1, 2, 3 replicas)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Mesh } from '@hostmesh/framework';
import { calibrateBusyWork } from './busy-work';
import { pinServers, rerunPinned, startChild, startInWorker, stopChildren } from './children';
import { processCpuMs, selfCpuMs, stolenSeconds } from './cpu';
import { hostmeshEvents, rawEvents } from './events';
import { ipcTarget } from './peers/ipc-target';
import { moleculerTarget } from './peers/moleculer-target';
import { nestTarget } from './peers/nest-target';
import { zeromqTarget } from './peers/zeromq-target';
import { writeCharts } from './report/charts';
import { renderMarkdown } from './report/markdown';
import type { BenchResult, CpuRow, EventRow, LatencyRow, ObjectShapeRows, PayloadShape, ReplicaRow, ReplicaRows, StreamRow, ThroughputRow } from './result';
import { replicaTarget, type ReplicaTarget } from './replicas';
import { lanes, objectUnsupported, parseShapes, type Lane } from './shapes';
import { median, summarize } from './stats';
import { hostmeshStreamTarget, rawStreamTarget, type StreamRun, type StreamTarget } from './streams';
import { clientSweep, isolatedPipelined, payloadSweep, type SweepPeer } from './sweep';
import { hostmeshTarget, MAX_PAYLOAD_BYTES, rawSocketTarget, type BenchTarget, type BufferUse } from './targets';
import { pipelined, sequential, sparse } from './workloads';

const args = process.argv.slice(2);
const USAGE = `usage: npm run bench -- [options]
  --quick               a smoke run (~1 min): fewer iterations, one round, no files written
  --pin                 pin client and server to separate CPUs (needs taskset)
  --sweep / --no-sweep  run / skip the payload and client-count sweep (default: full runs only)
  --sizes 64,4096,...   payload sizes of the sequential and pipelined workloads, in bytes
  --shapes a,b          payload shapes among buffer,object: a bare Buffer, { op, id, data: Buffer } (default: both)
  --streams / --no-streams  run / skip the stream rows: 64 B items and 1 MiB chunks, raw UDS vs hostmesh shm and uds (default: run)
  --streams-only        the stream rows alone: no calls, events, CPU, sparse traffic nor sweep
  --replicas / --no-replicas  run / skip the replica rows: a ~50 µs CPU-bound endpoint on 1, 2 and 3 replica processes, over shm (default: run)
  --replicas-only       the replica rows alone (with --streams-only: both, and nothing else)
  --mechanisms a,b      hostmesh mechanisms among uds,tcp,shm,fifo (default: all)
  --peers a,b           peers among ipc,nest,moleculer,zeromq (default: all; '' for none)
  --out DIR             where to write latest.{json,md} and the SVG charts (default: docs/benchmarks)
  --no-out              write no files
  --json FILE           also write the JSON result to FILE`;
const VALUE_OPTIONS = ['--sizes', '--shapes', '--mechanisms', '--peers', '--out', '--json'];
const FLAGS = [
  '--quick',
  '--pin',
  '--sweep',
  '--no-sweep',
  '--no-out',
  '--streams',
  '--no-streams',
  '--streams-only',
  '--replicas',
  '--no-replicas',
  '--replicas-only',
];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--help' || args[i] === '-h') {
    console.log(USAGE);
    process.exit(0);
  }
  if (VALUE_OPTIONS.includes(args[i]) && i + 1 < args.length) i++;
  else if (!FLAGS.includes(args[i])) {
    console.error(`bench: unknown or incomplete option '${args[i]}'\n${USAGE}`);
    process.exit(2);
  }
}
const flag = (name: string) => args.includes(name);
const option = (name: string) => (flag(name) ? args[args.indexOf(name) + 1] : undefined);
const quick = flag('--quick');
const pin = flag('--pin');
const rounds = quick ? 1 : 3;
const outDir = flag('--no-out') ? undefined : (option('--out') ?? (quick ? undefined : resolve(__dirname, '../../../docs/benchmarks')));
const streamsOnly = flag('--streams-only');
const replicasOnly = flag('--replicas-only');
/** Only the rows an `--…-only` flag names: no calls, events, CPU, sparse traffic nor sweep. */
const only = streamsOnly || replicasOnly;
const withStreams = streamsOnly || (!replicasOnly && !flag('--no-streams'));
const withReplicas = replicasOnly || (!streamsOnly && !flag('--no-replicas'));
const withSweep = !only && (flag('--sweep') || (!quick && !flag('--no-sweep')));
const SIZES = option('--sizes')?.split(',').map(Number) ?? [64, 4096, 1 << 20];
const SHAPES = shapesOption();
// Quick 1 MiB runs long enough to get past JIT warm-up and first-touch page faults.
const ITERATIONS = (size: number) => (size >= 1 << 20 ? (quick ? 200 : 300) : quick ? 1000 : 20_000);
const PIPELINED = (size: number) => (size >= 1 << 20 ? (quick ? 256 : 1000) : size >= 4096 ? (quick ? 3000 : 100_000) : quick ? 5000 : 300_000);
const IN_FLIGHT = 64;
/** A target that has not finished its pipelined run by then has failed it (its calls are abandoned). */
const PIPELINED_DEADLINE_MS = quick ? 30_000 : 180_000;
const MECHANISMS = option('--mechanisms')?.split(',') ?? ['uds', 'tcp', 'shm', 'thread', 'fifo'];
const EVENT_MECHANISMS = only ? [] : ['mqueue', 'uds', 'tcp', 'shm', 'fifo'].filter((m) => m === 'mqueue' || MECHANISMS.includes(m));
/** The stream rows: hostmesh shm and uds (those of --mechanisms), each beside raw UDS. */
const STREAM_MECHANISMS = withStreams ? ['shm', 'uds'].filter((m) => MECHANISMS.includes(m)) : [];
/** 1 M items of 64 B, and 1 GiB in 1 MiB chunks; quick: 200 k items and 256 MiB. */
const STREAM_WORKLOADS: Array<{ workload: StreamRow['workload']; size: number; count: number }> = [
  { workload: 'items', size: 64, count: quick ? 200_000 : 1_000_000 },
  { workload: 'chunks', size: 1 << 20, count: quick ? 256 : 1024 },
];
/** A stream target that has not finished one stream by then has failed it. */
const STREAM_DEADLINE_MS = quick ? 60_000 : 180_000;
/** The replica rows: the same CPU-bound endpoint on this many replica processes, each count its own service (namespace). */
const REPLICA_COUNTS = [1, 2, 3];
/** Busy work per call, µs (calibrated once); calls per measurement; a measurement not finished by then has failed. */
const REPLICA_WORK_MICROS = 50;
const REPLICA_CALLS = quick ? 5000 : 40_000;
const REPLICA_DEADLINE_MS = quick ? 30_000 : 120_000;
/** Mechanisms whose echo service runs in a worker thread of the bench itself (`thread`: callers in its own process only). */
const IN_PROCESS = new Set(['thread']);
const PEERS = option('--peers')?.split(',') ?? ['ipc', 'nest', 'moleculer', 'zeromq'];
const NAMESPACE = 'bench';

function shapesOption(): PayloadShape[] {
  try {
    return parseShapes(option('--shapes'));
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

/**
 * One line per phase on stdout, with the seconds since the start: a run that is slow or
 * stuck on a loaded machine says where, even when something outside kills it.
 */
let started = Date.now();
let phaseName = 'start';
function phase(name: string): void {
  phaseName = name;
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${name}`);
}

// Killed from outside (a test's timeout, Ctrl-C): stop the servers first, and say where it was.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    console.log(`bench stopped by ${signal} during '${phaseName}', ${((Date.now() - started) / 1000).toFixed(1)} s in`);
    void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

/** Starts every server and connects a client to each, raw UDS first, then the peers, then hostmesh. */
async function connectTargets(runtime: string): Promise<BenchTarget[]> {
  const rawPath = join(runtime, 'raw.sock');
  const rawServer = await startChild('raw-echo.server', [rawPath], {});
  const targets: BenchTarget[] = [Object.assign(await rawSocketTarget('raw UDS', rawPath), { serverPid: rawServer.pid })];
  if (PEERS.includes('ipc')) {
    const ipc = await ipcTarget();
    // fork() cannot go through taskset: move the forked echo child to the servers' CPU.
    if (pin && ipc.serverPid) spawnSync('taskset', ['-pc', '1', String(ipc.serverPid)]);
    targets.push(ipc);
  }
  if (PEERS.includes('nest')) {
    const port = await freePort();
    const server = await startChild('peers/nest-echo.server', [String(port)], {});
    targets.push(Object.assign(await nestTarget(port, quick), { serverPid: server.pid }));
  }
  if (PEERS.includes('moleculer')) {
    const [serverPort, clientPort] = [await freePort(), await freePort()];
    const server = await startChild('peers/moleculer-echo.server', [String(serverPort), String(clientPort)], {});
    targets.push(Object.assign(await moleculerTarget(serverPort, clientPort), { serverPid: server.pid }));
  }
  if (PEERS.includes('zeromq')) {
    const path = join(runtime, 'zmq.sock');
    const server = await startChild('peers/zeromq-echo.server', [path], {});
    targets.push(Object.assign(await zeromqTarget(path), { serverPid: server.pid }));
  }
  for (const mechanism of MECHANISMS) {
    const server = { serverPid: servicePids.get(mechanism), serverTid: serviceTids.get(mechanism) };
    // Only shm lends pooled Buffers: its callers that release them, or send loans, against the one service.
    const uses: BufferUse[] = mechanism === 'shm' ? ['plain', 'released', 'loans'] : ['plain'];
    for (const use of uses) {
      const name = `hostmesh ${mechanism}${use === 'plain' ? '' : `, ${use}`}`;
      targets.push(Object.assign(hostmeshTarget(name, runtime, `${NAMESPACE}-${mechanism}`, use), server));
    }
  }
  return targets;
}

const servicePids = new Map<string, number | undefined>();
const serviceTids = new Map<string, number | undefined>();

async function startEchoServices(runtime: string): Promise<void> {
  const mechanisms = only ? STREAM_MECHANISMS : [...MECHANISMS, ...EVENT_MECHANISMS];
  for (const mechanism of new Set(mechanisms)) {
    const env = {
      HOSTMESH_RUNTIME_DIR: runtime,
      HOSTMESH_NAMESPACE: `${NAMESPACE}-${mechanism}`,
      HOSTMESH_BINDINGS: JSON.stringify({ '*': mechanism }),
      HOSTMESH_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES),
      HOSTMESH_LOG_LEVEL: 'warn',
    };
    if (IN_PROCESS.has(mechanism)) {
      const { pid, tid } = await startInWorker('echo.service', env);
      servicePids.set(mechanism, pid);
      serviceTids.set(mechanism, tid);
      // With --pin, the service thread runs on the servers' CPU like every other server.
      if (pin) spawnSync('taskset', ['-pc', '1', String(tid)]);
      continue;
    }
    const child = await startChild('echo.service', [], { ...env, HOSTMESH_LOG_LEVEL: 'info' });
    servicePids.set(mechanism, child.pid);
  }
}

async function main(): Promise<void> {
  // The machine's cores, counted before --pin reruns the bench on CPU 0 (where availableParallelism() is 1).
  process.env.HOSTMESH_BENCH_CORES ??= String(availableParallelism());
  rerunPinned(pin, __filename, args);
  pinServers(pin);
  const runtime = mkdtempSync(join(tmpdir(), 'hm-bench-'));
  cleanUp = cleanUpAfter(runtime);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const stealBefore = stolenSeconds();
  const began = Date.now();
  started = began;
  console.log(
    `hostmesh bench: ${quick ? 'quick' : 'full'} run, ${rounds} round(s), ${pin ? 'client on CPU 0, servers on CPU 1' : 'unpinned'}; load average ${load}`,
  );
  try {
    phase('starting the echo services');
    await startEchoServices(runtime);
    let targets: BenchTarget[] = [];
    let latency: LatencyRow[] = [];
    let throughput: ThroughputRow[] = [];
    let objectShape: ObjectShapeRows | undefined;
    let cpu: CpuRow[] = [];
    const sparseRows: LatencyRow[] = [];
    let sweep: BenchResult['sweep'];
    let events: EventRow[] = [];
    if (!only) {
      phase('starting the peers and connecting');
      targets = await connectTargets(runtime);
      phase('warm-up');
      await warmUp(targets);
      ({ latency, throughput, objectShape } = await measure(targets));
      phase('CPU per call and at idle');
      cpu = await measureCpu(targets);
      phase('sparse traffic');
      for (const target of targets.filter((t) => ['raw UDS', 'hostmesh shm', 'hostmesh uds'].includes(t.name))) {
        const summary = await sparse(target, Buffer.alloc(64, 1), quick ? 200 : 2000);
        sparseRows.push({ target: target.name, size: 64, ...pick(summary), spread: [summary.p50, summary.p50] });
      }
      if (withSweep) {
        const sweepPeers: SweepPeer[] = targets
          .filter((t) => ['raw UDS', 'hostmesh shm', 'hostmesh uds'].includes(t.name))
          .map((target) => ({
            target,
            clientArgs: target.name === 'raw UDS' ? ['raw', join(runtime, 'raw.sock')] : ['hostmesh', runtime, `${NAMESPACE}-${target.name.split(' ')[1]}`],
          }));
        phase('scaling sweep');
        const sizes = quick ? [64, 1 << 20] : [64, 1024, 16 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20];
        sweep = {
          // shm's callers that release their results too: a result held until collected is copied past the lease bound.
          payload: await payloadSweep(
            [...sweepPeers, ...targets.filter((t) => t.name === 'hostmesh shm, released').map((target) => ({ target, clientArgs: [] }))],
            sizes,
            quick,
          ),
          clients: await clientSweep(sweepPeers, quick ? [1, 2] : [1, 2, 4, 8], quick ? 500 : 2000),
          isolated: await isolatedPipelined(sweepPeers, quick ? 1 : 3, quick ? 500 : 2000),
        };
      }
      for (const target of targets) await target.close();
      phase('one-way events');
      events = await measureEvents(runtime);
    }
    const streams = withStreams ? await measureStreams(runtime) : undefined;
    const replicas = withReplicas ? await measureReplicas(runtime) : undefined;
    const stealSeconds = stolenSeconds() - stealBefore;
    const elapsed = (Date.now() - began) / 1000;
    const result: BenchResult = {
      date: new Date().toISOString(),
      quick,
      pin,
      rounds,
      load,
      stealSeconds,
      busy: stealSeconds > elapsed * 0.05,
      // A run of the stream or replica rows alone lists their targets.
      targets: only
        ? [...new Set((streams ?? []).map((row) => row.target)), ...(replicas?.rows ?? []).map((row) => `hostmesh shm × ${row.replicas}`)]
        : targets.map((t) => t.name),
      latency,
      throughput,
      events,
      cpu,
      sparse: sparseRows,
      sweep,
      failures: [...failed].map(([target, reason]) => ({ target, reason })),
      skipped,
      shapes: SHAPES,
      objectShape,
      streams,
      replicas,
    };
    const markdown = renderMarkdown(result);
    console.log(`\n${markdown}`);
    const jsonPath = option('--json');
    if (jsonPath) writeFileSync(jsonPath, JSON.stringify(result, null, 2));
    if (outDir) {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(join(outDir, 'latest.json'), JSON.stringify(result, null, 2));
      writeFileSync(join(outDir, 'latest.md'), markdown);
      const charts = writeCharts(result, outDir);
      console.log(`wrote latest.json, latest.md and ${charts.length} charts to ${outDir}`);
    }
    console.log(`bench finished in ${elapsed.toFixed(0)} s`);
  } finally {
    await cleanUp();
  }
}

let cleanUp = stopChildren;

/** Once, whether the run ends or is stopped: servers, then the kernel objects they leave by design. */
function cleanUpAfter(runtime: string): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () =>
    (done ??= (async () => {
      await stopChildren();
      // Durable event queues outlive their subscribers by design: these were the bench's.
      for (const mechanism of EVENT_MECHANISMS) {
        const mesh = Mesh.connect({ runtimeDir: runtime, namespace: `${NAMESPACE}-${mechanism}`, logLevel: 'silent' });
        await mesh.registry.purgeSubscriptions();
        await mesh.close(0);
      }
      rmSync(runtime, { recursive: true, force: true });
    })());
}

/** `work`, or a rejection once `ms` have passed without it settling. */
function withDeadline<T>(work: Promise<T>, ms: number, onLate: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onLate();
      reject(new Error(`not finished within ${ms / 1000} s`));
    }, ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

const pick = ({ p50, p90, p99, p999 }: { p50: number; p90: number; p99: number; p999: number }) => ({ p50, p90, p99, p999 });

/**
 * Lets the JIT reach its optimising tier on every path before anything is measured: the
 * first few thousand calls of a Node program run unoptimised code and would measure that.
 */
async function warmUp(targets: BenchTarget[]): Promise<void> {
  const deadline = Date.now() + (quick ? 1000 : 4000);
  const small = Buffer.alloc(64, 1);
  while (Date.now() < deadline) {
    for (const { view } of lanes(targets, SHAPES)) {
      await sequential([view], small, 300);
      await pipelined(view, small, IN_FLIGHT, 1000);
    }
  }
}

const failed = new Map<string, string>();
/** Targets that missed a deadline, with calls still outstanding. */
const abandoned = new Set<string>();
const skipped: BenchResult['skipped'] = [];
const spread = (values: number[]): [number, number] => (values.length ? [Math.min(...values), Math.max(...values)] : [Number.NaN, Number.NaN]);

/**
 * Interleaves all targets, each in every shape, within every round, alternating their
 * order, so drift in load hits each alike.
 */
async function measure(targets: BenchTarget[]): Promise<{ latency: LatencyRow[]; throughput: ThroughputRow[]; objectShape?: ObjectShapeRows }> {
  const latency = new Map<string, ReturnType<typeof summarize>[]>();
  const rate = new Map<string, number[]>();
  const record = <T>(map: Map<string, T[]>, key: string, value: T) => map.set(key, [...(map.get(key) ?? []), value]);
  const key = (target: string, shape: PayloadShape, size: number) => `${shape}:${target}:${size}`;
  const objectSkipped: ObjectShapeRows['skipped'] = [];
  for (let round = 0; round < rounds; round++) {
    for (const size of SIZES) {
      const payload = Buffer.alloc(size, 7);
      phase(`round ${round + 1}, ${size} B: sequential (${SHAPES.join(', ')})`);
      const order = lanes(
        (round % 2 ? [...targets].reverse() : targets).filter((target) => !failed.has(target.name)),
        SHAPES,
      );
      const summaries = await sequential(
        order.map((lane) => lane.view),
        payload,
        ITERATIONS(size),
        2000,
        quick ? 3000 : 30_000,
      );
      order.forEach(({ target, shape }, i) => record(latency, key(target.name, shape, size), summaries[i]!));
      for (const lane of order) {
        const measured = await measureInFlight(lane, payload, round, objectSkipped);
        if (measured !== undefined && Number.isFinite(measured)) record(rate, key(lane.target.name, lane.shape, size), measured);
      }
    }
  }
  const rows = (shape: PayloadShape) => {
    const latencyRows: LatencyRow[] = [];
    const throughputRows: ThroughputRow[] = [];
    for (const size of SIZES) {
      for (const target of targets) {
        const summaries = latency.get(key(target.name, shape, size));
        if (summaries) {
          const p50s = summaries.map((s) => s.p50);
          latencyRows.push({
            target: target.name,
            size,
            p50: median(p50s),
            p90: median(summaries.map((s) => s.p90)),
            p99: median(summaries.map((s) => s.p99)),
            p999: median(summaries.map((s) => s.p999)),
            spread: spread(p50s),
          });
        }
        const rates = rate.get(key(target.name, shape, size));
        if (rates) throughputRows.push({ target: target.name, size, inFlight: IN_FLIGHT, rate: median(rates), spread: spread(rates) });
      }
    }
    return { latency: latencyRows, throughput: throughputRows };
  };
  if (!SHAPES.includes('object')) return rows('buffer');
  const unsupported = targets.flatMap((target) => {
    const reason = objectUnsupported(target);
    return reason === undefined ? [] : [{ target: target.name, reason }];
  });
  return { ...rows('buffer'), objectShape: { ...rows('object'), skipped: objectSkipped, unsupported } };
}

/**
 * One lane's 64 in flight: messages per second, NaN if it broke, undefined if it sat out
 * (noted once, in round 1, with the buffer shape's skips or the object shape's).
 */
async function measureInFlight(lane: Lane, payload: Buffer, round: number, objectSkipped: ObjectShapeRows['skipped']): Promise<number | undefined> {
  const { target, shape } = lane;
  // Its other shape may have broken it at this size.
  if (failed.has(target.name)) return undefined;
  const size = payload.length;
  const skip = target.skips?.('in flight', size, shape);
  if (skip) {
    if (round === 0) (shape === 'buffer' ? skipped : objectSkipped).push({ target: target.name, size, reason: skip });
    return undefined;
  }
  const label = shape === 'buffer' ? '' : `, ${shape} shape`;
  phase(`round ${round + 1}, ${size} B: ${target.name}${label}, ${IN_FLIGHT} in flight`);
  // A peer that breaks under a workload (NestJS drops 64 × 1 MiB in flight) is reported, not fatal.
  return withDeadline(pipelined(lane.view, payload, IN_FLIGHT, PIPELINED(size)), PIPELINED_DEADLINE_MS, () => abandoned.add(target.name)).catch(
    (error: Error) => {
      failed.set(target.name, `${error.message} at ${size} B × ${IN_FLIGHT} in flight${label}`);
      return Number.NaN;
    },
  );
}

/**
 * CPU per 1000 sequential 64 B calls on each side, then every server's CPU while nothing
 * is sent at all (connections open): a transport that polls shows up here.
 */
async function measureCpu(targets: BenchTarget[]): Promise<CpuRow[]> {
  const calls = quick ? 2000 : 10_000;
  const payload = Buffer.alloc(64, 2);
  const busy = new Map<string, { server: number; client: number }>();
  // A target whose calls were abandoned at a deadline may never answer again: it sits this out.
  for (const target of targets.filter((t) => !abandoned.has(t.name))) {
    const serverBefore = target.serverPid ? processCpuMs(target.serverPid, target.serverTid) : Number.NaN;
    const clientBefore = selfCpuMs();
    for (let i = 0; i < calls; i++) await target.roundTrip(payload);
    const client = selfCpuMs() - clientBefore;
    const server = target.serverPid ? processCpuMs(target.serverPid, target.serverTid) - serverBefore : Number.NaN;
    busy.set(target.name, { server: (server * 1000) / calls, client: (client * 1000) / calls });
  }
  const idleSeconds = quick ? 2 : 10;
  const idleBefore = new Map(targets.map((t) => [t.name, t.serverPid ? processCpuMs(t.serverPid, t.serverTid) : Number.NaN]));
  await new Promise((resolveIdle) => setTimeout(resolveIdle, idleSeconds * 1000));
  return targets.map((target) => ({
    target: target.name,
    serverMsPerKCall: busy.get(target.name)?.server ?? Number.NaN,
    clientMsPerKCall: busy.get(target.name)?.client ?? Number.NaN,
    idleServerPercent: target.serverPid
      ? ((processCpuMs(target.serverPid, target.serverTid) - idleBefore.get(target.name)!) / (idleSeconds * 1000)) * 100
      : Number.NaN,
    idleSeconds,
  }));
}

async function measureEvents(runtime: string): Promise<EventRow[]> {
  const sinkPath = join(runtime, 'sink.sock');
  await startChild('raw-sink.server', [sinkPath], {});
  const count = quick ? 20_000 : 300_000;
  const names = ['raw UDS', ...EVENT_MECHANISMS.map((m) => `hostmesh ${m}`)];
  const results = new Map<string, Array<{ rate: number; lost: number }>>(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    results.get('raw UDS')!.push(await rawEvents(sinkPath, count));
    for (const mechanism of EVENT_MECHANISMS) {
      phase(`one-way events: hostmesh ${mechanism}`);
      results.get(`hostmesh ${mechanism}`)!.push(await hostmeshEvents(runtime, `${NAMESPACE}-${mechanism}`, count));
    }
  }
  return names.map((name) => {
    const runs = results.get(name)!;
    const rates = runs.map((r) => r.rate);
    return { target: name, count, rate: median(rates), lost: runs.reduce((sum, r) => sum + r.lost, 0), spread: spread(rates) };
  });
}

/**
 * The stream rows: each workload's stream from raw-stream.server and from the shm and uds
 * echo services, targets interleaved within every round (order alternating), medians over
 * rounds. CPU of both sides over each stream's wall time.
 */
async function measureStreams(runtime: string): Promise<StreamRow[]> {
  phase('streams: starting the raw stream server and connecting');
  const rawPath = join(runtime, 'raw-stream.sock');
  const rawServer = await startChild('raw-stream.server', [rawPath], {});
  const targets: StreamTarget[] = [Object.assign(await rawStreamTarget('raw UDS', rawPath), { serverPid: rawServer.pid })];
  for (const mechanism of STREAM_MECHANISMS) {
    targets.push(Object.assign(hostmeshStreamTarget(`hostmesh ${mechanism}`, runtime, `${NAMESPACE}-${mechanism}`), { serverPid: servicePids.get(mechanism) }));
  }
  const broken = new Map<string, string>();
  const runs = new Map<string, Array<StreamRun & { serverCpuPercent: number; clientCpuPercent: number }>>();
  const key = (target: string, workload: string) => `${workload}:${target}`;
  const one = async (target: StreamTarget, workload: (typeof STREAM_WORKLOADS)[number], count: number) => {
    const serverBefore = target.serverPid ? processCpuMs(target.serverPid) : Number.NaN;
    const clientBefore = selfCpuMs();
    const run = await withDeadline(target.run(count, workload.size), STREAM_DEADLINE_MS, () => undefined);
    const wallMs = run.seconds * 1000;
    const server = target.serverPid ? processCpuMs(target.serverPid) - serverBefore : Number.NaN;
    return { ...run, serverCpuPercent: (server / wallMs) * 100, clientCpuPercent: ((selfCpuMs() - clientBefore) / wallMs) * 100 };
  };
  try {
    phase('streams: warm-up');
    for (const target of targets) for (const workload of STREAM_WORKLOADS) await one(target, workload, Math.ceil(workload.count / 10));
    for (let round = 0; round < rounds; round++) {
      for (const workload of STREAM_WORKLOADS) {
        for (const target of round % 2 ? [...targets].reverse() : targets) {
          if (broken.has(target.name)) continue;
          phase(`round ${round + 1}, streams: ${target.name}, ${workload.count} × ${workload.size} B`);
          try {
            const run = await one(target, workload, workload.count);
            runs.set(key(target.name, workload.workload), [...(runs.get(key(target.name, workload.workload)) ?? []), run]);
          } catch (error) {
            broken.set(target.name, `${(error as Error).message} in a stream of ${workload.count} × ${workload.size} B`);
            failed.set(target.name, broken.get(target.name)!);
          }
        }
      }
    }
  } finally {
    for (const target of targets) await target.close();
  }
  return STREAM_WORKLOADS.flatMap(({ workload, size, count }) =>
    targets.map((target): StreamRow => {
      const measured = runs.get(key(target.name, workload)) ?? [];
      const rates = measured.map((run) => run.items / run.seconds);
      return {
        target: target.name,
        workload,
        itemBytes: size,
        items: count,
        rate: measured.length ? median(rates) : Number.NaN,
        bytesPerSecond: measured.length ? median(measured.map((run) => run.bytes / run.seconds)) : Number.NaN,
        spread: spread(rates),
        lost: measured.reduce((sum, run) => sum + count - run.items, 0),
        wrong: measured.reduce((sum, run) => sum + run.wrong, 0),
        serverCpuPercent: measured.length ? median(measured.map((run) => run.serverCpuPercent)) : Number.NaN,
        clientCpuPercent: measured.length ? median(measured.map((run) => run.clientCpuPercent)) : Number.NaN,
      };
    }),
  );
}

/**
 * The replica rows: the echo service started 1 + 2 + 3 times (namespaces bench-replicas-1,
 * -2, -3; HOSTMESH_INSTANCE 0, 1, 2), one client per namespace calling `busy` with 64 in
 * flight. Targets alternate within every round (order reversed every other round), medians
 * over rounds; CPU of the replicas and of the client over each measurement's wall time.
 * With --pin: the client on CPU 0, replica i on CPU (1 + i) mod cores (on 2 cores: 1, 0, 1),
 * so one replica runs where every other server does and more spread over the cores.
 */
async function measureReplicas(runtime: string): Promise<ReplicaRows> {
  phase('replicas: calibrating the busy work');
  const work = calibrateBusyWork(REPLICA_WORK_MICROS);
  const cores = Number(process.env.HOSTMESH_BENCH_CORES) || availableParallelism();
  const cpuOf = (instance: number) => String((1 + instance) % cores);
  const namespace = (count: number) => `${NAMESPACE}-replicas-${count}`;
  phase(`replicas: ${work.rounds} rounds of busy work per call (${work.micros.toFixed(1)} µs here); starting the replicas`);
  const started = await Promise.all(
    REPLICA_COUNTS.flatMap((count) =>
      Array.from({ length: count }, (_, instance) =>
        startChild(
          'echo.service',
          [],
          {
            HOSTMESH_RUNTIME_DIR: runtime,
            HOSTMESH_NAMESPACE: namespace(count),
            HOSTMESH_INSTANCE: String(instance),
            HOSTMESH_BINDINGS: JSON.stringify({ '*': 'shm' }),
            HOSTMESH_LOG_LEVEL: 'info',
          },
          'ignore',
          cpuOf(instance),
        ).then((child) => ({ count, pid: child.pid! })),
      ),
    ),
  );
  const pids = (count: number) => started.filter((each) => each.count === count).map((each) => each.pid);
  const targets: ReplicaTarget[] = REPLICA_COUNTS.map((count) => replicaTarget(runtime, namespace(count), count, work.rounds, work.hash));
  const runs = new Map<number, Array<{ rate: number; replicaCpuPercent: number; clientCpuPercent: number; replicaMicrosPerCall: number }>>();
  const answered = new Map<number, number[]>(REPLICA_COUNTS.map((count) => [count, new Array<number>(count).fill(0)]));
  const wrong = new Map<number, number>(REPLICA_COUNTS.map((count) => [count, 0]));
  const nothing = Buffer.alloc(0);
  try {
    for (const target of targets) await target.ready(10_000);
    phase('replicas: warm-up');
    for (const target of targets) {
      await pipelined(target, nothing, IN_FLIGHT, quick ? 2000 : 10_000);
      wrong.set(target.replicas, wrong.get(target.replicas)! + target.take().wrong);
    }
    for (let round = 0; round < rounds; round++) {
      for (const target of round % 2 ? [...targets].reverse() : targets) {
        if (failed.has(target.name)) continue;
        phase(`round ${round + 1}, replicas: ${target.name}, ${REPLICA_CALLS} calls, ${IN_FLIGHT} in flight`);
        const replicaBefore = pids(target.replicas).map((pid) => processCpuMs(pid));
        const clientBefore = selfCpuMs();
        const begin = process.hrtime.bigint();
        try {
          const rate = await withDeadline(pipelined(target, nothing, IN_FLIGHT, REPLICA_CALLS), REPLICA_DEADLINE_MS, () => abandoned.add(target.name));
          const wallMs = Number(process.hrtime.bigint() - begin) / 1e6;
          const replicaMs = pids(target.replicas).reduce((sum, pid, i) => sum + processCpuMs(pid) - replicaBefore[i]!, 0);
          // pipelined's first 64 calls (its warm-up) are in the wall time, the CPU and the count.
          const taken = target.take();
          const calls = taken.byReplica.reduce((sum, n) => sum + n, 0) + taken.wrong;
          answered.set(
            target.replicas,
            answered.get(target.replicas)!.map((n, i) => n + taken.byReplica[i]!),
          );
          wrong.set(target.replicas, wrong.get(target.replicas)! + taken.wrong);
          runs.set(target.replicas, [
            ...(runs.get(target.replicas) ?? []),
            {
              rate,
              replicaCpuPercent: (replicaMs / wallMs) * 100,
              clientCpuPercent: ((selfCpuMs() - clientBefore) / wallMs) * 100,
              replicaMicrosPerCall: (replicaMs * 1000) / calls,
            },
          ]);
        } catch (error) {
          failed.set(target.name, `${(error as Error).message} with ${IN_FLIGHT} busy calls in flight`);
        }
      }
    }
  } finally {
    for (const target of targets) await target.close();
  }
  const base = median((runs.get(1) ?? []).map((run) => run.rate));
  const rows = REPLICA_COUNTS.map((count): ReplicaRow => {
    const measured = runs.get(count) ?? [];
    const rates = measured.map((run) => run.rate);
    const rate = measured.length ? median(rates) : Number.NaN;
    const byReplica = answered.get(count)!;
    const total = byReplica.reduce((sum, n) => sum + n, 0);
    return {
      replicas: count,
      rate,
      spread: spread(rates),
      scaling: measured.length && runs.get(1)?.length ? rate / base : Number.NaN,
      shares: byReplica.map((n) => (total ? n / total : Number.NaN)),
      replicaCpuPercent: measured.length ? median(measured.map((run) => run.replicaCpuPercent)) : Number.NaN,
      clientCpuPercent: measured.length ? median(measured.map((run) => run.clientCpuPercent)) : Number.NaN,
      replicaMicrosPerCall: measured.length ? median(measured.map((run) => run.replicaMicrosPerCall)) : Number.NaN,
      wrong: wrong.get(count)!,
    };
  });
  const placement = pin
    ? `pinned: the client on CPU 0, replica i on CPU (1 + i) mod ${cores} (${REPLICA_COUNTS.map((count) => `${count} replica${count === 1 ? '' : 's'} on CPU ${Array.from({ length: count }, (_, i) => cpuOf(i)).join(', ')}`).join('; ')})`
    : 'unpinned';
  return { cores, rounds: work.rounds, workMicros: work.micros, inFlight: IN_FLIGHT, calls: REPLICA_CALLS, placement, rows };
}

main().catch((error: Error) => {
  console.error(`bench failed: ${error.stack ?? error.message}`);
  process.exitCode = 1;
  void stopChildren().then(() => process.exit(1));
});
