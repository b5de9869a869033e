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
  for (let i = 0; i < 200; i++) await target.roundTrip(payload);
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
  const samples: number[] = [];
  const begin = performance.now();
  const end = begin + durationMs;
  const lane = async () => {
    while (performance.now() < end && samples.length < 5_000_000) {
      const start = process.hrtime.bigint();
      await target.roundTrip(payload);
      samples.push(Number(process.hrtime.bigint() - start));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const seconds = (performance.now() - begin) / 1000;
  process.stdout.write(`${JSON.stringify({ calls: samples.length, seconds, p50: summarize(samples).p50 })}\n`);
  await target.close();
  process.exit(0);
}

main().catch((error: Error) => {
  process.stderr.write(`sweep client failed: ${error.message}\n`);
  process.exit(1);
});
