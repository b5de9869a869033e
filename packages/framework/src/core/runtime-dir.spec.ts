import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeDirError } from './errors/errors';
import { spawn } from 'node:child_process';
import { typescriptExecArgv } from '../testing/spawn-service';
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

  it('names kernel objects with a random key made once per namespace and kept 0600 in its directory', () => {
    const first = RuntimeDir.open(temp.path, 'keyed');
    const name = first.objectName('ev.monitor');
    expect(name).toMatch(new RegExp(`^/hm\\.${process.getuid!()}\\.keyed\\.[0-9a-f]{16}\\.ev\\.monitor$`));
    // Every process of the deployment reads the same key; another namespace gets its own.
    expect(RuntimeDir.open(temp.path, 'keyed').objectName('ev.monitor')).toBe(name);
    expect(RuntimeDir.open(temp.path, 'other').objectName('ev.monitor')).not.toBe(name.replace('.keyed.', '.other.'));
    const key = join(first.root, 'objects.key');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(first.objectPrefix()).toBe(`hm.${process.getuid!()}.keyed.${readFileSync(key, 'utf8')}.`);
  });

  it('makes one key when many processes of a deployment start at once', async () => {
    const script = `const { RuntimeDir } = require(${JSON.stringify(join(__dirname, 'runtime-dir.ts'))}); process.stdout.write(RuntimeDir.open(process.argv[1], 'racing').objectName('x'))`;
    const names = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<string>((resolve) => {
            const child = spawn(process.execPath, [...typescriptExecArgv(), '-e', script, temp.path]);
            let out = '';
            child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
            child.once('exit', () => resolve(out));
          }),
      ),
    );
    expect(new Set(names).size).toBe(1);
    expect(names[0]).toMatch(/\.racing\.[0-9a-f]{16}\.x$/);
  });

  it('refuses an object key that is not private or not a key, saying what to do', () => {
    const dir = RuntimeDir.open(temp.path, 'badkey');
    writeFileSync(join(dir.root, 'objects.key'), 'guessable', { mode: 0o600 });
    expect(() => dir.objectName('x')).toThrow(/objects\.key is not this user's private object key \(16 hex digits, mode 0600\): remove it/);
    const loose = RuntimeDir.open(temp.path, 'loosekey');
    writeFileSync(join(loose.root, 'objects.key'), '0123456789abcdef', { mode: 0o644 });
    chmodSync(join(loose.root, 'objects.key'), 0o644);
    expect(() => loose.objectName('x')).toThrow(RuntimeDirError);
  });
});
