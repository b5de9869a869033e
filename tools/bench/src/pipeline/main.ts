/**
 * What the call pipeline costs on the shm hot path: three echo services, the same but for what
 * is configured, side by side in one run, each row against the first measured in the same run.
 *
 *   npm run bench:pipeline                  7 interleaved rounds (~1 min)
 *   npm run bench:pipeline -- --quick       a smoke run: 2 rounds, fewer calls (~10 s)
 *   npm run bench:pipeline -- --pin         servers on CPU 1, client on CPU 0 (needs taskset)
 *
 * (a) nothing configured: the echo service every other bench measures;
 * (b) one no-op interceptor registered globally (`bootstrap(EchoService, { interceptors: [noop] })`);
 * (c) tracing on: the OpenTelemetry SDK (BasicTracerProvider, SimpleSpanProcessor into an
 *     InMemorySpanExporter emptied every 10 000 spans) registered in the service and in the client.
 *
 * Tracing is process-wide, so the one measuring client registers its provider while it calls (c)
 * and unregisters it (emptying the exporter) when it calls (a) or (b): every switch falls between
 * blocks, with no call of another configuration in flight. Within a round the sequential calls
 * take turns in blocks of 2000 (workloads.ts), the 64-in-flight runs and the CPU windows go one
 * configuration after the other, in the reverse order every other round. Ratios are medians of
 * the per-round ratios: each pairs numbers taken seconds, not minutes, apart.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { getHeapStatistics, GCProfiler } from 'node:v8';
import { Mesh } from '@hostmesh/framework';
import { pinServers, rerunPinned, startChild, stopChildren } from '../children';
import { processCpuMs, selfCpuMs, stolenSeconds } from '../cpu';
import { formatMicros, formatRate, median, type LatencySummary } from '../stats';
import { hostmeshTarget, MAX_PAYLOAD_BYTES, type BenchTarget } from '../targets';
import { pipelined, sequential } from '../workloads';
import { benchTracing } from './tracing';

const args = process.argv.slice(2);
const USAGE = `usage: npm run bench:pipeline -- [options]
  --quick   a smoke run (~10 s): 2 rounds, fewer calls
  --pin     pin the client and the services to separate CPUs (needs taskset)`;
for (const arg of args) {
  if (arg === '--help' || arg === '-h') {
    console.log(USAGE);
    process.exit(0);
  }
  if (arg !== '--quick' && arg !== '--pin') {
    console.error(`bench:pipeline: unknown option '${arg}'\n${USAGE}`);
    process.exit(2);
  }
}
const quick = args.includes('--quick');
const pin = args.includes('--pin');
const ROUNDS = quick ? 2 : 7;
const SIZE = 64;
const IN_FLIGHT = 64;
/** Sequential round trips per configuration and round. */
const ITERATIONS = quick ? 3000 : 20_000;
/** Calls per configuration and round with IN_FLIGHT outstanding. */
const PIPELINED = quick ? 10_000 : 60_000;
/** Sequential calls per configuration and round while CPU and heap are accounted. */
const COST_CALLS = quick ? 2000 : 10_000;
/** The whole run, whatever hangs: past this everything is stopped and the run fails. */
const RUN_LIMIT_MS = quick ? 120_000 : 300_000;
const NAMESPACE = 'bench-pipeline';

interface Configuration {
  label: string;
  /** HOSTMESH_BENCH_PIPELINE of its echo service. */
  pipeline: '' | 'interceptor' | 'tracing';
}
const CONFIGURATIONS: Configuration[] = [
  { label: '(a) nothing configured', pipeline: '' },
  { label: '(b) one no-op interceptor', pipeline: 'interceptor' },
  { label: '(c) tracing (OpenTelemetry SDK)', pipeline: 'tracing' },
];

