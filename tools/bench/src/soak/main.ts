/**
 * `npm run soak [-- --seconds 60] [--clients 2] [--mechanisms uds,tcp,tls,shm,fifo,mqueue,nats] [--json FILE]`
 *
 * A bounded load run against one soak service per mechanism (`mqueue` = calls over uds,
 * events over a message queue; `tls` = tcp with mutual TLS on 127.0.0.1, certificates made
 * for the run; `nats` = through a nats-server started on loopback for the run), with several client processes each: random payload sizes
 * up to 1 MiB, every reply checked against its request, events counted at both ends,
 * connections churned. It fails (exit 1) on any mismatch, error, lost event, memory or fd
 * growth beyond the stated bound, or a kernel object left behind.
 */
import { spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { Mesh, type MeshOptions, type TlsFileOptions } from '@hostmesh/framework';
import { generateDevCerts } from '@hostmesh/framework/internal';
import { listQueues, userPrefix } from '@hostmesh/native';
import { startChild, stopChildren } from '../children';
import { startNatsServer } from '../remote/nats-server';
import { Soak } from './soak.contract';

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const SECONDS = Number(option('--seconds') ?? 60);
const CLIENTS = Number(option('--clients') ?? 2);
/** `tls` = tcp with mutual TLS on 127.0.0.1; `nats` = through a nats-server started for the run. */
const ALL_MECHANISMS = ['uds', 'tcp', 'tls', 'shm', 'fifo', 'mqueue', 'nats'];
const MECHANISMS = (option('--mechanisms') ?? ALL_MECHANISMS.join(',')).split(',');
if (!(SECONDS > 0 && SECONDS <= 3600) || !(CLIENTS >= 1 && CLIENTS <= 16) || MECHANISMS.some((m) => !ALL_MECHANISMS.includes(m))) {
  console.error(`usage: soak [--seconds 1..3600] [--clients 1..16] [--mechanisms ${ALL_MECHANISMS.join(',')}] [--json FILE]`);
  process.exit(2);
}
/** RSS may grow by this much between the end of warm-up and the end of the run. */
const RSS_SLACK_BYTES = 64 * 2 ** 20;
const FD_SLACK = 8;

interface ClientReport {
  publisher: string;
  calls: number;
  bytes: number;
  mismatches: number;
  errors: Record<string, number>;
  eventsSent: number;
  reconnects: number;
}

export interface SoakRow {
  mechanism: string;
  calls: number;
  megabytes: number;
  mismatches: number;
  errors: Record<string, number>;
  eventsSent: number;
  eventsReceived: number;
  reconnects: number;
  rssWarmMiB: number;
  rssEndMiB: number;
  fdsWarm: number;
  fdsEnd: number;
}

export interface SoakResult {
  seconds: number;
  clientsPerMechanism: number;
  rows: SoakRow[];
  leaked: string[];
  failures: string[];
}

/** What the run set up for the mechanisms that need more than a binding: certificates, a NATS server. */
interface Extras {
  tls?: TlsFileOptions;
  natsUrl?: string;
}

function bindingsFor(mechanism: string): string {
  if (mechanism === 'mqueue') return JSON.stringify({ '*': 'uds', 'soak.tick': 'mqueue' });
  return JSON.stringify({ '*': mechanism === 'tls' ? 'tcp' : mechanism });
}

/** The environment a service and its clients get for `mechanism` (HOSTMESH_*). */
function envFor(mechanism: string, extras: Extras): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { HOSTMESH_BINDINGS: bindingsFor(mechanism) };
  if (mechanism === 'tls') Object.assign(env, { HOSTMESH_TLS_CA: extras.tls!.ca, HOSTMESH_TLS_CERT: extras.tls!.cert, HOSTMESH_TLS_KEY: extras.tls!.key });
  if (mechanism === 'nats') env.HOSTMESH_NATS_SERVERS = extras.natsUrl;
  return env;
}

/** The same, as options of a Mesh in this process. */
function meshOptionsFor(mechanism: string, extras: Extras): MeshOptions {
  if (mechanism === 'tls') return { tls: extras.tls };
  if (mechanism === 'nats') return { nats: { servers: extras.natsUrl! } };
  return {};
}

