import { readdirSync, unlinkSync } from 'node:fs';
import { findStaleObjects } from '@hostmesh/native';
import { join } from 'node:path';
import { ConsoleLogger } from '../core/logger';
import type { Mesh } from '../runtime/mesh';
import { reapAll, sleep, spawnService, type Exit, type SpawnedService } from '../testing/spawn-service';

/** Fixture entry points of the fault suite, run as TypeScript like the tests. */
export function faultFixture(name: string): string {
  return join(__dirname, 'fixtures', `${name}.main.ts`);
}

export const CONFORMANCE = join(__dirname, '..', 'testing', 'fixtures', 'conformance.main.ts');

/** Polls `check` until it returns true; fails naming `what` after `timeoutMs`. Always bounded. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** The child's exit, or SIGKILL and a failure after `timeoutMs`. */
export async function exitWithin(child: SpawnedService, timeoutMs: number): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const result = await Promise.race([child.exited, timeout]);
  clearTimeout(timer);
  if (result === 'timeout') {
    await child.kill();
    throw new Error(`pid ${child.pid} did not exit within ${timeoutMs} ms; output:\n${child.output}`);
  }
  return result;
}

/** How a promise ended and how long it took: never throws. */
export async function settled<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const started = performance.now();
  try {
    const value = await promise;
    return { value, ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

/** /dev/shm entries whose name contains every one of `parts`. */
export function shmEntries(...parts: string[]): string[] {
  return readdirSync('/dev/shm').filter((name) => parts.every((part) => name.includes(part)));
}

/** Starts the conformance service in a child process, every binding on `kind`, and waits until it is announced. */
export function startConformance(kind: string, runtimeDir: string, namespace: string, env: NodeJS.ProcessEnv = {}): Promise<SpawnedService> {
  return spawnService(CONFORMANCE, {
    env: {
      HOSTMESH_RUNTIME_DIR: runtimeDir,
      HOSTMESH_NAMESPACE: namespace,
      HOSTMESH_BINDINGS: JSON.stringify({ '*': kind }),
      HOSTMESH_LOG_LEVEL: 'info',
      ...env,
    },
    ready: { service: 'conformance', runtimeDir, namespace },
  });
}

/** A logger that keeps its lines, to prove a fault was absorbed without warnings or errors. */
export function recordingLogger(): { logger: ConsoleLogger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new ConsoleLogger('faults', 'debug', { out: (line) => lines.push(line), err: (line) => lines.push(line) }), lines };
}

/**
 * Removes the kernel objects of dead owners in `namespace` only (never another test's),
 * for afterAll hooks: what a SIGKILLed server of this file created.
 */
export function removeStaleIn(namespace: string): string[] {
  const removed: string[] = [];
  for (const object of findStaleObjects()) {
    if (!object.path.includes(`.${namespace}.`)) continue;
    try {
      unlinkSync(object.path);
      removed.push(object.path);
    } catch {
      // removed by someone else meanwhile
    }
  }
  return removed;
}

/**
 * The end of a fault file, whatever its test did: a stopped process continued, the client
 * mesh closed, the service processes stopped and every child reaped, the kernel objects a
 * killed process left in `namespace` removed, the runtime directory deleted.
 */
export async function tearDown(parts: {
  mesh: Mesh;
  processes: Array<SpawnedService | undefined>;
  namespace: string;
  runtime: { remove(): void };
}): Promise<void> {
  for (const child of parts.processes) child?.child.kill('SIGCONT');
  await parts.mesh.close(0);
  for (const child of parts.processes) await child?.stop('SIGTERM', 3000);
  await reapAll();
  removeStaleIn(parts.namespace);
  parts.runtime.remove();
}
