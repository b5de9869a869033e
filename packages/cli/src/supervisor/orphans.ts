import { RuntimeDir } from '@hostmesh/framework';
import { readFileSync } from 'node:fs';
import { isProcessAlive, processStartTime } from '@hostmesh/native';
import type { SupervisorState } from './state';
import { stateFile } from './state-file';

/** A service instance still running after the supervisor that started it died. */
export interface Orphan {
  service: string;
  instance: string;
  pid: number;
  startTime: number;
  label: string;
  /** The services running in that process: one, or a group's. */
  members: string[];
}

/** The state file of a supervisor that died without removing it (SIGKILL, a crash), or undefined. */
export function readDeadState(dir: RuntimeDir): SupervisorState | undefined {
  try {
    const state = JSON.parse(readFileSync(stateFile(dir), 'utf8')) as SupervisorState;
    return state.schema === 1 && !isProcessAlive(state.pid, state.startTime) ? state : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Instances of a dead supervisor's deployment that still run (HOSTMESH_ORPHAN=keep, or
 * still draining): listed in its state file and, so that a reused pid is never mistaken
 * for one, running with this namespace and runtime directory in their environment.
 */
export function findOrphans(dead: SupervisorState, dir: RuntimeDir): Orphan[] {
  const orphans: Orphan[] = [];
  for (const instance of dead.instances) {
    if (instance.pid === undefined) continue;
    // The services of a group share a pid: one orphan, signalled once, serving while all of them are.
    const same = orphans.find((o) => o.pid === instance.pid);
    if (same) {
      same.members.push(instance.service);
      continue;
    }
    const startTime = processStartTime(instance.pid);
    if (startTime === undefined || !belongsTo(instance.pid, dir)) continue;
    const label = instance.group ? `${instance.group}@${instance.instance}` : `${instance.service}@${instance.instance}`;
    orphans.push({ service: instance.service, instance: String(instance.instance), pid: instance.pid, startTime, label, members: [instance.service] });
  }
  return orphans;
}

/**
 * Stops orphans: SIGTERM to those `serving` says still serve (the others are draining
 * already), SIGKILL to any still there after `graceMs`. Resolves when all are gone, or
 * after a bounded wait; returns the labels of those still alive then.
 */
export async function stopOrphans(orphans: Orphan[], serving: (orphan: Orphan) => Promise<boolean>, graceMs: number): Promise<string[]> {
  const alive = (orphan: Orphan) => isProcessAlive(orphan.pid, orphan.startTime);
  for (const orphan of orphans) if (await serving(orphan)) signal(orphan, 'SIGTERM');
  if (!(await waitUntil(() => !orphans.some(alive), graceMs))) {
    for (const orphan of orphans.filter(alive)) signal(orphan, 'SIGKILL');
    await waitUntil(() => !orphans.some(alive), 2000);
  }
  return orphans.filter(alive).map((orphan) => orphan.label);
}

function belongsTo(pid: number, dir: RuntimeDir): boolean {
  let environ: string;
  try {
    environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return false;
  }
  const vars = new Set(environ.split('\0'));
  return vars.has(`HOSTMESH_NAMESPACE=${dir.namespace}`) && vars.has(`HOSTMESH_RUNTIME_DIR=${dir.base}`);
}

function signal(orphan: Orphan, name: NodeJS.Signals): void {
  try {
    if (isProcessAlive(orphan.pid, orphan.startTime)) process.kill(orphan.pid, name);
  } catch {
    // gone meanwhile
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}
