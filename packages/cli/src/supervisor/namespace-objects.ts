import { RuntimeDir } from '@hostmesh/framework';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive, listQueues, MessageQueue, ShmSegment, unlinkOwnShmEntry } from '@hostmesh/native';

/** One kernel object of a deployment, as `doctor` lists it. */
export interface NamespaceObject {
  kind: 'segment' | 'doorbell' | 'semaphore' | 'queue';
  /** Where it lives: `/dev/shm/…` or `mqueue /…`. */
  path: string;
  /** `pid 123 (alive)`, `pid 123 (dead)`, or `none` for objects that outlive their makers by design (locks, queues, journals). */
  owner: string;
  ownerAlive: boolean;
}

/**
 * Every kernel object of this user named for `dir`'s deployment (its object key), in
 * /dev/shm and in the message queue namespace (listed through a private mount when
 * /dev/mqueue is not mounted). Empty when the deployment never named an object.
 */
export function namespaceObjects(dir: RuntimeDir): { objects: NamespaceObject[]; queuesUnlisted?: string } {
  if (!existsSync(join(dir.root, 'objects.key'))) return { objects: [] };
  const prefix = dir.objectPrefix();
  const uid = process.getuid?.() ?? 0;
  const objects: NamespaceObject[] = [];
  for (const entry of readdirSync('/dev/shm')) {
    const semaphore = entry.startsWith(`sem.${prefix}`);
    if (!semaphore && !entry.startsWith(prefix)) continue;
    const path = `/dev/shm/${entry}`;
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat || stat.uid !== uid) continue;
    if (semaphore) objects.push({ kind: 'semaphore', path, owner: 'none', ownerAlive: false });
    else if (stat.isFIFO()) objects.push({ kind: 'doorbell', path, owner: 'none', ownerAlive: false });
    else objects.push({ kind: 'segment', path, ...segmentOwner(`/${entry}`) });
  }
  const listing = listQueues();
  if (listing.ok) {
    for (const queue of listing.queues) {
      if (queue.uid === uid && queue.name.startsWith(`/${prefix}`))
        objects.push({ kind: 'queue', path: `mqueue ${queue.name}`, owner: 'none', ownerAlive: false });
    }
  }
  return listing.ok ? { objects } : { objects, queuesUnlisted: listing.reason };
}

function segmentOwner(name: string): { owner: string; ownerAlive: boolean } {
  try {
    const { pid, startTime } = ShmSegment.ownerOf(name);
    if (pid === 0) return { owner: 'none', ownerAlive: false };
    const alive = isProcessAlive(pid, startTime);
    return { owner: `pid ${pid} (${alive ? 'alive' : 'dead'})`, ownerAlive: alive };
  } catch {
    return { owner: 'unknown', ownerAlive: false };
  }
}

/** Removes every object `namespaceObjects` lists (this user's only); returns what it removed. */
export function removeNamespaceObjects(dir: RuntimeDir): string[] {
  const removed: string[] = [];
  for (const object of namespaceObjects(dir).objects) {
    if (object.kind === 'queue') {
      const name = object.path.slice('mqueue '.length);
      try {
        MessageQueue.unlink(name);
        removed.push(object.path);
      } catch {
        // gone meanwhile
      }
    } else if (unlinkOwnShmEntry(object.path.slice('/dev/shm/'.length))) {
      removed.push(object.path);
    }
  }
  return removed;
}

/** The namespaces under a runtime base (directories holding a deployment's files). */
export function namespacesUnder(base: string): string[] {
  try {
    return readdirSync(base, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && (existsSync(join(base, entry.name, 'objects.key')) || existsSync(join(base, entry.name, 'registry'))))
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}