/** This user's kernel objects: shm segments, semaphores and doorbells in /dev/shm, and message queues where they can be listed. */
function kernelObjects(): Set<string> {
  const prefix = userPrefix();
  const found = new Set<string>();
  for (const name of readdirSync('/dev/shm')) if (name.includes(prefix)) found.add(join('/dev/shm', name));
  const queues = listQueues();
  if (queues.ok) for (const queue of queues.queues) if (queue.name.includes(prefix)) found.add(`mqueue:${queue.name}`);
  return found;
}

/** Socket files and FIFOs under the runtime directory: each one a listener or pipe nobody closed. */
function socketsAndPipes(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map((entry) => join(dir, String(entry)))
    .filter((path) => {
      const stat = lstatSync(path);
      return stat.isSocket() || stat.isFIFO();
    });
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function runClient(runtimeDir: string, namespace: string, mechanism: string, publisher: string, extras: Extras): Promise<ClientReport> {
  const file = join(__dirname, `soak-client.child${extname(__filename)}`);
  const child = spawn(process.execPath, [...process.execArgv, file, String(SECONDS), publisher], {
    env: { ...process.env, HOSTMESH_RUNTIME_DIR: runtimeDir, HOSTMESH_NAMESPACE: namespace, ...envFor(mechanism, extras) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), (SECONDS + 60) * 1000);
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      const line = out.trim().split('\n').pop();
      if (code === 0 && line) resolve(JSON.parse(line) as ClientReport);
      else reject(new Error(`soak client ${publisher} exited with ${code ?? signal}`));
    });
  });
}

