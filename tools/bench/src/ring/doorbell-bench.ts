/**
 * Wake-up cost of the two doorbells a ring can use, between two processes that both sleep
 * in epoll between messages: a named FIFO (opened by name) and an eventfd (inherited).
 *
 *   node dist/ring/doorbell-bench.js
 */
import { spawn } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { extname, join } from 'node:path';
import { FdWatcher, mkfifo, native } from '@hostmesh/native';
import { formatMicros, median, summarize } from '../stats';

async function measure(kind: 'fifo' | 'eventfd', rounds: number): Promise<number[]> {
  const paths = [`/dev/shm/hm-bench-bell-a-${process.pid}`, `/dev/shm/hm-bench-bell-b-${process.pid}`];
  let mine: number;
  let theirs: number;
  let stdio: Array<'ignore' | 'pipe' | 'inherit' | number> = ['ignore', 'pipe', 'inherit'];
  if (kind === 'fifo') {
    for (const path of paths) mkfifo(path);
    mine = native.doorbellOpen(paths[0]!);
    theirs = native.doorbellOpen(paths[1]!);
  } else {
    mine = native.eventfd();
    theirs = native.eventfd();
    stdio = [...stdio, theirs, mine];
  }
  const child = spawn(
    'taskset',
    ['-c', '1', process.execPath, ...process.execArgv, join(__dirname, `doorbell.child${extname(__filename)}`), kind, paths[1]!, paths[0]!],
    { stdio },
  );
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  const samples: number[] = [];
  let started = 0n;
  let resolveRound: () => void = () => undefined;
  const watcher = new FdWatcher(mine, () => {
    native.doorbellDrain(mine);
    samples.push(Number(process.hrtime.bigint() - started));
    resolveRound();
  }).start();
  for (let i = 0; i < rounds; i++) {
    await new Promise<void>((resolve) => {
      resolveRound = resolve;
      started = process.hrtime.bigint();
      native.doorbellRing(theirs);
    });
  }
  watcher.close();
  child.kill('SIGTERM');
  native.closeFd(mine);
  native.closeFd(theirs);
  if (kind === 'fifo') for (const path of paths) unlinkSync(path);
  return samples.slice(rounds / 10);
}

async function main(): Promise<void> {
  require('node:child_process').spawnSync('taskset', ['-cp', '0', String(process.pid)]);
  const results: Record<string, number[]> = { fifo: [], eventfd: [] };
  for (let round = 0; round < 3; round++) {
    for (const kind of ['fifo', 'eventfd'] as const) results[kind]!.push(summarize(await measure(kind, 5000)).p50);
  }
  console.log('| doorbell | wake-up round trip p50 (both ends parked in epoll) |');
  console.log('| --- | --- |');
  for (const kind of ['fifo', 'eventfd'])
    console.log(`| ${kind} | ${formatMicros(median(results[kind]!))} (rounds: ${results[kind]!.map(formatMicros).join(', ')}) |`);
  process.exit(0);
}

void main();
