/**
 * Round trips over NATS next to local Unix sockets, in one run: the same echo service twice
 * (one bound to uds, one to nats through a nats-server on 127.0.0.1), the same typed client,
 * sequential calls of 64 B and 4 KiB taking turns in blocks.
 *
 *   npx tsc -b && node tools/bench/dist/remote/nats-bench.js [--iterations 10000]
 *
 * Needs Debian's `nats-server` (apt-get install -y nats-server).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild, stopChildren } from '../children';
import { findNatsServer, startNatsServer } from './nats-server';
import { formatMicros } from '../stats';
import { hostmeshTarget, MAX_PAYLOAD_BYTES, type BenchTarget } from '../targets';
import { sequential } from '../workloads';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const ITERATIONS = option('iterations', 10_000);
const SIZES: Array<[string, number]> = [
  ['64 B', 64],
  ['4 KiB', 4096],
];

async function main(): Promise<void> {
  const runtime = mkdtempSync(join(tmpdir(), 'hm-nb-'));
  const namespace = `natsbench-${process.pid}`;
  const nats = await startNatsServer();
  const targets: BenchTarget[] = [];
  try {
    const service = (mechanism: string, extra: NodeJS.ProcessEnv) =>
      startChild('echo.service', [], {
        HOSTMESH_RUNTIME_DIR: runtime,
        HOSTMESH_NAMESPACE: `${namespace}-${mechanism}`,
        HOSTMESH_BINDINGS: JSON.stringify({ '*': mechanism }),
        HOSTMESH_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES),
        HOSTMESH_LOG_LEVEL: 'info',
        ...extra,
      });
    // The uds service has no NATS configuration at all: it never talks to the NATS server.
    delete process.env.HOSTMESH_NATS_SERVERS;
    await service('uds', {});
    await service('nats', { HOSTMESH_NATS_SERVERS: nats.url });
    targets.push(hostmeshTarget('hostmesh uds (local)', runtime, `${namespace}-uds`));
    process.env.HOSTMESH_NATS_SERVERS = nats.url;
    targets.push(hostmeshTarget('hostmesh nats (127.0.0.1)', runtime, `${namespace}-nats`));

    const version = execFileSync(findNatsServer(), ['--version']).toString().trim();
    console.log(`sequential round trips, ${ITERATIONS} per size and target (turns in blocks of 1000), node ${process.version}, ${version}`);
    console.log('');
    console.log(`| payload | uds p50 | uds p99 | nats p50 | nats p99 | nats/uds p50 | nats/uds p99 |`);
    console.log(`| --- | ---: | ---: | ---: | ---: | ---: | ---: |`);
    for (const [label, size] of SIZES) {
      const payload = Buffer.alloc(size, 0x5a);
      const [uds, overNats] = await sequential(targets, payload, ITERATIONS, 1000);
      console.log(
        `| ${label} | ${formatMicros(uds!.p50)} | ${formatMicros(uds!.p99)} | ${formatMicros(overNats!.p50)} | ${formatMicros(overNats!.p99)} | ` +
          `${(overNats!.p50 / uds!.p50).toFixed(1)}× | ${(overNats!.p99 / uds!.p99).toFixed(1)}× |`,
      );
    }
  } finally {
    for (const target of targets) await target.close();
    await stopChildren();
    await nats.stop();
    rmSync(runtime, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
