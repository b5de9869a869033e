import { FdWatcher } from './fd-watcher';
import { native } from './native';
import { PosixError } from './posix-error';
import { isProcessAlive, processStartTime } from './process-info';
import { requireFunction, requireInteger } from './validate';

export interface ProcessWatch {
  /** 'pidfd' on Linux ≥ 5.3, 'poll' (a /proc check every pollMs) elsewhere. */
  readonly mechanism: 'pidfd' | 'poll';
  stop(): void;
}

/**
 * Calls `onExit` once when process `pid` exits: from a pidfd watched by libuv where the
 * kernel has them, otherwise by checking /proc every `pollMs`. With `startTime`, a pid
 * reused by a later process counts as the watched one having exited.
 */
export function watchProcessExit(pid: number, onExit: () => void, options: { startTime?: number; pollMs?: number } = {}): ProcessWatch {
  requireInteger(pid, 'pid', 1, 2 ** 22);
  requireFunction(onExit, 'onExit');
  const startTime = options.startTime ?? processStartTime(pid);
  let fired = false;
  const fire = () => {
    if (fired) return;
    fired = true;
    watch.stop();
    onExit();
  };
  let watch: ProcessWatch;
  try {
    const fd = native.pidfdOpen(pid);
    const watcher = new FdWatcher(fd, fire).start().unref();
    watch = {
      mechanism: 'pidfd',
      stop: () => {
        watcher.close();
        try {
          native.closeFd(fd);
        } catch {
          // closed already
        }
      },
    };
    // The pid may have been reused between reading its start time and opening the pidfd.
    if (startTime !== undefined && !isProcessAlive(pid, startTime)) queueMicrotask(fire);
  } catch (error) {
    if (PosixError.is(error, 'ESRCH')) {
      watch = { mechanism: 'pidfd', stop: () => undefined };
      queueMicrotask(fire);
      return watch;
    }
    if (!PosixError.is(error, 'ENOSYS') && !PosixError.is(error, 'EPERM')) throw error;
    const timer = setInterval(() => {
      if (startTime === undefined ? processStartTime(pid) === undefined : !isProcessAlive(pid, startTime)) fire();
    }, options.pollMs ?? 100);
    timer.unref();
    watch = { mechanism: 'poll', stop: () => clearInterval(timer) };
  }
  return watch;
}
