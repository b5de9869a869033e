import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimeDirError } from '../errors/errors';

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
  constructor(readonly base: string, readonly namespace: string) {
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
