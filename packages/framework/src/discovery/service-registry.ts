import { pluginOf } from '../plugins/transport-plugins';
import { watch, type FSWatcher } from 'node:fs';
import { link, lstat, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject, injectable, optional } from 'inversify';
import { checkDescriptor, type ServiceDescriptor, type SubscriptionRecord } from './descriptor';
import { LOGGER, type Logger } from '../core/logger';
import { isProcessAlive } from '@hostmesh/native';
import { REMOTE_DIRECTORY, type RemoteDirectory } from './remote-directory';
import { RuntimeDir } from '../core/runtime-dir';

/**
 * Who runs where, as files in the runtime directory: one descriptor per service
 * instance, replaced atomically (write + rename) so readers never see half a file.
 * Liveness comes from the kernel (pid + start time), not from heartbeats, so a busy
 * event loop is never mistaken for a dead process.
 */
@injectable('Singleton')
export class ServiceRegistry {
  private readonly logger: Logger;

  constructor(
    @inject(RuntimeDir) private readonly dir: RuntimeDir,
    @inject(LOGGER) logger: Logger,
    @inject(REMOTE_DIRECTORY) @optional() private readonly remote?: RemoteDirectory,
  ) {
    this.logger = logger.child('registry');
  }

  async register(descriptor: ServiceDescriptor): Promise<void> {
    const path = this.dir.descriptorPath(descriptor.service, descriptor.instance);
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(descriptor, null, 2), { mode: 0o600 });
    await rename(temp, path);
    await this.remote?.announce(descriptor);
  }

  /** Removes the descriptor if it is still ours (a successor may have replaced it). */
  async unregister(service: string, instance: string, pid = process.pid): Promise<void> {
    const path = this.dir.descriptorPath(service, instance);
    const current = await this.read(path);
    if (current && typeof current !== 'string' && current.pid === pid) await unlinkQuietly(path);
    if (pid === process.pid) await this.remote?.withdraw(service, instance);
  }

  /** Live instances of `service`, here and elsewhere; descriptors of dead processes are removed on the way. */
  async lookup(service: string): Promise<ServiceDescriptor[]> {
    return (await this.listAll()).filter((d) => d.service === service);
  }

  /** The instance in this host's runtime directory, if it runs. */
  async find(service: string, instance: string): Promise<ServiceDescriptor | undefined> {
    const found = await this.read(this.dir.descriptorPath(service, instance));
    if (!found || typeof found === 'string') return undefined;
    return isProcessAlive(found.pid, found.startTime) ? found : undefined;
  }

  /** The instance here or, when there is none, one a remote directory knows of. */
  async findAnywhere(service: string, instance: string, host?: string): Promise<ServiceDescriptor | undefined> {
    if (host === undefined) {
      const here = await this.find(service, instance);
      if (here) return here;
    }
    return (await this.remoteOnly()).find((d) => d.service === service && d.instance === instance && (host === undefined || d.host === host));
  }

  /**
   * This host's services and those a remote directory (NATS) knows of that are not also
   * here. A remote one is marked `remote: { host, via: 'nats' }` and keeps only the
   * listeners another host can reach (NATS); local wins over remote for the same process.
   */
  async listAll(): Promise<ServiceDescriptor[]> {
    const local = await this.list();
    return this.remote ? [...local, ...(await this.remoteOnly(local))] : local;
  }

  private async remoteOnly(local?: ServiceDescriptor[]): Promise<ServiceDescriptor[]> {
    if (!this.remote) return [];
    const here = local ?? (await this.list());
    const same = (a: ServiceDescriptor, b: ServiceDescriptor) => a.pid === b.pid && a.startTime === b.startTime && a.host === b.host;
    return (await this.remote.list())
      .filter((d) => !here.some((l) => same(l, d)))
      .map((d) => ({ ...d, listeners: { nats: d.listeners.nats }, remote: { host: d.host, via: 'nats' as const } }));
  }

  /** Why services on other hosts cannot be seen, when that is final (see RemoteDirectory.problem). */
  remoteProblem(): Error | undefined {
    return this.remote?.problem?.();
  }

  /** This host's services: the runtime directory. */
  async list(): Promise<ServiceDescriptor[]> {
    let names: string[];
    try {
      names = await readdir(this.dir.registryDir);
    } catch {
      return [];
    }
    const live: ServiceDescriptor[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const path = join(this.dir.registryDir, name);
      const descriptor = await this.read(path);
      if (descriptor === undefined) continue;
      if (typeof descriptor === 'string') {
        this.logger.once(`bad:${path}`, 'warn', `ignoring descriptor ${path}: ${descriptor}`);
        continue;
      }
      if (isProcessAlive(descriptor.pid, descriptor.startTime)) live.push(descriptor);
      else await this.reclaim(path, descriptor);
    }
    return live;
  }

  /** Descriptor files whose process is dead (what the next lookup will remove), as paths. */
  async staleDescriptors(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir.registryDir);
    } catch {
      return [];
    }
    const stale: string[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const path = join(this.dir.registryDir, name);
      const descriptor = await this.read(path);
      if (descriptor && typeof descriptor !== 'string' && !isProcessAlive(descriptor.pid, descriptor.startTime)) stale.push(path);
    }
    return stale;
  }

  /** Records (atomically) that `record.service` takes these events durably. */
  async recordSubscription(record: SubscriptionRecord): Promise<void> {
    const path = this.dir.subscriptionPath(record.service);
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(record, null, 2), { mode: 0o600 });
    await rename(temp, path);
  }

  async removeSubscription(service: string): Promise<void> {
    await unlinkQuietly(this.dir.subscriptionPath(service));
  }

  /**
   * Ends every durable subscription of the namespace: removes the records and their event
   * queues, with whatever events they still hold. For `hostmesh down --purge` and tests.
   */
  async purgeSubscriptions(): Promise<string[]> {
    const removed: string[] = [];
    for (const record of await this.listSubscriptions()) {
      removed.push(...(pluginOf(record.address.kind)?.purgeDurable?.(record.address, this.dir) ?? []));
      await this.removeSubscription(record.service);
    }
    return removed;
  }

  /** Durable subscriptions, whether or not their services are running now. */
  async listSubscriptions(): Promise<SubscriptionRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir.subscriptionDir);
    } catch {
      return [];
    }
    const records: SubscriptionRecord[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      try {
        const record = JSON.parse(await readFile(join(this.dir.subscriptionDir, name), 'utf8')) as SubscriptionRecord;
        if (record.schema === 1 && typeof record.service === 'string' && Array.isArray(record.events) && record.address) records.push(record);
        else this.logger.once(`badsub:${name}`, 'warn', `ignoring subscription record ${name}: unexpected shape`);
      } catch {
        // being replaced right now, or unreadable: the next lookup sees it
      }
    }
    return records;
  }

  /** Calls `listener` (debounced) whenever a descriptor appears, changes or goes. */
  watch(listener: () => void): () => void {
    let watcher: FSWatcher | undefined;
    let subscriptions: FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    const changed = () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        listener();
      }, 5);
      timer.unref();
    };
    try {
      watcher = watch(this.dir.registryDir, { persistent: false }, changed);
      watcher.on('error', () => undefined);
      subscriptions = watch(this.dir.subscriptionDir, { persistent: false }, changed);
      subscriptions.on('error', () => undefined);
    } catch (error) {
      this.logger.once('watch', 'warn', `cannot watch ${this.dir.registryDir} (${(error as Error).message}); changes are seen on the next lookup`);
    }
    const unwatchRemote = this.remote?.watch(changed);
    return () => {
      unwatchRemote?.();
      if (timer) clearTimeout(timer);
      watcher?.close();
      subscriptions?.close();
    };
  }

  private async read(path: string): Promise<ServiceDescriptor | string | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return undefined;
    }
    try {
      return checkDescriptor(JSON.parse(text));
    } catch (error) {
      return `invalid JSON (${(error as Error).message})`;
    }
  }

  /**
   * A dead owner's descriptor and socket files are removed, never a successor's. The
   * descriptor is taken by a rename (atomic) and checked once taken: reading it and then
   * unlinking the path removed a successor that registered in between (a replica restarted
   * under the same name while other processes looked the service up). A successor's, taken
   * by mistake, goes back unless a newer one is there already.
   */
  private async reclaim(path: string, dead: ServiceDescriptor): Promise<void> {
    const taken = `${path}.${process.pid}.reclaim`;
    try {
      await rename(path, taken);
    } catch {
      return; // reclaimed by another process, or replaced and removed
    }
    const found = await this.read(taken);
    if (!found || typeof found === 'string' || found.pid !== dead.pid || found.startTime !== dead.startTime) {
      await link(taken, path).catch(() => undefined);
      await unlinkQuietly(taken);
      return;
    }
    const registeredAt = (await lstat(taken).catch(() => undefined))?.mtimeMs ?? Infinity;
    await unlinkQuietly(taken);
    this.logger.debug(`reclaiming ${dead.service}@${dead.instance} left by dead pid ${dead.pid}`);
    // Every listener socket of ours it had (Unix, shm and fifo handshakes), never anything
    // elsewhere, and none made after it registered: a successor binds the same paths.
    for (const listener of Object.values(dead.listeners)) {
      const socket = (listener as { path?: unknown } | undefined)?.path;
      if (typeof socket !== 'string' || !socket.startsWith(this.dir.socketDir + '/')) continue;
      const made = (await lstat(socket).catch(() => undefined))?.ctimeMs;
      if (made !== undefined && made <= registeredAt) await unlinkQuietly(socket);
    }
  }
}

async function unlinkQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // already gone
  }
}
