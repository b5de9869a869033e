/**
 * Latency in power-of-two buckets of nanoseconds: bucket i counts durations in
 * [2^i, 2^(i+1)) ns. Recording is one Math.clz32 and an increment: cheap enough for every
 * call; quantiles are read from the buckets (upper bound, within a factor of 2).
 */
export class LatencyHistogram {
  private readonly buckets = new Float64Array(48);
  count = 0;
  maxNs = 0;

  record(ns: number): void {
    const value = ns < 1 ? 1 : ns;
    const bucket = value < 4294967296 ? 31 - Math.clz32(value) : Math.min(47, Math.floor(Math.log2(value)));
    this.buckets[bucket]!++;
    this.count++;
    if (ns > this.maxNs) this.maxNs = ns;
  }

  /** The non-empty buckets as [upper bound in µs, count], fastest first: the distribution to draw. */
  bucketsMicros(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < this.buckets.length; i++) if (this.buckets[i]! > 0) out.push([2 ** (i + 1) / 1000, this.buckets[i]!]);
    return out;
  }

  /** The upper bound, in µs, below which a fraction `q` of the recorded durations fell. */
  quantileMicros(q: number): number {
    if (this.count === 0) return 0;
    let seen = 0;
    const target = q * this.count;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= target) return Math.min(2 ** (i + 1), this.maxNs) / 1000;
    }
    return this.maxNs / 1000;
  }
}

/** What a service counts per endpoint or event: calls, failures, latency. */
export class RouteMetrics {
  calls = 0;
  errors = 0;
  readonly latency = new LatencyHistogram();

  /** `startedMs` from performance.now() when the call began. */
  done(startedMs: number, failed: boolean): void {
    this.calls++;
    if (failed) this.errors++;
    this.latency.record((performance.now() - startedMs) * 1e6);
  }

  summary(): { calls: number; errors: number; p50Us: number; p99Us: number; maxUs: number; histogram: Array<[number, number]> } {
    return {
      calls: this.calls,
      errors: this.errors,
      p50Us: this.latency.quantileMicros(0.5),
      p99Us: this.latency.quantileMicros(0.99),
      maxUs: this.latency.maxNs / 1000,
      histogram: this.latency.bucketsMicros(),
    };
  }
}
