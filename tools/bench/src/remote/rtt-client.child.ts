/**
 * The measuring client of remote/main.ts, run inside a network namespace (`ip netns exec`):
 * sequential round trips to every target it is given, taking turns in blocks, printed as one
 * JSON line on stdout.
 */
import { Mesh, type MeshOptions } from '@hostmesh/framework';
import { Echo, MAX_PAYLOAD_BYTES, type BenchTarget } from '../targets';
import { sequential } from '../workloads';

export interface ClientTargetSpec {
  name: string;
  /** hostmesh namespace of the echo service (each target has its own). */
  namespace: string;
  /** Options of the client Mesh (tls, …). */
  mesh?: MeshOptions;
}

export interface ClientJob {
  runtimeDir: string;
  targets: ClientTargetSpec[];
  sizes: number[];
  iterations: number;
}

export interface ClientRow {
  name: string;
  size: number;
  p50: number;
  p99: number;
  samples: number;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as ClientJob;
  const meshes: Mesh[] = [];
  const targets: BenchTarget[] = job.targets.map((spec) => {
    const mesh = Mesh.connect({
      runtimeDir: job.runtimeDir,
      namespace: spec.namespace,
      logLevel: 'warn',
      defaultTimeoutMs: 30_000,
      maxPayloadBytes: MAX_PAYLOAD_BYTES,
      ...spec.mesh,
    });
    meshes.push(mesh);
    const client = mesh.client(Echo);
    return { name: spec.name, roundTrip: (payload: Buffer) => client.echo(payload), close: () => mesh.close() };
  });
  const rows: ClientRow[] = [];
  for (const size of job.sizes) {
    const summaries = await sequential(targets, Buffer.alloc(size, 0x5a), job.iterations, 500);
    summaries.forEach((summary, i) => rows.push({ name: targets[i]!.name, size, p50: summary.p50, p99: summary.p99, samples: summary.samples }));
  }
  for (const mesh of meshes) await mesh.close(100);
  process.stdout.write(JSON.stringify(rows) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`rtt client: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
