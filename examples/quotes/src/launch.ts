/**
 * Starts the example deployment: the pricing service, then the monitor, each in its own
 * process, and stops them in reverse order on Ctrl-C. A stand-in until `hostmesh up`.
 *
 *   node dist/launch.js [--duration <seconds>]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Mesh } from '@hostmesh/framework';

process.env.HOSTMESH_NAMESPACE ??= 'quotes-example';
const ext = extname(__filename);
const services = ['pricing', 'monitor'] as const;
const children = new Map<string, ChildProcess>();
const mesh = Mesh.connect({ logLevel: 'warn' });
let stopping = false;

function say(line: string): void {
  process.stdout.write(`launch   | ${line}\n`);
}

function start(name: string): ChildProcess {
  const child = spawn(process.execPath, [...process.execArgv, join(__dirname, `${name}.main${ext}`)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${name.padEnd(8)} | ${line}\n`));
  }
  child.once('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      say(`${name} exited unexpectedly (${signal ?? `code ${code}`}): stopping the rest`);
      void stopAll(1);
    }
  });
  children.set(name, child);
  return child;
}

async function waitReady(name: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const [descriptor] = await mesh.registry.lookup(name);
    if (descriptor?.pid === child.pid) {
      const bindings = descriptor.routes.map((route) => `${name}.${route.name} over ${route.binding}${route.shell ? ` (shells: ${route.shell})` : ''}`);
      const events = descriptor.subscriptions.map((sub) => `${sub.event} events over ${sub.binding}`);
      say(`${name} is ready (pid ${child.pid}): ${[...bindings, ...events].join(', ')}`);
      return;
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not become ready`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function stopAll(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping: monitor first, then pricing');
  for (const name of [...services].reverse()) {
    const child = children.get(name);
    if (!child) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
  // The deployment is down: its durable event queues and its lock go too.
  const purged = await mesh.registry.purgeSubscriptions();
  if (purged.length > 0) say(`removed event queues ${purged.join(', ')}`);
  mesh.locks.remove('audit');
  const audit = join(mesh.runtimeDir.root, 'audit.log');
  if (existsSync(audit)) say(`audit log ${audit}: ${readFileSync(audit, 'utf8').split('\n').filter(Boolean).length} lines, written by both services under the 'audit' lock`);
  await mesh.close(0);
  say('all services stopped');
  process.exit(exitCode);
}

async function main(): Promise<void> {
  say(`namespace '${mesh.config.namespace}' in ${mesh.runtimeDir.root}; Ctrl-C stops everything`);
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  for (const name of services) await waitReady(name, start(name));
  const duration = process.argv.indexOf('--duration');
  if (duration > 0) setTimeout(() => void stopAll(0), Number(process.argv[duration + 1]) * 1000);
}

main().catch((error: Error) => {
  say(`failed: ${error.message}`);
  void stopAll(1);
});
