/**
 * One soak client: keeps IN_FLIGHT calls of random sizes going for the given time, checks
 * every reply against its request, publishes an event every few calls, and reconnects
 * (a new Mesh) every few seconds so connection set-up and tear-down are soaked too.
 * Prints one JSON line with what it did.
 */
import { randomFillSync } from 'node:crypto';
import { Mesh, type Client } from '@hostmesh/framework';
import { checksum, Soak, SoakTick, type SoakApi } from './soak.contract';

const [seconds, publisher] = [Number(process.argv[2]), process.argv[3]!];
const IN_FLIGHT = 8;
const RECONNECT_MS = 3000;
const EVENT_EVERY = 10;

interface Report {
  publisher: string;
  calls: number;
  bytes: number;
  mismatches: number;
  errors: Record<string, number>;
  eventsSent: number;
  reconnects: number;
}
const report: Report = { publisher, calls: 0, bytes: 0, mismatches: 0, errors: {}, eventsSent: 0, reconnects: 0 };

/** Mostly small, some medium, a few large: sizes are where framing bugs hide. */
function randomSize(): number {
  const roll = Math.random();
  if (roll < 0.7) return Math.floor(Math.random() * 1024);
  if (roll < 0.97) return 1024 + Math.floor(Math.random() * 63 * 1024);
  return 64 * 1024 + Math.floor(Math.random() * (960 * 1024));
}

let tag = 0;
async function worker(mesh: Mesh, client: Client<SoakApi>, until: number): Promise<void> {
  while (performance.now() < until) {
    const payload = randomFillSync(Buffer.allocUnsafe(randomSize()));
    const mine = ++tag;
    try {
      const [echoedTag, sum, echoed] = await client.echo(mine, payload);
      report.calls++;
      report.bytes += payload.length;
      if (echoedTag !== mine || sum !== checksum(payload) || Buffer.compare(Buffer.from(echoed), payload) !== 0) report.mismatches++;
      if (mine % EVENT_EVERY === 0) {
        await mesh.events.publish(new SoakTick(publisher, mine, payload.subarray(0, 32)));
        report.eventsSent++;
      }
    } catch (error) {
      const name = (error as Error).name ?? 'Error';
      report.errors[name] = (report.errors[name] ?? 0) + 1;
    }
  }
}

async function main(): Promise<void> {
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const mesh = Mesh.connect({ logLevel: 'warn', defaultTimeoutMs: 30_000 });
    const client = mesh.client(Soak);
    const until = Math.min(end, performance.now() + RECONNECT_MS);
    await Promise.all(Array.from({ length: IN_FLIGHT }, () => worker(mesh, client, until)));
    await mesh.close(5000);
    report.reconnects++;
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`soak client ${publisher} failed: ${String(error)}\n`);
  process.exit(1);
});
