import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { objectName, userPrefix } from '@hostmesh/native';
import { RuntimeDirError } from './errors/errors';

const OBJECT_KEY = /^[0-9a-f]{16}$/;

/** Longest Unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * The per-user, per-namespace directory that holds the registry and socket files.
 * Created 0700 and checked to be owned by this user, so nobody else can plant or read
 * anything in it.
 */
export class RuntimeDir {
  readonly root: string;
  readonly registryDir: string;
  readonly socketDir: string;
  readonly subscriptionDir: string;

  /** Use `RuntimeDir.open`, which creates and checks the directories. */
  constructor(
    readonly base: string,
    readonly namespace: string,
  ) {
    this.root = join(base, namespace);
    this.registryDir = join(this.root, 'registry');
    this.socketDir = join(this.root, 'sock');
    this.subscriptionDir = join(this.root, 'subscriptions');
  }

  static defaultBase(env: NodeJS.ProcessEnv = process.env): string {
    if (env.HOSTMESH_RUNTIME_DIR) return env.HOSTMESH_RUNTIME_DIR;
    if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'hostmesh');
    return join(tmpdir(), `hostmesh-${uid()}`);
  }

  static open(base: string | undefined, namespace: string): RuntimeDir {
    const dir = new RuntimeDir(base ?? RuntimeDir.defaultBase(), namespace);
    // The base may be listable (e.g. 0755) but never writable by others; everything
    // holding kernel objects or descriptors is private to this user.
    ensureOwnedDir(dir.base, 0o022);
    for (const path of [dir.root, dir.registryDir, dir.socketDir, dir.subscriptionDir]) ensureOwnedDir(path, 0o077);
    return dir;
  }

  private key: string | undefined;

  /**
   * The kernel object name of `name` in this deployment: `/hm.<uid>.<namespace>.<key>.<name>`.
   * /dev/shm and the mqueue namespace are open to every user, so a predictable name could be
   * taken first by someone else; the key is random, made once per namespace and kept in
   * this 0700 directory (`objects.key`), so only this user's processes can know the names.
   */
  objectName(name: string): string {
    return objectName(this.objectScope(), name);
  }

  /** The namespace part of this deployment's object names: `<namespace>.<key>`. */
  objectScope(): string {
    this.key ??= readOrCreateKey(join(this.root, 'objects.key'));
    return `${this.namespace}.${this.key}`;
  }

  /**
   * Forgets the object key, so the next run names its objects anew. Names can be read by any
   * user (ls /dev/shm) while the objects exist; a deployment that stopped cleanly, and left
   * nothing named, renews the key so names seen during one run are of no use against the next.
   */
  renewObjectKey(): void {
    this.key = undefined;
    try {
      unlinkSync(join(this.root, 'objects.key'));
    } catch {
      // none yet
    }
  }

  /** What every object name of this deployment starts with (no leading '/'). */
  objectPrefix(): string {
    return `${userPrefix()}${this.objectScope()}.`;
  }

  descriptorPath(service: string, instance: string): string {
    return join(this.registryDir, `${service}@${instance}.json`);
  }

  /** Where SIGUSR2 diagnostic snapshots are written. */
  get diagnosticsDir(): string {
    return join(this.root, 'diag');
  }

  /** Where a service instance's shell endpoints (JSON-lines FIFOs) live. */
  pipeDir(service: string, instance: string): string {
    return join(this.root, 'pipes', `${service}@${instance}`);
  }

  subscriptionPath(service: string): string {
    return join(this.subscriptionDir, `${service}.json`);
  }

  socketPath(service: string, instance: string): string {
    const path = join(this.socketDir, `${service}@${instance}.sock`);
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      throw new RuntimeDirError(
        `socket path ${path} is ${Buffer.byteLength(path)} bytes, over the kernel's ${MAX_SOCKET_PATH}: set HOSTMESH_RUNTIME_DIR to a shorter directory`,
      );
    }
    return path;
  }
}

/** Reads the namespace's object key, creating it whole (written aside, then linked) if there is none. */
function readOrCreateKey(path: string): string {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, randomBytes(8).toString('hex'));
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new RuntimeDirError(`cannot create ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    unlinkSync(temporary);
  }
  const reader = openSync(path, 'r');
  try {
    const stat = fstatSync(reader);
    const key = readFileSync(reader, 'utf8');
    if (!stat.isFile() || stat.uid !== uid() || (stat.mode & 0o077) !== 0 || !OBJECT_KEY.test(key)) {
      throw new RuntimeDirError(
        `${path} is not this user's private object key (16 hex digits, mode 0600): remove it; the deployment's kernel objects then get new names`,
      );
    }
    return key;
  } finally {
    closeSync(reader);
  }
}

function uid(): number {
  return process.getuid?.() ?? 0;
}

function ensureOwnedDir(path: string, forbiddenModeBits: number): void {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new RuntimeDirError(`cannot create runtime directory ${path}: ${(error as Error).message}`, { cause: error });
  }
  const stat = lstatSync(path);
  if (!stat.isDirectory()) throw new RuntimeDirError(`runtime directory ${path} is not a directory (a symlink?): remove it`);
  if (stat.uid !== uid()) {
    throw new RuntimeDirError(`runtime directory ${path} belongs to uid ${stat.uid}, not ${uid()}: remove it or set HOSTMESH_RUNTIME_DIR`);
  }
  if ((stat.mode & forbiddenModeBits) !== 0) {
    throw new RuntimeDirError(
      `runtime directory ${path} is open to other users (mode ${(stat.mode & 0o777).toString(8)}): chmod 700 it or set HOSTMESH_RUNTIME_DIR`,
    );
  }
}
