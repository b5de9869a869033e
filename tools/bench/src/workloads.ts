import type { BenchTarget } from './targets';
import { summarize, type LatencySummary } from './stats';

/**
 * One call at a time: the latency of a round trip. Targets take turns in blocks of
 * `block` calls, so a change in machine load during the run hits all of them alike.
 * A tenth of the calls (at least 10 per target) go first as warm-up.
 */
export async function sequential(
  targets: BenchTarget[],
  payload: Buffer,
  iterations: number,
  block = 2000,
  budgetMs = Number.POSITIVE_INFINITY,
): Promise<LatencySummary[]> {
  const warmup = Math.max(10, Math.floor(iterations / 10));
  for (const target of targets) for (let i = 0; i < warmup && i * 10 < iterations; i++) await target.roundTrip(payload);
  const samples = targets.map(() => new Float64Array(iterations));
  // A target slower than the budget allows keeps the samples it took in time (at least one).
  const taken = targets.map(() => 0);
  const spentNs = targets.map(() => 0);
  for (let done = 0; done < iterations; done += block) {
    const end = Math.min(iterations, done + block);
    for (let t = 0; t < targets.length; t++) {
      const index = (t + done / block) % targets.length;
      const target = targets[index]!;
      const into = samples[index]!;
      for (let i = done; i < end && spentNs[index]! < budgetMs * 1e6; i++) {
        const start = process.hrtime.bigint();
        await target.roundTrip(payload);
        into[taken[index]!++] = Number(process.hrtime.bigint() - start);
        spentNs[index]! += into[taken[index]! - 1]!;
      }
    }
  }
  return samples.map((each, i) => summarize(each.subarray(0, taken[i])));
}

/** One call every `gapMs`: each call finds both ends asleep, so this measures wake-ups. */
export async function sparse(target: BenchTarget, payload: Buffer, iterations: number, gapMs = 1): Promise<LatencySummary> {
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    await new Promise((resolve) => setTimeout(resolve, gapMs));
    const start = process.hrtime.bigint();
    await target.roundTrip(payload);
    samples[i] = Number(process.hrtime.bigint() - start);
  }
  return summarize(samples);
}

/** `inFlight` calls outstanding at all times until `total` completed: messages per second. */
export async function pipelined(target: BenchTarget, payload: Buffer, inFlight: number, total: number, useCallbacks = false): Promise<number> {
  await Promise.all(Array.from({ length: inFlight }, () => target.roundTrip(payload)));
  if (useCallbacks && target.pump) {
    const begin = process.hrtime.bigint();
    await target.pump(payload, inFlight, total);
    return total / (Number(process.hrtime.bigint() - begin) / 1e9);
  }
  let started = 0;
  const begin = process.hrtime.bigint();
  const lane = async () => {
    while (started < total) {
      started++;
      await target.roundTrip(payload);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const seconds = Number(process.hrtime.bigint() - begin) / 1e9;
  return total / seconds;
}