let started = Date.now();
let phaseName = 'start';
function phase(name: string): void {
  phaseName = name;
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${name}`);
}

/** A configuration's client: the echo target, which switches the client's tracing to what it needs before each call. */
interface PipelineTarget extends BenchTarget {
  config: Configuration;
  calls: number;
}

const tracing = benchTracing();
let traced = false;
function clientTracing(on: boolean): void {
  if (on === traced) return;
  if (on) tracing.enable();
  else tracing.disable();
  traced = on;
}

function pipelineTarget(config: Configuration, runtime: string, serverPid: number | undefined, index: number): PipelineTarget {
  const inner = hostmeshTarget(config.label, runtime, `${NAMESPACE}-${index}`);
  const wantsTracing = config.pipeline === 'tracing';
  const target: PipelineTarget = {
    name: config.label,
    config,
    serverPid,
    calls: 0,
    roundTrip: (payload) => {
      clientTracing(wantsTracing);
      target.calls++;
      return inner.roundTrip(payload);
    },
    close: () => inner.close(),
  };
  return target;
}

/** The highest `bench:spans <n>` the tracing service has printed (as it empties its exporter, and at exit). */
function watchSpans(child: ChildProcess): { spans(): number; closed: Promise<void> } {
  let spans = 0;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const match = /bench:spans (\d+)/.exec(line);
    if (match) spans = Math.max(spans, Number(match[1]));
  });
  const closed = new Promise<void>((resolve) => child.stdout!.once('close', resolve));
  return { spans: () => spans, closed };
}

/** Heap allocated by this process from now until the returned function is called, in bytes (V8's heap, from the GCs in between). */
function heapAllocation(): () => number {
  const profiler = new GCProfiler();
  const before = getHeapStatistics().used_heap_size;
  profiler.start();
  return () => {
    const after = getHeapStatistics().used_heap_size;
    let allocated = 0;
    let last = before;
    for (const gc of profiler.stop().statistics) {
      allocated += gc.beforeGC.heapStatistics.usedHeapSize - last;
      last = gc.afterGC.heapStatistics.usedHeapSize;
    }
    return allocated + after - last;
  };
}

interface Cost {
  calls: number;
  clientMs: number;
  serverMs: number;
  heapBytes: number;
}

/** `calls` sequential calls, with the CPU of both ends (cpu.ts) and the client's heap allocation. */
async function costWindow(target: PipelineTarget, payload: Buffer, calls: number): Promise<Cost> {
  clientTracing(target.config.pipeline === 'tracing');
  const serverBefore = processCpuMs(target.serverPid!);
  const clientBefore = selfCpuMs();
  const allocation = heapAllocation();
  for (let i = 0; i < calls; i++) await target.roundTrip(payload);
  const heapBytes = allocation();
  return { calls, clientMs: selfCpuMs() - clientBefore, serverMs: processCpuMs(target.serverPid!) - serverBefore, heapBytes };
}

interface Measured {
  latency: LatencySummary[][];
  rates: number[][];
  cost: Cost[];
}

async function measure(targets: PipelineTarget[]): Promise<Measured> {
  const payload = Buffer.alloc(SIZE, 7);
  const latency: LatencySummary[][] = targets.map(() => []);
  const rates: number[][] = targets.map(() => []);
  const cost: Cost[] = targets.map(() => ({ calls: 0, clientMs: 0, serverMs: 0, heapBytes: 0 }));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...targets].reverse() : targets;
    phase(`round ${round + 1}/${ROUNDS}: sequential, ${ITERATIONS} calls each`);
    const summaries = await sequential(order, payload, ITERATIONS, 2000);
    order.forEach((target, i) => latency[targets.indexOf(target)]!.push(summaries[i]!));
    for (const target of order) {
      phase(`round ${round + 1}/${ROUNDS}: ${target.name}, ${IN_FLIGHT} in flight`);
      rates[targets.indexOf(target)]!.push(await pipelined(target, payload, IN_FLIGHT, PIPELINED));
    }
    phase(`round ${round + 1}/${ROUNDS}: CPU and heap, ${COST_CALLS} calls each`);
    for (const target of order) {
      const window = await costWindow(target, payload, COST_CALLS);
      const total = cost[targets.indexOf(target)]!;
      total.calls += window.calls;
      total.clientMs += window.clientMs;
      total.serverMs += window.serverMs;
      total.heapBytes += window.heapBytes;
    }
  }
  return { latency, rates, cost };
}

/** Lets the JIT reach its optimising tier on every path (both of the client's tracing states included) before anything is measured. */
async function warmUp(targets: PipelineTarget[]): Promise<void> {
  const deadline = Date.now() + (quick ? 1500 : 4000);
  const small = Buffer.alloc(SIZE, 1);
  while (Date.now() < deadline) {
    for (const target of targets) {
      await sequential([target], small, 300);
      await pipelined(target, small, IN_FLIGHT, 1000);
    }
  }
}

const range = (values: number[], show: (value: number) => string) => `${show(Math.min(...values))}–${show(Math.max(...values))}`;
const times = (value: number) => `${value.toFixed(2)}×`;
const signed = (value: number, show: (value: number) => string) => `${value < 0 ? '−' : '+'}${show(Math.abs(value))}`;

function report(targets: PipelineTarget[], measured: Measured): string {
  const { latency, rates, cost } = measured;
  const p50s = latency.map((rounds) => rounds.map((s) => s.p50));
  const p99s = latency.map((rounds) => rounds.map((s) => s.p99));
  /** Median over rounds of this configuration's value divided by (a)'s in the same round. */
  const ratio = (values: number[][], i: number) => median(values[i]!.map((value, round) => value / values[0]![round]!));
  const lines = [
    `${SIZE} B payloads over shm, ${ROUNDS} round(s); medians over rounds (range of the per-round values in brackets); ratios against (a), median of the per-round ratios.`,
    '',
    `| configuration | p50 | p99 | ${IN_FLIGHT} in flight | p50 vs (a) | p99 vs (a) | calls/s vs (a) | p50 added |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  targets.forEach((target, i) => {
    const p50 = median(p50s[i]!);
    lines.push(
      `| ${target.name} | ${formatMicros(p50)} (${range(p50s[i]!, formatMicros)}) | ${formatMicros(median(p99s[i]!))} (${range(p99s[i]!, formatMicros)}) | ` +
        `${formatRate(median(rates[i]!))} (${range(rates[i]!, formatRate)}) | ${times(ratio(p50s, i))} | ${times(ratio(p99s, i))} | ${times(ratio(rates, i))} | ` +
        `${i === 0 ? '' : signed(p50 - median(p50s[0]!), formatMicros)} |`,
    );
  });
  const per = (c: Cost, value: number) => value / c.calls;
  const base = cost[0]!;
  lines.push(
    '',
    `Cost per sequential call, ${cost[0]!.calls} calls per configuration: CPU of each end from /proc and process.cpuUsage() (shm polls while it waits, so this includes waiting for the other end), the client's V8 heap allocation from the GCs in between (GCProfiler).`,
    '',
    '| configuration | client CPU | service CPU | client heap | client CPU vs (a) | service CPU vs (a) | client heap vs (a) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  targets.forEach((target, i) => {
    const c = cost[i]!;
    const client = per(c, c.clientMs * 1000);
    const server = per(c, c.serverMs * 1000);
    const heap = per(c, c.heapBytes);
    lines.push(
      `| ${target.name} | ${formatMicros(client)} | ${formatMicros(server)} | ${heap.toFixed(0)} B | ${times(client / per(base, base.clientMs * 1000))} | ` +
        `${times(server / per(base, base.serverMs * 1000))} | ${times(heap / per(base, base.heapBytes))} |`,
    );
  });
  return lines.join('\n');
}

