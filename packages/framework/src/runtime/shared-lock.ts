import { isProcessAlive, NamedSemaphore, ownProcessStartTime, PosixError, ShmSegment, unlinkOwnShmEntry } from '@hostmesh/native';
import { readdirSync } from 'node:fs';
import { inject, injectable } from 'inversify';
import { BootstrapError, LockTimeoutError } from '../core/errors/errors';
import { MESH_CONFIG, type MeshConfig } from '../config/config';
import { LOGGER, type Logger } from '../core/logger';
import { RuntimeDir } from '../core/runtime-dir';

/** Words of a lock's owner record (Int32Array indices into the record segment's data). */
const OWNER_PID = 0;
const OWNER_START_LOW = 1;
const OWNER_START_HIGH = 2;
/** A semaphore taken with no owner recorded for this long was leaked by a crash in between. */
const ORPHAN_MS = 2000;
/** Waits are sliced so a dead holder is noticed while waiting. */
const WAIT_SLICE_MS = 50;
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export interface LockHandle {
  readonly name: string;
  /** Gives the lock back; a second call throws. */
  release(): void;
}

interface Lock {
  semaphore: NamedSemaphore;
  owner: Int32Array;
  segment: ShmSegment;
}

/**
 * Cross-process mutual exclusion for services that share a resource (a file, a device,
 * a port): a named POSIX semaphore per lock, plus an owner record in shared memory (pid
 * and process start time) so that a holder killed with the lock held does not block the
 * others forever: the next waiter sees its owner is dead and takes the lock over, with a
 * compare-and-swap so exactly one waiter wins.
 *
 *   await lock.withLock('audit-log', async () => appendFile(...), { timeoutMs: 1000 });
 */
@injectable('Singleton')
export class SharedLock {
  private readonly locks = new Map<string, Lock>();
  private readonly logger: Logger;

  constructor(
    @inject(MESH_CONFIG) private readonly config: MeshConfig,
    @inject(RuntimeDir) private readonly dir: RuntimeDir,
    @inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child('lock');
  }

  /** Waits up to `timeoutMs` (default: defaultTimeoutMs) for the lock; LockTimeoutError names the holder. */
  async acquire(name: string, options: { timeoutMs?: number } = {}): Promise<LockHandle> {
    const lock = this.open(name);
    const timeoutMs = options.timeoutMs ?? this.config.defaultTimeoutMs;
    const deadline = performance.now() + timeoutMs;
    let orphanSince: number | undefined;
    for (;;) {
      if (lock.semaphore.tryWait()) return this.take(name, lock);
      const holder = Atomics.load(lock.owner, OWNER_PID);
      if (holder !== 0 && !isProcessAlive(holder, readStart(lock.owner))) {
        if (Atomics.compareExchange(lock.owner, OWNER_PID, holder, process.pid) === holder) {
          this.logger.warn(`lock '${name}' taken over from pid ${holder}, which died holding it`);
          return this.take(name, lock);
        }
        continue;
      }
      if (holder === 0) {
        orphanSince ??= performance.now();
        if (performance.now() - orphanSince > ORPHAN_MS && Atomics.compareExchange(lock.owner, OWNER_PID, 0, process.pid) === 0) {
          this.logger.warn(`lock '${name}' was held with no owner for ${ORPHAN_MS} ms: taken over`);
          return this.take(name, lock);
        }
      } else {
        orphanSince = undefined;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        throw new LockTimeoutError(`lock '${name}' not acquired within ${timeoutMs} ms: held by pid ${Atomics.load(lock.owner, OWNER_PID) || 'unknown'}`, {
          data: { lock: name, holder: Atomics.load(lock.owner, OWNER_PID) },
        });
      }
      if (await lock.semaphore.wait(Math.max(1, Math.min(WAIT_SLICE_MS, Math.ceil(remaining))))) return this.take(name, lock);
    }
  }

  /** Runs `work` holding the lock, and releases it however `work` ends. */
  async withLock<T>(name: string, work: () => T | Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
    const handle = await this.acquire(name, options);
    try {
      return await work();
    } finally {
      handle.release();
    }
  }

  /** Who holds `name` now (pid), or 0. */
  holder(name: string): number {
    return Atomics.load(this.open(name).owner, OWNER_PID);
  }

  /** Removes a lock's semaphore and owner record (for `hostmesh down` and tests); holders keep theirs open. False: none of this user's was there. */
  remove(name: string): boolean {
    this.locks.get(name)?.semaphore.close();
    this.locks.get(name)?.segment.close();
    this.locks.delete(name);
    const semaphore = this.dir.objectName(`lock.${name}`).slice(1);
    const removedSemaphore = unlinkOwnShmEntry(`sem.${semaphore}`);
    return unlinkOwnShmEntry(`${semaphore}.owner`) || removedSemaphore;
  }

  /** Removes every lock of the namespace (its semaphores and owner records): for a deployment that is down. */
  removeAll(): string[] {
    const prefix = `${this.dir.objectPrefix()}lock.`;
    const names = new Set<string>();
    for (const entry of readdirSync('/dev/shm')) {
      const name = entry.startsWith('sem.') ? entry.slice(4) : entry;
      if (!name.startsWith(prefix)) continue;
      names.add(name.slice(prefix.length).replace(/\.owner$/, ''));
    }
    return [...names].filter((name) => this.remove(name));
  }

  close(): void {
    for (const lock of this.locks.values()) {
      lock.semaphore.close();
      lock.segment.close();
    }
    this.locks.clear();
  }

  private take(name: string, lock: Lock): LockHandle {
    const start = ownProcessStartTime();
    Atomics.store(lock.owner, OWNER_START_LOW, start % 2 ** 31);
    Atomics.store(lock.owner, OWNER_START_HIGH, Math.floor(start / 2 ** 31));
    Atomics.store(lock.owner, OWNER_PID, process.pid);
    let released = false;
    return {
      name,
      release: () => {
        if (released) throw new BootstrapError(`lock '${name}' released twice`);
        released = true;
        Atomics.store(lock.owner, OWNER_PID, 0);
        lock.semaphore.post();
      },
    };
  }

  private open(name: string): Lock {
    const existing = this.locks.get(name);
    if (existing) return existing;
    if (!NAME.test(name)) throw new BootstrapError(`lock name must be 1-64 letters, digits, '_' or '-', got ${JSON.stringify(name)}`);
    const semaphore = NamedSemaphore.create(this.dir.objectName(`lock.${name}`), 1);
    const recordName = this.dir.objectName(`lock.${name}.owner`);
    let segment: ShmSegment;
    try {
      // Ownerless: the record outlives whoever made it, like the semaphore.
      segment = ShmSegment.create(recordName, 64, { ownerless: true });
    } catch (error) {
      if (!PosixError.is(error, 'EEXIST')) throw error;
      segment = ShmSegment.open(recordName);
    }
    const data = segment.data;
    const lock = { semaphore, segment, owner: new Int32Array(data.buffer, data.byteOffset, 16) };
    this.locks.set(name, lock);
    return lock;
  }
}

function readStart(owner: Int32Array): number {
  return Atomics.load(owner, OWNER_START_LOW) + Atomics.load(owner, OWNER_START_HIGH) * 2 ** 31;
}
