import { RuntimeDir } from '@hostmesh/framework';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempRuntimeDir } from '@hostmesh/framework/testing';
import { hostmesh, writeManifest } from '../__fixtures__/cli';

/**
 * Another local user takes a deployment's kernel object names before it starts. Names carry
 * a random key kept in the 0700 runtime directory, so a stranger cannot guess them; this
 * test plays one who learned them anyway (root reads the key for it) and creates the lock's
 * semaphore, the monitor's event queue and its in-flight journal as uid 65534, mode 0666,
 * with the C library's own calls. `up` must refuse them, say so, exit 1, and never use the
 * lock.
 */
const QUOTES = join(__dirname, '..', '..', '..', '..', 'examples', 'quotes');
const SQUAT = join(dirname(require.resolve('@hostmesh/native/package.json')), 'lib', '__fixtures__', 'squat.py');
const NOBODY = 65534;

(process.getuid?.() === 0 ? describe : describe.skip)('hostmesh up over names another user took first (as root; the squatter is uid 65534)', () => {
  const runtime = tempRuntimeDir();
  const namespace = `squat-${process.pid}`;
  const env = { HOSTMESH_RUNTIME_DIR: runtime.path, NO_COLOR: '1' };
  const squatted: string[] = [];
  afterAll(() => {
    // The squatter's objects are not ours (cleanup leaves them alone): root removes them by name.
    for (const name of squatted) {
      spawnSync('rm', ['-f', `/dev/shm${name}`, `/dev/shm/sem.${name.slice(1)}`]);
      spawnSync('python3', ['-c', `import ctypes; ctypes.CDLL(None).mq_unlink(b"${name}")`]);
    }
    runtime.remove();
  });

  it('refuses them, names the object and its owner, stops the deployment and exits 1; the lock is never used', async () => {
    const dir = RuntimeDir.open(runtime.path, namespace);
    const lock = dir.objectName('lock.audit');
    const queue = dir.objectName('ev.monitor');
    squatted.push(lock, queue, dir.objectName('evjournal.monitor.0'));
    const squat = spawnSync('python3', [SQUAT, `sem:${lock}`, `mq:${queue}`, `shm:${squatted[2]}`], {
      uid: NOBODY,
      gid: NOBODY,
      encoding: 'utf8',
    });
    expect(squat.stdout).toBe('squatted\n');
    const semaphoreFile = `/dev/shm/sem.${lock.slice(1)}`;
    const before = readFileSync(semaphoreFile);

    const manifest = writeManifest(runtime.path, 'quotes.json', {
      namespace,
      restart: { initialDelayMs: 20, maxDelayMs: 100, maxRestarts: 2, windowMs: 10_000 },
      services: {
        pricing: { entry: join(QUOTES, 'dist', 'pricing.main.js') },
        monitor: { entry: join(QUOTES, 'dist', 'monitor.main.js'), dependsOn: ['pricing'] },
      },
    });
    const up = await hostmesh(['up', '--detach', manifest], env, 90_000);
    expect(up.code).toBe(1);
    expect(up.output).toMatch(/hostmesh: monitor@0 failed: exited with code \d+ at \S+; last error: /);
    expect(up.output).toContain(`mq_open (owned by another user: uid ${NOBODY}, mode 0666) ${queue}`);
    expect(up.output).toContain('hostmesh: the deployment was stopped');
    // Nobody waited on or posted the squatter's semaphore: its bytes are as it made them.
    expect(readFileSync(semaphoreFile).equals(before)).toBe(true);
  }, 120_000);

  it('keeps the names a stranger would guess apart from the ones the deployment uses', () => {
    const dir = RuntimeDir.open(runtime.path, namespace);
    expect(dir.objectName('ev.monitor')).toMatch(new RegExp(`^/hm\\.0\\.${namespace}\\.[0-9a-f]{16}\\.ev\\.monitor$`));
    expect(readFileSync(join(dir.root, 'objects.key'), 'utf8')).toMatch(/^[0-9a-f]{16}$/);
  });
});
