import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times: 100 on every Linux this runs on. */
const TICKS_PER_SECOND = 100;

/** User + system CPU a process (or, given `tid`, one of its threads) has used so far, in ms, from /proc. */
export function processCpuMs(pid: number, tid?: number): number {
  const fields = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8')
    .split(') ')[1]!
    .split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** This process's CPU in ms, finer than /proc's 10 ms ticks. */
export function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** CPU stolen by the hypervisor so far, in seconds (/proc/stat): a busy-machine signal. */
export function stolenSeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (fields[7] ?? 0) / TICKS_PER_SECOND;
}
