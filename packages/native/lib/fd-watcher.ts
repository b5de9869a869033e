import { native, type NativeFdWatcher } from './native';
import { requireFunction, requireInteger } from './validate';

export const READABLE = 1;
export const WRITABLE = 2;

/**
 * A file descriptor watched by libuv (uv_poll): `onReady` runs on the event loop when
 * the fd becomes readable and/or writable. One per doorbell, queue or pidfd; no threads.
 */
export class FdWatcher {
  private readonly handle: NativeFdWatcher;
  private closed = false;

  constructor(
    readonly fd: number,
    onReady: (events: number, status: number) => void,
  ) {
    requireInteger(fd, 'fd', 0, 2 ** 31 - 1);
    requireFunction(onReady, 'onReady');
    this.handle = new native.FdWatcher(fd, (status, events) => onReady(events, status));
  }

  start(events: number = READABLE): this {
    if (this.closed) throw new Error(`the watcher of fd ${this.fd} is closed`);
    this.handle.start(requireInteger(events, 'events', 1, 3));
    return this;
  }

  stop(): void {
    if (!this.closed) this.handle.stop();
  }

  /** Like timer.unref(): an unreferenced watcher does not keep the process alive. */
  unref(): this {
    if (!this.closed) this.handle.setRef(false);
    return this;
  }

  ref(): this {
    if (!this.closed) this.handle.setRef(true);
    return this;
  }

  /** Stops watching; the fd itself still belongs to the caller. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
  }
}
