import { readFileSync } from 'node:fs';

/**
 * The start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat),
 * or undefined when there is no such process. Together with the pid it names one
 * process for its whole life: a reused pid has a different start time.
 */
export function processStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return procfsAvailable() ? undefined : signalProbe(pid) ? 0 : undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X') return undefined;
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : undefined;
}

/**
 * The scheduler state of a process (field 3 of /proc/<pid>/stat): `R` running, `S`/`D`
 * sleeping, `T` stopped by a signal (SIGSTOP), `t` stopped by a tracer, `Z` zombie; or
 * undefined when there is no such process (or no /proc).
 */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ', 1)[0];
  } catch {
    return undefined;
  }
}

/** True while the process that had `startTime` is alive (a zombie counts as dead). */
export function isProcessAlive(pid: number, startTime: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const current = processStartTime(pid);
  return current !== undefined && (current === startTime || current === 0);
}

let ownStartTime: number | undefined;
export function ownProcessStartTime(): number {
  ownStartTime ??= processStartTime(process.pid) ?? 0;
  return ownStartTime;
}

let hasProcfs: boolean | undefined;
function procfsAvailable(): boolean {
  if (hasProcfs === undefined) {
    try {
      readFileSync('/proc/self/stat');
      hasProcfs = true;
    } catch {
      hasProcfs = false;
    }
  }
  return hasProcfs;
}

/** Without procfs the best we can do is ask the kernel whether the pid exists. */
function signalProbe(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
