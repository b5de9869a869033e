import { availableParallelism } from 'node:os';

export interface SpinOptions {
  /** Longest spin before parking, in ns (default 50 µs). 0 disables spinning. */
  maxWindowNs?: number;
  /** Shortest useful spin, in ns; a window shrunk below it becomes 0 (default 1 µs). */
  minWindowNs?: number;
  /** sched_yield() this often while spinning, so a peer on the same CPU can run (default 2 µs, 0.5 µs on one CPU). */
  yieldEveryNs?: number;
}

/**
 * How long to spin for the next message before parking, adapted to what happened:
 * a spin that caught a message doubles the window (up to the maximum), one that ran out
 * halves it (down to nothing), and a wake-up that came soon after parking (a longer spin
 * would have caught it) opens it again. Traffic that answers within microseconds thus
 * gets spun for; traffic that does not costs no CPU.
 */
export class SpinPolicy {
  readonly maxNs: number;
  readonly minNs: number;
  readonly yieldEveryNs: number;
  windowNs: number;
  hits = 0;
  misses = 0;

  constructor(options: SpinOptions = {}) {
    this.maxNs = options.maxWindowNs ?? 50_000;
    this.minNs = Math.min(options.minWindowNs ?? 1_000, this.maxNs);
    this.yieldEveryNs = options.yieldEveryNs ?? (availableParallelism() > 1 ? 2_000 : 500);
    this.windowNs = this.maxNs;
  }

  hit(): void {
    this.hits++;
    this.windowNs = Math.min(this.maxNs, Math.max(this.windowNs * 2, this.minNs));
  }

  miss(): void {
    this.misses++;
    const half = this.windowNs / 2;
    this.windowNs = half < this.minNs ? 0 : half;
  }

  /**
   * A doorbell woke us `parkedNs` after we parked: spinning that long (with margin) would
   * have caught the message, so the window opens to cover it at once, not by doubling up
   * from nothing (which never catches an answer that takes a few µs).
   */
  woke(parkedNs: number): void {
    if (this.maxNs === 0 || parkedNs >= 4 * this.maxNs) return;
    this.windowNs = Math.min(this.maxNs, Math.max(this.windowNs * 2, parkedNs * 2, this.minNs));
  }
}
