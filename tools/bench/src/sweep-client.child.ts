import { createInterface } from 'node:readline';
import { summarize } from './stats';
import { hostmeshTarget, rawSocketTarget, type BenchTarget } from './targets';

/**
 * One client process of the client-count sweep. Connects, prints `ready`, waits for `go`
 * on stdin (so all clients start together), keeps `inFlight` 64-byte calls outstanding
 * for `durationMs`, then prints {"calls":…,"seconds":…,"p50":…} and exits.
 *
 *   sweep-client.child raw <socket path> <inFlight> <durationMs>
 *   sweep-client.child hostmesh <runtimeDir> <namespace> <inFlight> <durationMs>
 */
async function main(): Promise<void> {
  const [kind, ...rest] = process.argv.slice(2);
  let target: BenchTarget;
  let numbers: string[];
  if (kind === 'raw') {
    target = await rawSocketTarget('raw', rest[0]!);
    numbers = rest.slice(1);
  } else {
    target = hostmeshTarget('hostmesh', rest[0]!, rest[1]!);
    numbers = rest.slice(2);
  }
  const [inFlight, durationMs] = numbers.map(Number) as [number, number];
  const payload = Buffer.alloc(64, 3);
  // Warm-up as the run itself goes (inFlight lanes), long enough for the JIT to have
  // optimised the call path: 200 calls one at a time left a 500 ms run half in the interpreter.
  const warmEnd = performance.now() + 300;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = 0; i < 100_000 && performance.now() < warmEnd; i++) await target.roundTrip(payload);
    }),
  );
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
  // Every 8th call is timed, with performance.now() into a preallocated array: timing every
  // call with hrtime.bigint() cost the client ~0.3 µs and two BigInts per call, which at
  // hundreds of thousands of calls a second measured the harness more than the target.
  const timings = new Float64Array(1 << 20);
  let timed = 0;
  let calls = 0;
  const begin = performance.now();
  const end = begin + durationMs;
  let over = false;
  const lane = async () => {
    while (!over && calls < 50_000_000) {
      if ((calls++ & 7) !== 0) {
        await target.roundTrip(payload);
        continue;
      }
      const start = performance.now();
      await target.roundTrip(payload);
      const now = performance.now();
      if (timed < timings.length) timings[timed++] = (now - start) * 1e6;
      // The clock is read on every 8th call only: a run ends within a few calls of its end.
      if (now >= end) over = true;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const seconds = (performance.now() - begin) / 1000;
  process.stdout.write(`${JSON.stringify({ calls, seconds, p50: summarize(timings.subarray(0, timed)).p50 })}\n`);
  await target.close();
  process.exit(0);
}

main().catch((error: Error) => {
  process.stderr.write(`sweep client failed: ${error.message}\n`);
  process.exit(1);
});