const runtimeDirs: string[] = [];
let cleaning: Promise<void> | undefined;
/** Once, whether the run ends, fails or is stopped: the services, then what they leave by design. */
function cleanUp(): Promise<void> {
  return (cleaning ??= (async () => {
    await stopChildren();
    for (const runtime of runtimeDirs) {
      // Durable event queues outlive their subscribers by design (the echo service subscribes to BenchTick).
      for (let i = 0; i < CONFIGURATIONS.length; i++) {
        const mesh = Mesh.connect({ runtimeDir: runtime, namespace: `${NAMESPACE}-${i}`, logLevel: 'silent' });
        await mesh.registry.purgeSubscriptions().catch(() => undefined);
        await mesh.close(0);
      }
      rmSync(runtime, { recursive: true, force: true });
    }
  })());
}

function stop(reason: string, code: number): void {
  console.error(`bench:pipeline stopped (${reason}) during '${phaseName}', ${((Date.now() - started) / 1000).toFixed(1)} s in`);
  // Past a further 10 s, children.ts's exit handler SIGKILLs whatever is left.
  const force = setTimeout(() => process.exit(code), 10_000);
  force.unref();
  void cleanUp().finally(() => process.exit(code));
}

async function main(): Promise<void> {
  rerunPinned(pin, __filename, args, RUN_LIMIT_MS + 30_000);
  pinServers(pin);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop(signal, signal === 'SIGINT' ? 130 : 143));
  setTimeout(() => stop(`not finished within ${RUN_LIMIT_MS / 1000} s`, 1), RUN_LIMIT_MS).unref();

  const runtime = mkdtempSync(join(tmpdir(), 'hm-bench-pipeline-'));
  runtimeDirs.push(runtime);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const stealBefore = stolenSeconds();
  started = Date.now();
  console.log(
    `hostmesh pipeline bench: ${quick ? 'quick' : 'full'} run, ${ROUNDS} rounds, ${pin ? 'client on CPU 0, services on CPU 1' : 'unpinned'}; load average ${load}`,
  );
  try {
    phase('starting the echo services');
    const targets: PipelineTarget[] = [];
    let serviceSpans: ReturnType<typeof watchSpans> | undefined;
    for (const [i, config] of CONFIGURATIONS.entries()) {
      const child = await startChild('echo.service', [], {
        HOSTMESH_RUNTIME_DIR: runtime,
        HOSTMESH_NAMESPACE: `${NAMESPACE}-${i}`,
        HOSTMESH_BINDINGS: JSON.stringify({ '*': 'shm' }),
        HOSTMESH_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES),
        HOSTMESH_LOG_LEVEL: 'info',
        HOSTMESH_BENCH_PIPELINE: config.pipeline,
      });
      if (config.pipeline === 'tracing') serviceSpans = watchSpans(child);
      targets.push(pipelineTarget(config, runtime, child.pid, i));
    }
    phase('warm-up');
    await warmUp(targets);
    const measured = await measure(targets);
    clientTracing(false);
    const tracedTarget = targets.find((t) => t.config.pipeline === 'tracing')!;
    const calls = tracedTarget.calls;
    const clientSpans = tracing.spans();
    for (const target of targets) await target.close();
    phase('stopping the echo services');
    await stopChildren();
    // The service prints its last count as it exits: wait (bounded) for its stdout to close.
    await Promise.race([serviceSpans!.closed, new Promise((resolve) => setTimeout(resolve, 3000))]);
    const stealSeconds = stolenSeconds() - stealBefore;
    const elapsed = (Date.now() - started) / 1000;

    console.log(`\n${report(targets, measured)}`);
    const spanNote = (spans: number) => `${spans} spans (${(spans / calls).toFixed(3)} per call)`;
    console.log(
      `\n(c) made ${calls} calls: the client recorded ${spanNote(clientSpans)}, the service ${spanNote(serviceSpans!.spans())}` +
        ` (the service's count is as of its last report: every 10 000 spans, and at exit).`,
    );
    console.log(
      `CPU stolen by the hypervisor during the run: ${stealSeconds.toFixed(1)} s of ${elapsed.toFixed(0)} s${stealSeconds > elapsed * 0.05 ? ' (busy machine: read the ratios, not the absolutes)' : ''}.`,
    );
    // A tracing row without spans measured an untraced process (the SDK registered with a copy of the API the framework does not read).
    if (clientSpans < calls * 0.99 || serviceSpans!.spans() < calls * 0.9) {
      console.error('bench:pipeline: configuration (c) did not record a span per call on both ends: its row is not a tracing measurement');
      process.exitCode = 1;
    }
    console.log(`bench:pipeline finished in ${elapsed.toFixed(0)} s`);
  } finally {
    await cleanUp();
  }
}

main()
  .then(() => process.exit(process.exitCode ?? 0))
  .catch((error: Error) => {
    console.error(`bench:pipeline failed: ${error.stack ?? error.message}`);
    stop('failure', 1);
  });
