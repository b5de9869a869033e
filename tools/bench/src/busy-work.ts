import { performance } from 'node:perf_hooks';

/**
 * The replica rows' CPU-bound work: `rounds` steps of an FNV-style hash, a fixed amount of
 * computation (not a wall-clock spin, which would finish on time even while its process is
 * descheduled, and so scale past the cores). Its result is checked by the caller.
 */
export function busyWork(rounds: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < rounds; i++) hash = Math.imul(hash ^ (i & 0xff), 0x01000193);
  return hash >>> 0;
}

/** What calibration found: the rounds that take `micros` µs here (median of the check), and their hash. */
export interface BusyCalibration {
  rounds: number;
  micros: number;
  hash: number;
}

/**
 * Once, in the bench before any replica starts: warms `busyWork` up, takes the fastest of
 * 30 timings of 100 k rounds (the least disturbed) as its speed, and checks the rounds for
 * `targetMicros` with 200 timed runs (median).
 */
export function calibrateBusyWork(targetMicros: number): BusyCalibration {
  const probe = 100_000;
  for (let i = 0; i < 50; i++) busyWork(probe);
  let fastest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 30; i++) {
    const begin = performance.now();
    busyWork(probe);
    fastest = Math.min(fastest, performance.now() - begin);
  }
  const rounds = Math.max(1, Math.round((targetMicros / 1000 / fastest) * probe));
  const timings: number[] = [];
  for (let i = 0; i < 200; i++) {
    const begin = performance.now();
    busyWork(rounds);
    timings.push((performance.now() - begin) * 1000);
  }
  timings.sort((a, b) => a - b);
  return { rounds, micros: timings[timings.length >> 1]!, hash: busyWork(rounds) };
}
