/**
 * The native ring ping-pong between two Node processes, side by side with a raw `net`
 * Unix-socket ping-pong measured in the same run.
 *
 *   npm run bench:ring [-- --quick]
 *
 * Rows: 64 B round trip (client and echo on separate CPUs, then both on CPU 0), 64 in
 * flight, 1 MiB round trip, and the CPU an idle channel pair uses over 10 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { formatMicros, formatRate, median } from '../stats';
import { rawSocketTarget, type BenchTarget } from '../targets';
import { pipelined, sequential, sparse } from '../workloads';
import { ringTarget } from './ring-target';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const rounds = quick ? 1 : 3;
const ext = extname(__filename);
const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((child) => child.kill('SIGKILL')));

function start(file: string, argv: string[], cpu: number | undefined): Promise<ChildProcess> {
  const command = [process.execPath, ...process.execArgv, join(__dirname, '..', file + ext), ...argv];
  const child = cpu === undefined ? spawn(command[0]!, command.slice(1)) : spawn('taskset', ['-c', String(cpu), ...command]);
  children.push(child);
  child.stderr!.pipe(process.stderr);
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => line.includes('ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}) before it was ready`)));
  });
}

function pin(cpu: number): void {
  const result = require('node:child_process').spawnSync('taskset', ['-cp', String(cpu), String(process.pid)]);
  if (result.status !== 0) throw new Error('taskset is needed to pin the client');
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

interface Pair {
  ring: BenchTarget & { channel: ReturnType<typeof ringTarget>['channel'] };
  uds: BenchTarget;
  close(): Promise<void>;
}

let sequence = 0;
async function pair(capacity: number, serverCpu: number | undefined): Promise<Pair> {
  const name = `/hm.${process.getuid!()}.bench.ring.${process.pid}.${sequence++}`;
  const socket = `/tmp/hm-bench-ring-${process.pid}-${sequence}.sock`;
  const ring = ringTarget(name, capacity);
  const echo = await start('ring/ring-echo.child', [name], serverCpu);
  const udsServer = await start('raw-echo.server', [socket], serverCpu);
  const uds = await rawSocketTarget('raw UDS', socket);
  return {
    ring,
    uds,
    close: async () => {
      await ring.close();
      await uds.close();
      for (const child of [echo, udsServer]) child.kill('SIGTERM');
    },
  };
}

async function latency(p: Pair, size: number, iterations: number): Promise<{ ring: number[]; uds: number[]; ringP99: number[]; udsP99: number[] }> {
  const payload = Buffer.alloc(size, 3);
  const out = { ring: [] as number[], uds: [] as number[], ringP99: [] as number[], udsP99: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const [ring, uds] = await sequential([p.ring, p.uds], payload, iterations, 1000);
    out.ring.push(ring!.p50);
    out.uds.push(uds!.p50);
    out.ringP99.push(ring!.p99);
    out.udsP99.push(uds!.p99);
  }
  return out;
}

function row(label: string, ring: number, uds: number, unit: 'latency' | 'rate', extra = ''): string {
  const show = unit === 'latency' ? formatMicros : formatRate;
  const ratio = unit === 'latency' ? uds / ring : ring / uds;
  return `| ${label} | ${show(ring)} | ${show(uds)} | ${ratio.toFixed(1)}× ${unit === 'latency' ? 'faster' : 'more'} | ${extra} |`;
}

async function main(): Promise<void> {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`ring ping-pong: ${quick ? 'quick' : 'full'} run, ${rounds} round(s); load average ${load}\n`);
  const lines = ['| workload | shm ring | raw UDS | ring vs UDS | notes |', '| --- | --- | --- | --- | --- |'];

  // Client on CPU 0, echo servers on CPU 1.
  pin(0);
  // 4 MiB per direction: the smallest ring a 1 MiB message fits in, so it stays in cache.
  const separate = await pair(4 << 20, 1);
  const warm = Buffer.alloc(64, 1);
  for (const target of [separate.ring, separate.uds]) {
    await sequential([target], warm, quick ? 5000 : 20000);
    await pipelined(target, warm, 64, quick ? 20000 : 100000);
  }
  const small = await latency(separate, 64, quick ? 20_000 : 100_000);
  lines.push(
    row(
      '64 B round trip p50, separate CPUs',
      median(small.ring),
      median(small.uds),
      'latency',
      `p99 ${formatMicros(median(small.ringP99))} vs ${formatMicros(median(small.udsP99))}`,
    ),
  );
  const rates = { ring: [] as number[], uds: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    rates.ring.push(await pipelined(separate.ring, warm, 64, quick ? 500_000 : 3_000_000, true));
    rates.uds.push(await pipelined(separate.uds, warm, 64, quick ? 50_000 : 300_000, true));
  }
  lines.push(row('64 B, 64 in flight', median(rates.ring), median(rates.uds), 'rate', 'messages per second, callbacks (no promise per message)'));
  const big = await latency(separate, 1 << 20, quick ? 100 : 400);
  lines.push(row('1 MiB round trip p50', median(big.ring), median(big.uds), 'latency', 'one copy in per direction, read in place'));

  // Sparse: one call per millisecond, so both ends have parked before each call.
  const sparseRing = await sparse(separate.ring, warm, quick ? 200 : 1000);
  const sparseUds = await sparse(separate.uds, warm, quick ? 200 : 1000);
  lines.push(
    row(
      '64 B, one call per ms (sparse)',
      sparseRing.p50,
      sparseUds.p50,
      'latency',
      `both ends parked: doorbell wake-ups; p99 ${formatMicros(sparseRing.p99)} vs ${formatMicros(sparseUds.p99)}`,
    ),
  );

  // Idle: one message, then 10 s of nothing; CPU of both ends from /proc.
  const echoPid = children[0]!.pid!;
  await separate.ring.roundTrip(warm);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = [cpuTicks(process.pid), cpuTicks(echoPid)];
  const idleSeconds = quick ? 3 : 10;
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
  const idle = [cpuTicks(process.pid) - before[0]!, cpuTicks(echoPid) - before[1]!].map((ticks) => (ticks * 10) / (idleSeconds * 10));
  lines.push(`| idle ring pair, ${idleSeconds} s | ${idle.map((p) => `${p.toFixed(2)} %`).join(' + ')} CPU | | | client + echo, from /proc/<pid>/stat |`);
  await separate.close();

  // Both processes on CPU 0: the spin must yield or the peer never runs.
  const shared = await pair(1 << 20, 0);
  for (const target of [shared.ring, shared.uds]) await sequential([target], warm, 3000);
  const oneCpu = await latency(shared, 64, quick ? 5000 : 20000);
  lines.push(row('64 B round trip p50, both on CPU 0', median(oneCpu.ring), median(oneCpu.uds), 'latency', 'spin yields every 0.5-2 µs'));
  await shared.close();

  console.log(lines.join('\n'));
  process.exit(0);
}

main().catch((error: Error) => {
  console.error(`bench failed: ${error.stack}`);
  process.exit(1);
});
