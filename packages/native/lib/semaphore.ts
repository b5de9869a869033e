import { native, type NativeSemaphore } from './native';
import { requirePosixName } from './names';
import { requireInteger } from './validate';

/**
 * A named POSIX semaphore (0600, /dev/shm/sem.<name>) shared by any process of the user:
 * `post` and `tryWait` run inline; `wait` with a timeout runs on libuv's thread pool, so
 * the event loop never blocks on it.
 */
export class NamedSemaphore {
  private constructor(
    readonly name: string,
    private readonly handle: NativeSemaphore,
  ) {}

  /** Opens `name`, creating it with `initialValue` if it does not exist (or failing if `exclusive`). */
  static create(name: string, initialValue: number, exclusive = false): NamedSemaphore {
    requirePosixName(name);
    requireInteger(initialValue, 'initialValue', 0, 32767);
    return new NamedSemaphore(name, new native.NamedSemaphore(name, true, exclusive, initialValue));
  }

  static open(name: string): NamedSemaphore {
    requirePosixName(name);
    return new NamedSemaphore(name, new native.NamedSemaphore(name, false, false, 0));
  }

  static unlink(name: string): void {
    native.NamedSemaphore.unlink(requirePosixName(name));
  }

  post(): void {
    this.handle.post();
  }

  /** Decrements without waiting; false if the value was 0. */
  tryWait(): boolean {
    return this.handle.tryWait();
  }

  /** Decrements, waiting up to `timeoutMs`; resolves false on timeout. */
  wait(timeoutMs: number): Promise<boolean> {
    requireInteger(timeoutMs, 'timeoutMs', 0, 2 ** 31 - 1);
    if (this.handle.tryWait()) return Promise.resolve(true);
    return timeoutMs === 0 ? Promise.resolve(false) : this.handle.timedWait(timeoutMs);
  }

  get value(): number {
    return this.handle.value();
  }

  /** Closes this handle; waits still in flight finish first. */
  close(): void {
    this.handle.close();
  }
}
