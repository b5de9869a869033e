import { LatencyHistogram, RouteMetrics } from './metrics';

describe('LatencyHistogram', () => {
  it('reads quantiles within a factor of two of the recorded durations', () => {
    const histogram = new LatencyHistogram();
    for (let i = 0; i < 990; i++) histogram.record(3_000); // 3 µs
    for (let i = 0; i < 10; i++) histogram.record(900_000); // 900 µs
    expect(histogram.count).toBe(1000);
    expect(histogram.quantileMicros(0.5)).toBeGreaterThanOrEqual(3);
    expect(histogram.quantileMicros(0.5)).toBeLessThanOrEqual(6);
    expect(histogram.quantileMicros(0.999)).toBeGreaterThanOrEqual(900);
    expect(histogram.quantileMicros(0.999)).toBeLessThanOrEqual(900);
  });

  it('is empty before anything is recorded, and copes with durations beyond 4 s', () => {
    const histogram = new LatencyHistogram();
    expect(histogram.quantileMicros(0.99)).toBe(0);
    histogram.record(10e9);
    expect(histogram.quantileMicros(0.5)).toBe(10e6);
  });
});

describe('RouteMetrics', () => {
  it('counts calls and failures', () => {
    const metrics = new RouteMetrics();
    metrics.done(performance.now(), false);
    metrics.done(performance.now(), true);
    expect(metrics.summary()).toMatchObject({ calls: 2, errors: 1 });
  });
});
