/**
 * A concurrency limit for one endpoint, across all its callers: at most `limit` handlers
 * run at once, at most `queue` calls wait for a slot (in arrival order), and a call beyond
 * both is refused (QueueFullError, retryable: it never reached a handler). A small class of
 * its own rather than cockatiel's bulkhead, which wraps each call in a promise
 * (`execute()`) where this path starts handlers synchronously.
 */
export class Bulkhead {
  running = 0;
  /** Calls refused because the queue was full too. */
  rejected = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly limit: number,
    readonly queue: number,
  ) {}

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `start` now, or queues it until a slot frees; false (nothing run) when the queue is full. */
  enter(start: () => void): boolean {
    if (this.running < this.limit) {
      this.running++;
      start();
      return true;
    }
    if (this.waiting.length >= this.queue) {
      this.rejected++;
      return false;
    }
    this.waiting.push(start);
    return true;
  }

  /** A call that entered has finished (or a queued one will not run): its slot goes to the next waiting call. */
  leave(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.running--;
    else next();
  }
}
