/**
 * Round trips between "hosts": TCP + TLS across a veth pair between two network namespaces,
 * next to the local mechanisms, from one measuring client in one run.
 *
 *   npx tsc -b && node tools/bench/dist/remote/main.js [--iterations 5000] [--sizes 64,4096]
 *
 * Topology (root needed for namespaces; without it the veth row is reported as skipped):
 *
 *   ns A (hm<pid>a)  10.77.n.1 ──veth── 10.77.n.2  ns B (hm<pid>b)
 *   echo service, TLS on 10.77.n.1                 echo services: uds, tcp 127.0.0.1, TLS 127.0.0.1
 *   echo service on nats                           nats-server on 10.77.n.2, echo service on nats
 *                                                  + the measuring client (rtt-client.child)
 *
 * Without nats-server installed the nats rows are reported as skipped.
 *
 * The client takes turns between the targets in blocks (sequential calls, one in flight),
 * so all rows see the same machine state; ratios are against local UDS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { type MeshOptions, type TlsFileOptions } from '@hostmesh/framework';
import { generateDevCerts } from '@hostmesh/framework/internal';
import { formatMicros } from '../stats';
import { startNatsServer } from './nats-server';
import { MAX_PAYLOAD_BYTES } from '../targets';
import type { ClientJob, ClientRow, ClientTargetSpec } from './rtt-client.child';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
};
const ITERATIONS = Number(option('iterations') ?? 5000);
const SIZES = (option('sizes') ?? '64,4096').split(',').map(Number);
const ext = extname(__filename);
const children: ChildProcess[] = [];

/** What this bench uses of the framework's netns harness (testing/netns.ts). */
interface NetnsLab {
  link(from: string, to: string): { ends: [{ address: string }, { address: string }] };
  exec(short: string): string[];
  destroy(): void;
}
// Loaded by path: '@hostmesh/framework/testing' also loads the jest-only conformance suite.
const netns = require(join(dirname(require.resolve('@hostmesh/framework/package.json')), ext === '.ts' ? 'src' : 'dist', 'testing', 'netns')) as {
  NetnsLab: { create(names: string[]): NetnsLab };
  netnsUnavailableReason(): string | null;
};
const { NetnsLab, netnsUnavailableReason } = netns;
process.on('exit', () => children.forEach((child) => child.kill('SIGKILL')));

interface ServiceSpec {
  /** Row label. */
  name: string;
  namespace: string;
  /** Where the echo service runs: a command prefix (`ip netns exec …`) or none. */
  prefix: string[];
  env: NodeJS.ProcessEnv;
  /** The client Mesh options that reach it. */
  mesh?: MeshOptions;
}

