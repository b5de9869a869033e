/**
 * hostmesh request/response over Unix sockets, side by side with a raw `net` Unix-socket
 * echo measured in the same run, between two separate Node processes.
 *
 *   npm run bench                 full run (3 interleaved rounds)
 *   npm run bench -- --quick      smoke run
 *   npm run bench -- --pin        server on CPU 1, client on CPU 0 (needs taskset)
 *   npm run bench -- --json out.json
 *   npm run bench -- --sizes 64,4096   only these payload sizes
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { formatMicros, formatRate, median, type LatencySummary } from './stats';
import { Mesh } from '@hostmesh/framework';
import { hostmeshEvents, rawEvents } from './events';
import { nestTarget } from './peers/nest-target';
import { hostmeshTarget, rawSocketTarget, type BenchTarget } from './targets';
import { pipelined, sequential } from './workloads';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const pin = args.includes('--pin');
const jsonPath = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const rounds = quick ? 1 : 3;
const SIZES = args.includes('--sizes') ? args[args.indexOf('--sizes') + 1]!.split(',').map(Number) : [64, 4096, 1024 * 1024];
const ITERATIONS: Record<number, number> = quick ? { 64: 2000, 4096: 2000, [1 << 20]: 40 } : { 64: 20_000, 4096: 20_000, [1 << 20]: 300 };
const PIPELINED: Record<number, number> = quick ? { 64: 20_000, 4096: 10_000, [1 << 20]: 200 } : { 64: 300_000, 4096: 100_000, [1 << 20]: 1000 };
const IN_FLIGHT = 64;

const ext = extname(__filename);
const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((child) => child.kill('SIGKILL')));

function hasTaskset(): boolean {
  return spawnSync('taskset', ['-p', String(process.pid)]).status === 0;
}

/** With --pin, the bench re-runs itself on CPU 0 and its servers run on CPU 1. */
function pinnedCommand(cpu: number, argv: string[]): [string, string[]] {
  return pin ? ['taskset', ['-c', String(cpu), ...argv]] : [argv[0]!, argv.slice(1)];
}

