import { chmodSync, chownSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeDirError } from '../errors/errors';
import { tempRuntimeDir } from '../testing/temp-runtime';
import { RuntimeDir } from './runtime-dir';

describe('RuntimeDir', () => {
  const temp = tempRuntimeDir();
  afterAll(() => temp.remove());

  it('creates the namespace, registry and socket directories private to this user', () => {
    const dir = RuntimeDir.open(temp.path, 'fresh');
    for (const path of [dir.root, dir.registryDir, dir.socketDir]) {
      const stat = statSync(path);
      expect(stat.isDirectory()).toBe(true);
      expect(stat.mode & 0o777).toBe(0o700);
      expect(stat.uid).toBe(process.getuid!());
    }
    expect(dir.socketPath('pricing', '0')).toBe(join(temp.path, 'fresh', 'sock', 'pricing@0.sock'));
  });

  it('refuses a namespace directory that other users can enter', () => {
    mkdirSync(join(temp.path, 'open'));
    chmodSync(join(temp.path, 'open'), 0o755);
    expect(() => RuntimeDir.open(temp.path, 'open')).toThrow(RuntimeDirError);
    expect(() => RuntimeDir.open(temp.path, 'open')).toThrow(/is open to other users \(mode 755\)/);
  });

  it('refuses a base directory that other users can write to', () => {
    const shared = join(temp.path, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    expect(() => RuntimeDir.open(shared, 'ns')).toThrow(/runtime directory .*shared is open to other users \(mode 777\)/);
  });

  it('refuses a directory owned by another user', () => {
    const foreign = join(temp.path, 'foreign');
    mkdirSync(foreign, { mode: 0o700 });
    if (process.getuid!() === 0) {
      chownSync(foreign, 65534, 65534);
      expect(() => RuntimeDir.open(temp.path, 'foreign')).toThrow(/belongs to uid 65534/);
    } else {
      // Without root we cannot give a directory away; '/' already belongs to someone else.
      expect(() => RuntimeDir.open('/', 'hostmesh-test')).toThrow(RuntimeDirError);
    }
  });

  it('refuses a socket path longer than the kernel accepts, saying what to do', () => {
    const dir = RuntimeDir.open(temp.path, 'long');
    expect(() => dir.socketPath('s'.repeat(63), 'i'.repeat(60))).toThrow(/set HOSTMESH_RUNTIME_DIR to a shorter directory/);
  });
});
