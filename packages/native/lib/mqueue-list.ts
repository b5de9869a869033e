import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** One POSIX message queue as the kernel's mqueue filesystem shows it. */
export interface ListedQueue {
  /** The queue's name, with its leading '/' (what MessageQueue.open takes). */
  name: string;
  uid: number;
  /** Permission bits, e.g. 0o600. */
  mode: number;
}

export type QueueListing = { ok: true; queues: ListedQueue[] } | { ok: false; reason: string };

/**
 * Every POSIX message queue of this IPC namespace. The kernel lists queues only through the
 * mqueue filesystem, which is often not mounted (a fresh Debian has no /dev/mqueue). Where
 * it is mounted, it is read there; otherwise, as root, it is mounted for one moment in a
 * private mount namespace (`unshare --mount`, util-linux), so nothing on the machine changes
 * and nothing has to be set up by hand. Other users without a mount get the reason.
 */
export function listQueues(options: { /** Skip a mounted mqueue filesystem (to test the other way). */ privateMount?: boolean } = {}): QueueListing {
  const mounted = options.privateMount ? undefined : mqueueMountPoint();
  if (mounted) {
    try {
      return { ok: true, queues: readdirSync(mounted).flatMap((entry) => statQueue(mounted, entry)) };
    } catch (error) {
      return { ok: false, reason: `cannot read ${mounted}: ${(error as Error).message}` };
    }
  }
  if (process.getuid?.() !== 0) {
    return { ok: false, reason: 'the mqueue filesystem is not mounted (as root: mount -t mqueue none /dev/mqueue)' };
  }
  return listInPrivateMount();
}

/** The queue, or nothing if it was removed since the directory was read. */
function statQueue(dir: string, entry: string): ListedQueue[] {
  const stat = statSync(join(dir, entry), { throwIfNoEntry: false });
  return stat ? [{ name: `/${entry}`, uid: stat.uid, mode: stat.mode & 0o777 }] : [];
}

/** Where an mqueue filesystem is mounted in this process's mount namespace, if anywhere. */
function mqueueMountPoint(): string | undefined {
  let mounts: string;
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of mounts.split('\n')) {
    const [, point, type] = line.split(' ');
    // /proc/self/mounts escapes spaces and the like as octal (\040).
    if (type === 'mqueue' && point) return point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  }
  return undefined;
}

// The mount covers /tmp only inside the new, private mount namespace, which ends with `find`.
// A queue removed while `find` reads makes it exit 1: only a failed mount (97) is a failure.
const LIST_SCRIPT = 'mount -t mqueue hostmesh /tmp || exit 97; find /tmp -mindepth 1 -maxdepth 1 -printf "%f\\t%U\\t%m\\n" 2>/dev/null; exit 0';

function listInPrivateMount(): QueueListing {
  const result = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', LIST_SCRIPT], { encoding: 'utf8', timeout: 10_000 });
  if (result.error || result.status !== 0) {
    const why = result.error?.message ?? (result.stderr.trim() || `exit ${result.status ?? result.signal}`);
    return { ok: false, reason: `cannot mount the mqueue filesystem in a private mount namespace (unshare, from util-linux): ${why}` };
  }
  const queues = result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [entry, uid, mode] = line.split('\t');
      return { name: `/${entry}`, uid: Number(uid), mode: parseInt(mode!, 8) };
    });
  return { ok: true, queues };
}