function startChild(file: string, extra: string[], env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const [command, argv] = pinnedCommand(1, [process.execPath, ...process.execArgv, join(__dirname, file + ext), ...extra]);
  const child = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code} before it was ready`)));
  });
}

interface Side {
  name: string;
  value: number;
  spread: [number, number];
  p99?: number;
}

interface Row {
  workload: string;
  size: number;
  /** Raw UDS first, then each hostmesh mechanism. */
  sides: Side[];
  unit: 'µs p50' | 'msg/s';
}

/** hostmesh mechanisms measured, each through a service bound to it. */
const MECHANISMS = (args.includes('--mechanisms') ? args[args.indexOf('--mechanisms') + 1]!.split(',') : ['uds', 'tcp', 'shm']) as string[];
/** Mechanisms that carry the one-way event workload (a subscriber bound to each); mqueue always. */
const EVENT_MECHANISMS = ['mqueue', 'uds', 'shm'].filter((m) => m === 'mqueue' || MECHANISMS.includes(m));

/** A loopback port nobody uses right now (for the peers that need a TCP port). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function cpuSteal(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return fields[7] ?? 0;
}

async function main(): Promise<void> {
  if (pin && !process.env.HOSTMESH_BENCH_PINNED) {
    if (!hasTaskset()) throw new Error('--pin needs taskset (util-linux)');
    const rerun = spawnSync('taskset', ['-c', '0', process.execPath, ...process.execArgv, __filename, ...args], {
      stdio: 'inherit',
      env: { ...process.env, HOSTMESH_BENCH_PINNED: '1' },
    });
    process.exit(rerun.status ?? 1);
  }
  const runtime = mkdtempSync(join(tmpdir(), 'hm-bench-'));
  const namespace = 'bench';
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const stealBefore = cpuSteal();
  const began = Date.now();
  console.log(`hostmesh bench: ${quick ? 'quick' : 'full'} run, ${rounds} round(s), ${pin ? 'client on CPU 0, servers on CPU 1' : 'unpinned'}; load average ${load}`);
  try {
    const rawPath = join(runtime, 'raw.sock');
    await startChild('raw-echo.server', [rawPath], {});
    for (const mechanism of new Set([...MECHANISMS, ...EVENT_MECHANISMS])) {
      await startChild('echo.service', [], {
        HOSTMESH_RUNTIME_DIR: runtime,
        HOSTMESH_NAMESPACE: `${namespace}-${mechanism}`,
        HOSTMESH_BINDINGS: JSON.stringify({ '*': mechanism }),
        HOSTMESH_LOG_LEVEL: 'info',
      });
    }
    const nestPort = await freePort();
    await startChild('peers/nest-echo.server', [String(nestPort)], {});
    const raw = await rawSocketTarget('raw UDS', rawPath);
    const targets = [
      raw,
      await nestTarget(nestPort),
      ...MECHANISMS.map((mechanism) => hostmeshTarget(`hostmesh ${mechanism}`, runtime, `${namespace}-${mechanism}`)),
    ];
    await warmUp(targets);
    const rows = await measure(targets);
    for (const target of targets) await target.close();
    const sinkPath = join(runtime, 'sink.sock');
    await startChild('raw-sink.server', [sinkPath], {});
    const eventCount = quick ? 50_000 : 300_000;
    const events: Array<[string, { rate: number; lost: number }[]]> = [
      ['raw UDS', []],
      ...EVENT_MECHANISMS.map((mechanism): [string, { rate: number; lost: number }[]] => [`hostmesh ${mechanism}`, []]),
    ];
    for (let round = 0; round < rounds; round++) {
      events[0]![1].push(await rawEvents(sinkPath, eventCount));
      for (let i = 0; i < EVENT_MECHANISMS.length; i++) {
        events[i + 1]![1].push(await hostmeshEvents(runtime, `${namespace}-${EVENT_MECHANISMS[i]}`, eventCount));
      }
    }
    const stealSeconds = (cpuSteal() - stealBefore) / 100;
    const elapsed = (Date.now() - began) / 1000;
    printTable(rows);
    for (const [name, reason] of failed) console.log(`\n${name} failed: ${reason}; its later rows are missing.`);
    console.log(`\n| one-way events (${eventCount} × ~64 B, then a barrier) | events/s | vs raw UDS | lost |`);
    console.log('| --- | --- | --- | --- |');
    const rawRate = median(events[0]![1].map((r) => r.rate));
    for (const [name, results] of events) {
      const rate = median(results.map((r) => r.rate));
      console.log(`| ${name} | ${formatRate(rate)} | ${(rate / rawRate).toFixed(2)}× | ${results.reduce((sum, r) => sum + r.lost, 0)} |`);
    }
    const busy = stealSeconds > elapsed * 0.05 ? ` The machine was busy: ${stealSeconds.toFixed(1)} s of CPU stolen by the hypervisor.` : '';
    console.log(`\n(×) = how many times better than raw UDS: raw latency / hostmesh latency, hostmesh rate / raw rate.${busy}`);
    if (jsonPath) {
      writeFileSync(jsonPath, JSON.stringify({ date: new Date().toISOString(), quick, pin, rounds, load, stealSeconds, rows, events }, null, 2));
      console.log(`wrote ${jsonPath}`);
    }
  } finally {
    for (const child of children) child.kill('SIGTERM');
    // Durable event queues outlive their subscribers by design: these were the bench's.
    for (const mechanism of EVENT_MECHANISMS) {
      const mesh = Mesh.connect({ runtimeDir: runtime, namespace: `${namespace}-${mechanism}`, logLevel: 'silent' });
      await mesh.registry.purgeSubscriptions();
      await mesh.close(0);
    }
    rmSync(runtime, { recursive: true, force: true });
  }
}

/**
 * Lets the JIT reach its optimising tier on every path before anything is measured: the
 * first few thousand calls of a Node program run unoptimised code and would measure that.
 */
async function warmUp(targets: BenchTarget[]): Promise<void> {
  const deadline = Date.now() + (quick ? 1500 : 4000);
  const small = Buffer.alloc(64, 1);
  for (let i = 0; Date.now() < deadline; i++) {
    for (const target of targets) {
      await sequential([target], small, 500);
      await pipelined(target, small, IN_FLIGHT, 2000);
    }
  }
}

/** Interleaves all targets within every round so drift in machine load hits each alike. */
const failed = new Map<string, string>();

async function measure(targets: BenchTarget[]): Promise<Row[]> {
  const latency = new Map<string, LatencySummary[]>();
  const rate = new Map<string, number[]>();
  const record = <T>(map: Map<string, T[]>, key: string, value: T) => map.set(key, [...(map.get(key) ?? []), value]);
  for (let round = 0; round < rounds; round++) {
    for (const size of SIZES) {
      const payload = Buffer.alloc(size, 7);
      const order = (round % 2 ? [...targets].reverse() : targets).filter((target) => !failed.has(target.name));
      const summaries = await sequential(order, payload, ITERATIONS[size]!);
      order.forEach((target, i) => record(latency, `${target.name}:${size}`, summaries[i]!));
      for (const target of order) {
        // A peer that breaks under a workload (NestJS drops 64 × 1 MiB in flight) is reported, not fatal.
        const measured = await pipelined(target, payload, IN_FLIGHT, PIPELINED[size]!).catch((error: Error) => {
          failed.set(target.name, `${error.message} at ${size} B × ${IN_FLIGHT} in flight`);
          return Number.NaN;
        });
        record(rate, `${target.name}:${size}`, measured);
      }
    }
  }
  const spread = (values: number[]): [number, number] => [Math.min(...values), Math.max(...values)];
  const rows: Row[] = [];
  for (const size of SIZES) {
    rows.push({
      workload: 'sequential round trip',
      size,
      unit: 'µs p50',
      sides: targets.map((target) => {
        const summaries = latency.get(`${target.name}:${size}`) ?? [];
        const p50s = summaries.map((s) => s.p50);
        return { name: target.name, value: median(p50s), spread: spread(p50s), p99: median(summaries.map((s) => s.p99)) };
      }),
    });
    rows.push({
      workload: `${IN_FLIGHT} in flight`,
      size,
      unit: 'msg/s',
      sides: targets.map((target) => {
        const values = (rate.get(`${target.name}:${size}`) ?? []).filter((value) => !Number.isNaN(value));
        return { name: target.name, value: median(values), spread: spread(values) };
      }),
    });
  }
  return rows;
}

function printTable(rows: Row[]): void {
  const size = (bytes: number) => (bytes >= 1 << 20 ? `${bytes >> 20} MiB` : bytes >= 1024 ? `${bytes >> 10} KiB` : `${bytes} B`);
  const names = rows[0]!.sides.map((side) => side.name);
  console.log(`\n| workload | payload | ${names.join(' | ')} |`);
  console.log(`| --- | --- | ${names.map(() => '---').join(' | ')} |`);
  for (const row of rows) {
    const latencyRow = row.unit === 'µs p50';
    const baseline = row.sides[0]!.value;
    const cells = row.sides.map((side, i) => {
      if (!Number.isFinite(side.value)) return 'failed';
      const shown = latencyRow ? formatMicros(side.value) : formatRate(side.value);
      if (i === 0) return shown;
      const ratio = latencyRow ? baseline / side.value : side.value / baseline;
      return `${shown} (${ratio.toFixed(2)}×)`;
    });
    console.log(`| ${row.workload}${latencyRow ? ' p50' : ''} | ${size(row.size)} | ${cells.join(' | ')} |`);
  }
}

main().catch((error: Error) => {
  console.error(`bench failed: ${error.message}`);
  process.exit(1);
});