async function receivedBy(runtimeDir: string, namespace: string, expected: number, options: MeshOptions): Promise<number> {
  const mesh = Mesh.connect({ runtimeDir, namespace, logLevel: 'warn', ...options });
  try {
    const client = mesh.client(Soak);
    let total = 0;
    // Events are one-way: give the last ones a bounded moment to land.
    for (let attempt = 0; attempt < 50; attempt++) {
      total = Object.values(await client.received()).reduce((a, b) => a + b, 0);
      if (total >= expected) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return total;
  } finally {
    await mesh.close(100);
  }
}

async function main(): Promise<void> {
  const runtimeDir = mkdtempSync(join(tmpdir(), 'hm-soak-'));
  const before = kernelObjects();
  const started = performance.now();
  const rows: SoakRow[] = [];
  const failures: string[] = [];
  const extras: Extras = {};
  let nats: { url: string; stop(): Promise<void> } | undefined;
  try {
    if (MECHANISMS.includes('tls')) {
      const pki = generateDevCerts({ outDir: join(runtimeDir, 'pki'), hosts: [{ name: 'soak', addresses: [] }], days: 1 });
      extras.tls = { ca: pki.ca.cert, cert: pki.hosts.soak!.cert, key: pki.hosts.soak!.key };
    }
    if (MECHANISMS.includes('nats')) {
      nats = await startNatsServer();
      extras.natsUrl = nats.url;
    }
    const servers = new Map<string, number>();
    for (const mechanism of MECHANISMS) {
      const child = await startChild('soak/soak.service', [], {
        HOSTMESH_RUNTIME_DIR: runtimeDir,
        HOSTMESH_NAMESPACE: `soak-${mechanism}`,
        ...envFor(mechanism, extras),
        // startChild waits for the 'ready' line, logged at info.
        HOSTMESH_LOG_LEVEL: 'info',
      });
      servers.set(mechanism, child.pid!);
    }
    const warm = new Map<string, { rss: number; fds: number }>();
    const warmTimer = setTimeout(() => {
      for (const [mechanism, pid] of servers) warm.set(mechanism, { rss: rssBytes(pid), fds: fdCount(pid) });
    }, SECONDS * 250);
    const reports = await Promise.all(
      MECHANISMS.map((mechanism) =>
        Promise.all(Array.from({ length: CLIENTS }, (_, i) => runClient(runtimeDir, `soak-${mechanism}`, mechanism, `${mechanism}-${i}`, extras))),
      ),
    );
    clearTimeout(warmTimer);
    for (const [index, mechanism] of MECHANISMS.entries()) {
      const pid = servers.get(mechanism)!;
      const clients = reports[index]!;
      const sum = (pick: (r: ClientReport) => number) => clients.reduce((total, r) => total + pick(r), 0);
      const errors: Record<string, number> = {};
      for (const r of clients) for (const [name, count] of Object.entries(r.errors)) errors[name] = (errors[name] ?? 0) + count;
      const eventsSent = sum((r) => r.eventsSent);
      const w = warm.get(mechanism) ?? { rss: rssBytes(pid), fds: fdCount(pid) };
      const row: SoakRow = {
        mechanism,
        calls: sum((r) => r.calls),
        megabytes: Math.round(sum((r) => r.bytes) / 2 ** 20),
        mismatches: sum((r) => r.mismatches),
        errors,
        eventsSent,
        eventsReceived: await receivedBy(runtimeDir, `soak-${mechanism}`, eventsSent, meshOptionsFor(mechanism, extras)),
        reconnects: sum((r) => r.reconnects),
        rssWarmMiB: Math.round(w.rss / 2 ** 20),
        rssEndMiB: Math.round(rssBytes(pid) / 2 ** 20),
        fdsWarm: w.fds,
        fdsEnd: fdCount(pid),
      };
      rows.push(row);
      if (row.calls === 0) failures.push(`${mechanism}: no call completed`);
      if (row.mismatches > 0) failures.push(`${mechanism}: ${row.mismatches} replies did not match their request`);
      if (Object.keys(errors).length > 0) failures.push(`${mechanism}: calls failed: ${JSON.stringify(errors)}`);
      if (row.eventsReceived !== eventsSent) failures.push(`${mechanism}: ${eventsSent} events sent, ${row.eventsReceived} received`);
      if (row.rssEndMiB * 2 ** 20 > w.rss * 1.5 + RSS_SLACK_BYTES)
        failures.push(`${mechanism}: server RSS grew from ${row.rssWarmMiB} to ${row.rssEndMiB} MiB`);
      if (row.fdsEnd > w.fds + FD_SLACK) failures.push(`${mechanism}: server fds grew from ${w.fds} to ${row.fdsEnd}`);
    }
  } finally {
    await stopChildren();
    await nats?.stop();
    for (const mechanism of MECHANISMS) {
      const mesh = Mesh.connect({ runtimeDir, namespace: `soak-${mechanism}`, logLevel: 'silent' });
      // Durable event queues outlive their services by design; these belong to the soak.
      await mesh.registry.purgeSubscriptions();
      await mesh.close(0);
    }
  }
  const leaked = [...kernelObjects()].filter((name) => !before.has(name));
  leaked.push(...socketsAndPipes(runtimeDir));
  if (leaked.length > 0) failures.push(`kernel objects left behind: ${leaked.join(', ')}`);
  rmSync(runtimeDir, { recursive: true, force: true });

  const result: SoakResult = { seconds: SECONDS, clientsPerMechanism: CLIENTS, rows, leaked, failures };
  printTable(result, (performance.now() - started) / 1000);
  const jsonPath = option('--json');
  if (jsonPath) writeFileSync(jsonPath, JSON.stringify(result, null, 2));
  process.exitCode = failures.length === 0 ? 0 : 1;
}

function printTable(result: SoakResult, elapsed: number): void {
  const lines = [
    `soak: ${result.seconds} s, ${result.clientsPerMechanism} client processes per mechanism, payloads 0 B–1 MiB`,
    '| mechanism | calls | MiB echoed | mismatches | errors | events sent/received | reconnects | server RSS warm→end | server fds warm→end |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...result.rows.map(
      (r) =>
        `| ${r.mechanism} | ${r.calls} | ${r.megabytes} | ${r.mismatches} | ${Object.keys(r.errors).length ? JSON.stringify(r.errors) : 0} | ${r.eventsSent}/${r.eventsReceived} | ${r.reconnects} | ${r.rssWarmMiB}→${r.rssEndMiB} MiB | ${r.fdsWarm}→${r.fdsEnd} |`,
    ),
    `kernel objects left behind: ${result.leaked.length}`,
    result.failures.length === 0 ? `soak passed in ${elapsed.toFixed(0)} s` : `soak FAILED in ${elapsed.toFixed(0)} s:\n  ${result.failures.join('\n  ')}`,
  ];
  console.log(lines.join('\n'));
}

void main();
