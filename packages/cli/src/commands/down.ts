import { RuntimeDir } from '@hostmesh/framework';
import { unlinkSync } from 'node:fs';
import { isProcessAlive, removeStaleObjects } from '@hostmesh/native';
import { removeNamespaceObjects } from '../supervisor/namespace-objects';
import { findOrphans, readDeadState, stopOrphans } from '../supervisor/orphans';
import type { SupervisorState } from '../supervisor/state';
import { readState, stateFile } from '../supervisor/state-file';
import { meshOf, nothingRunning, runtimeOf, type TargetOptions } from './context';

/**
 * `hostmesh down`: asks the namespace's supervisor to drain (SIGTERM) and waits until it
 * is gone. When the supervisor had died (SIGKILL, a crash), down does what its drain would
 * have: stops services it left running, removes the deployment's queues and locks, the
 * objects of dead owners and the stale registry entries. With --purge, every kernel object
 * of the namespace goes too, whatever kept it.
 */
export async function down(options: TargetOptions & { purge?: boolean; timeoutMs?: number; json?: boolean }): Promise<number> {
  const dir = runtimeOf(options);
  const state = readState(dir);
  const removed: string[] = [];
  const report = (message: string, stopped: boolean) =>
    process.stdout.write(options.json ? JSON.stringify({ namespace: dir.namespace, stopped, message, removed }) + '\n' : `${message}\n`);
  let message: string;
  let stopped = false;
  if (state) {
    process.kill(state.pid, 'SIGTERM');
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    while (isProcessAlive(state.pid, state.startTime)) {
      if (Date.now() > deadline) {
        report(`supervisor pid ${state.pid} is still draining after ${options.timeoutMs ?? 60_000} ms`, false);
        return 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    stopped = true;
    message = `stopped the deployment in namespace '${dir.namespace}' (supervisor pid ${state.pid})`;
  } else {
    const dead = readDeadState(dir);
    message = dead ? await cleanUpAfter(dead, dir, options, removed) : nothingRunning(dir.namespace, options);
    stopped = dead !== undefined;
  }
  if (options.purge) {
    const mesh = meshOf(options);
    try {
      removed.push(...(await mesh.registry.purgeSubscriptions()), ...mesh.locks.removeAll().map((lock) => `lock ${lock}`));
    } finally {
      await mesh.close(0);
    }
    removed.push(...removeNamespaceObjects(dir));
    dir.renewObjectKey();
  }
  if (removed.length > 0 && !options.json) process.stdout.write(`removed ${removed.join(', ')}\n`);
  report(message, stopped);
  return 0;
}

/** What the drain of a supervisor that died would have done; returns the line that says so. */
async function cleanUpAfter(dead: SupervisorState, dir: RuntimeDir, options: TargetOptions, removed: string[]): Promise<string> {
  const orphans = findOrphans(dead, dir);
  const left = await stopOrphans(orphans, async () => true, 5000);
  const mesh = meshOf(options);
  try {
    removed.push(...(await mesh.registry.purgeSubscriptions()), ...mesh.locks.removeAll().map((lock) => `lock ${lock}`));
    removed.push(...removeStaleObjects().map((object) => object.path));
    await mesh.registry.list(); // a lookup reclaims the descriptors and sockets of dead processes
  } finally {
    await mesh.close(0);
  }
  try {
    unlinkSync(stateFile(dir));
  } catch {
    // gone already
  }
  dir.renewObjectKey();
  const stoppedOrphans = orphans.filter((orphan) => !left.includes(orphan.label)).map((orphan) => `${orphan.label} (pid ${orphan.pid})`);
  return (
    `the supervisor of namespace '${dir.namespace}' (pid ${dead.pid}) had died: cleaned up after it` +
    (stoppedOrphans.length ? `; stopped ${stoppedOrphans.join(', ')}` : '') +
    (left.length ? `; could not stop ${left.join(', ')}` : '')
  );
}
