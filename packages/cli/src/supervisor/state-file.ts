import { RuntimeDir } from '@hostmesh/framework';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from '@hostmesh/native';
import type { SupervisorState } from './state';

export function stateFile(dir: RuntimeDir): string {
  return join(dir.root, 'supervisor.json');
}

/** The running supervisor of a namespace, or undefined (none, or the file of a dead one). */
export function readState(dir: RuntimeDir): SupervisorState | undefined {
  try {
    const state = JSON.parse(readFileSync(stateFile(dir), 'utf8')) as SupervisorState;
    return state.schema === 1 && isProcessAlive(state.pid, state.startTime) ? state : undefined;
  } catch {
    return undefined;
  }
}
