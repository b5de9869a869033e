import { lstatSync, readdirSync, unlinkSync } from 'node:fs';
import { userPrefix } from './names';
import { isProcessAlive } from './process-info';
import { ShmSegment } from './shm-segment';

const SHM_DIR = '/dev/shm';
const DOORBELL = /^(.*)\.bell[01]$/;

export interface StaleObject {
  /** The /dev/shm entry. */
  path: string;
  kind: 'segment' | 'doorbell';
  /** Why it is stale. */
  reason: string;
}

/**
 * This user's shared-memory objects whose owner is dead: segments whose header names a
 * process (pid + start time) that no longer runs, and doorbells whose segment is gone or
 * stale. Objects of other users, and of live owners, are never listed.
 */
export function findStaleObjects(): StaleObject[] {
  let entries: string[];
  try {
    entries = readdirSync(SHM_DIR);
  } catch {
    return [];
  }
  const prefix = userPrefix();
  const uid = process.getuid?.() ?? 0;
  const stale: StaleObject[] = [];
  const deadSegments = new Set<string>();
  const liveSegments = new Set<string>();
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || DOORBELL.test(entry)) continue;
    const path = `${SHM_DIR}/${entry}`;
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat?.isFile() || stat.uid !== uid) continue;
    let owner: ReturnType<typeof ShmSegment.ownerOf>;
    try {
      owner = ShmSegment.ownerOf(`/${entry}`);
    } catch {
      continue; // not a hostmesh segment (or gone meanwhile): not ours to judge
    }
    // Ownerless segments were handed to another process; their reader removes them.
    if (owner.pid === 0 || isProcessAlive(owner.pid, owner.startTime)) {
      liveSegments.add(entry);
    } else {
      deadSegments.add(entry);
      stale.push({ path, kind: 'segment', reason: `owner pid ${owner.pid} (started at tick ${owner.startTime}) is not running` });
    }
  }
  for (const entry of entries) {
    const match = DOORBELL.exec(entry);
    if (!entry.startsWith(prefix) || !match) continue;
    const path = `${SHM_DIR}/${entry}`;
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat?.isFIFO() || stat.uid !== uid) continue;
    const segment = match[1]!;
    if (deadSegments.has(segment)) stale.push({ path, kind: 'doorbell', reason: `its segment ${segment} is stale` });
    else if (!liveSegments.has(segment) && !entries.includes(segment)) {
      stale.push({ path, kind: 'doorbell', reason: `its segment ${segment} does not exist` });
    }
  }
  return stale;
}

/** Removes what findStaleObjects lists; returns what was removed. */
export function removeStaleObjects(): StaleObject[] {
  const removed: StaleObject[] = [];
  for (const object of findStaleObjects()) {
    try {
      unlinkSync(object.path);
      removed.push(object);
    } catch {
      // removed by someone else meanwhile
    }
  }
  return removed;
}

/**
 * Unlinks `/dev/shm/<entry>` if it is this user's, and says whether it did. /dev/shm is
 * sticky, so what is ours stays ours until we remove it; an entry of another user under one
 * of our names is left alone, even by root, who could remove it: it is not ours to judge.
 */
export function unlinkOwnShmEntry(entry: string): boolean {
  const path = `${SHM_DIR}/${entry}`;
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat || stat.isSymbolicLink() || stat.uid !== (process.getuid?.() ?? 0)) return false;
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false; // removed by someone else meanwhile
  }
}