/** Starts tools/bench's echo service (under `prefix`) and resolves once it logs `ready`. */
function startEcho(spec: ServiceSpec, runtimeDir: string): Promise<ChildProcess> {
  const argv = [...spec.prefix, process.execPath, ...process.execArgv, join(__dirname, '..', `echo.service${ext}`)];
  const child = spawn(argv[0]!, argv.slice(1), {
    env: {
      ...process.env,
      HOSTMESH_RUNTIME_DIR: runtimeDir,
      HOSTMESH_NAMESPACE: spec.namespace,
      HOSTMESH_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES),
      HOSTMESH_LOG_LEVEL: 'info',
      ...spec.env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${spec.name} echo service exited with ${code} before it was ready`)));
  });
}

/** Runs the measuring client (under `prefix`) and returns its rows. */
function runClient(prefix: string[], job: ClientJob): Promise<ClientRow[]> {
  const argv = [...prefix, process.execPath, ...process.execArgv, join(__dirname, `rtt-client.child${ext}`), JSON.stringify(job)];
  const child = spawn(argv[0]!, argv.slice(1), { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the measuring client exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as ClientRow[]);
    });
  });
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'hm-remote-'));
  const runtimeDir = join(work, 'run');
  const skipReason = netnsUnavailableReason();
  let lab: NetnsLab | undefined;
  const stops: Array<() => Promise<void>> = [];
  let natsSkipped: string | undefined;
  try {
    const tlsEnv = (files: TlsFileOptions) => ({ HOSTMESH_TLS_CA: files.ca, HOSTMESH_TLS_CERT: files.cert, HOSTMESH_TLS_KEY: files.key });
    let veth: { a: string; b: string } | undefined;
    if (skipReason === null) {
      lab = NetnsLab.create(['a', 'b']);
      const link = lab.link('a', 'b');
      veth = { a: link.ends[0].address, b: link.ends[1].address };
    }
    const pki = generateDevCerts({
      outDir: join(work, 'pki'),
      hosts: [
        { name: 'a', addresses: veth ? [veth.a] : [] },
        { name: 'b', addresses: veth ? [veth.b] : [] },
      ],
      days: 1,
    });
    const files = (host: 'a' | 'b'): TlsFileOptions => ({ ca: pki.ca.cert, cert: pki.hosts[host]!.cert, key: pki.hosts[host]!.key });
    // The client and the "local" services live in B (the client's host); the remote service in A.
    const local = lab ? lab.exec('b') : [];
    const services: ServiceSpec[] = [
      { name: 'hostmesh uds (local)', namespace: 'rb-uds', prefix: local, env: { HOSTMESH_BINDINGS: '{"*":"uds"}' } },
      { name: 'hostmesh tcp 127.0.0.1 (plaintext)', namespace: 'rb-tcp', prefix: local, env: { HOSTMESH_BINDINGS: '{"*":"tcp"}' } },
      {
        name: 'hostmesh tcp+TLS 127.0.0.1',
        namespace: 'rb-tls',
        prefix: local,
        env: { HOSTMESH_BINDINGS: '{"*":"tcp"}', ...tlsEnv(files('b')) },
        mesh: { tls: files('b') },
      },
    ];
    if (lab && veth) {
      services.push({
        name: `hostmesh tcp+TLS across a veth (${veth.b} → ${veth.a})`,
        namespace: 'rb-veth',
        prefix: lab.exec('a'),
        env: { HOSTMESH_BINDINGS: '{"*":"tcp"}', HOSTMESH_TCP_HOST: veth.a, ...tlsEnv(files('a')) },
        mesh: { tls: files('b') },
      });
    }
    // NATS: the server in B (the client's host) on its veth address when there is one, a
    // service next to it and one across the veth in A; in one run with the rows above.
    let nats: { url: string; stop(): Promise<void> } | undefined;
    try {
      nats = await startNatsServer({ host: veth?.b ?? '127.0.0.1', prefix: local });
      stops.push(() => nats!.stop());
    } catch (error) {
      natsSkipped = (error as Error).message;
    }
    if (nats) {
      // Plaintext to the broker on the lab's veth (a namespace of ours): measured as the TCP
      // plaintext row is; a real deployment sets nats.tls.
      const natsEnv = { HOSTMESH_BINDINGS: '{"*":"nats"}', HOSTMESH_NATS_SERVERS: nats.url, HOSTMESH_NATS_INSECURE: '1' };
      const natsMesh = { nats: { servers: nats.url, insecure: true } };
      services.push({
        name: `hostmesh nats (server and service in ${lab ? 'B' : 'this host'})`,
        namespace: 'rb-nats',
        prefix: local,
        env: natsEnv,
        mesh: natsMesh,
      });
      if (lab && veth)
        services.push({
          name: `hostmesh nats, service across the veth (A → server in B)`,
          namespace: 'rb-nats-veth',
          prefix: lab.exec('a'),
          env: natsEnv,
          mesh: natsMesh,
        });
    }
    for (const spec of services) await startEcho(spec, runtimeDir);
    const targets: ClientTargetSpec[] = services.map((spec) => ({ name: spec.name, namespace: spec.namespace, ...(spec.mesh ? { mesh: spec.mesh } : {}) }));
    const began = Date.now();
    const rows = await runClient(local, { runtimeDir, targets, sizes: SIZES, iterations: ITERATIONS });
    console.log(
      markdown(
        rows,
        services.map((s) => s.name),
        skipReason,
        Date.now() - began,
      ),
    );
    if (natsSkipped) console.log(`\n(nats rows: skipped: ${natsSkipped})`);
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const stop of stops) await stop();
    lab?.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

function markdown(rows: ClientRow[], order: string[], skipped: string | null, ms: number): string {
  const lines = [
    `Sequential round trips (one call in flight), ${ITERATIONS} per target and size, targets taking turns in blocks of 500; one measuring client${skipped ? '' : ' inside network namespace B'}; ${(ms / 1000).toFixed(1)} s.`,
    '',
    '| target | size | p50 | p99 | p50 vs local uds | p99 vs local uds |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const size of SIZES) {
    const base = rows.find((r) => r.size === size && r.name === order[0]);
    for (const name of order) {
      const row = rows.find((r) => r.size === size && r.name === name);
      if (!row || !base) continue;
      const label = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
      lines.push(
        `| ${name} | ${label} | ${formatMicros(row.p50)} | ${formatMicros(row.p99)} | ${(row.p50 / base.p50).toFixed(2)}× | ${(row.p99 / base.p99).toFixed(2)}× |`,
      );
    }
  }
  if (skipped) lines.push('', `(tcp+TLS across a veth: skipped: ${skipped})`);
  return lines.join('\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
