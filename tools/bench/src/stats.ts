/** Summary statistics of latency samples, in microseconds. */
export interface LatencySummary {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  mean: number;
}

export function summarize(samplesNs: Float64Array | number[]): LatencySummary {
  const sorted = Float64Array.from(samplesNs).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! / 1000;
  let sum = 0;
  for (const value of sorted) sum += value;
  return { samples: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), mean: sum / sorted.length / 1000 };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function formatMicros(value: number): string {
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} ms`;
  if (value >= 100) return `${value.toFixed(0)} µs`;
  return `${value.toFixed(1)} µs`;
}

export function formatRate(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M/s`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k/s`;
  return `${value.toFixed(0)} /s`;
}
