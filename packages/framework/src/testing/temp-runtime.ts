import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listQueues, MessageQueue, unlinkOwnShmEntry } from '@hostmesh/native';
import { RuntimeDir } from '../core/runtime-dir';

/**
 * A private runtime directory for one test file, short enough for socket paths. `remove()`
 * also removes the kernel objects of every namespace in it: event queues and in-flight
 * journals are durable by design (they outlive their service), so a test that only stopped
 * its services would leave them in the kernel, under names nobody can find once the
 * directory holding their key is gone.
 */
export function tempRuntimeDir(prefix = 'hm-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    remove: () => {
      for (const namespace of readdirSync(path)) {
        try {
          removeKernelObjects(new RuntimeDir(path, namespace));
        } catch {
          // a namespace whose key is unreadable (a test made it so) named no object we could find
        }
      }
      // A process that ends just before may still be writing into it: retry a directory that was not empty yet.
      rmSync(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    },
  };
}

function removeKernelObjects(dir: RuntimeDir): void {
  if (!existsSync(join(dir.root, 'objects.key'))) return; // it never named an object
  const prefix = dir.objectPrefix();
  const listing = listQueues();
  const uid = process.getuid?.() ?? 0;
  // Only this user's: a queue another user squatted under one of the names is not ours to remove.
  const queues = new Set(
    listing.ok ? listing.queues.filter((queue) => queue.uid === uid && queue.name.startsWith(`/${prefix}`)).map((queue) => queue.name) : [],
  );
  // Where queues cannot be listed (not root, no mqueue mount), the subscription records name them.
  for (const file of existsSync(dir.subscriptionDir) ? readdirSync(dir.subscriptionDir) : []) {
    try {
      const record = JSON.parse(readFileSync(join(dir.subscriptionDir, file), 'utf8')) as { address?: { kind?: string; queue?: string; partitions?: number } };
      if (record.address?.kind === 'mqueue' && record.address.queue) {
        queues.add(record.address.queue);
        for (let p = 0; p < Math.min(record.address.partitions ?? 0, 256); p++) queues.add(`${record.address.queue}.p${p}`);
      }
    } catch {
      // not a record
    }
  }
  for (const queue of queues) {
    try {
      MessageQueue.unlink(queue);
    } catch {
      // gone already
    }
  }
  for (const entry of readdirSync('/dev/shm')) {
    if (entry.startsWith(prefix) || entry.startsWith(`sem.${prefix}`)) unlinkOwnShmEntry(entry);
  }
}
