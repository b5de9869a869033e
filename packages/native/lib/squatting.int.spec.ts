import { spawnSync } from 'node:child_process';
import { chmodSync, fchmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { uniqueName } from './__fixtures__/child-process';
import { MessageQueue } from './mqueue';
import { NamedSemaphore } from './semaphore';
import { ShmSegment } from './shm-segment';

/**
 * Names another local user made first. /dev/shm and the mqueue namespace are writable by
 * everybody, so a name can be taken before hostmesh creates it; the addon must then refuse
 * the object (it checks the descriptor it is about to use) rather than share it with that
 * user. The squatter is a real process of uid 65534 using the C library's own calls.
 */
const SQUAT = join(__dirname, '__fixtures__', 'squat.py');
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0 ? describe : describe.skip;

asRoot('objects whose name another user took first (as root; the squatter runs as uid 65534)', () => {
  const made: string[] = [];
  afterAll(() => {
    for (const name of made) {
      rmSync(`/dev/shm${name}`, { force: true });
      rmSync(`/dev/shm/sem.${name.slice(1)}`, { force: true });
      try {
        MessageQueue.unlink(name);
      } catch {
        // not a queue, or gone
      }
    }
  });
  const names = (label: string) => {
    const list = { sem: uniqueName(`${label}-sem`), mq: uniqueName(`${label}-mq`), shm: uniqueName(`${label}-shm`) };
    made.push(...Object.values(list));
    return list;
  };

  it('refuses a semaphore, a queue and a segment that uid 65534 created 0666 under its names, naming that owner', () => {
    const name = names('squatted');
    const squat = spawnSync('python3', [SQUAT, `sem:${name.sem}`, `mq:${name.mq}`, `shm:${name.shm}`], {
      uid: NOBODY,
      gid: NOBODY,
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect({ status: squat.status, stdout: squat.stdout, stderr: squat.stderr }).toEqual({ status: 0, stdout: 'squatted\n', stderr: '' });

    const refused = (what: string) =>
      expect.objectContaining({ code: 'EACCES', message: expect.stringContaining(`${what} (owned by another user: uid ${NOBODY}`) });
    expect(() => NamedSemaphore.create(name.sem, 1)).toThrow(refused('sem_open'));
    expect(() => NamedSemaphore.open(name.sem)).toThrow(refused('sem_open'));
    expect(() => MessageQueue.create(name.mq, { maxMessages: 4, messageSize: 64 })).toThrow(refused('mq_open'));
    expect(() => MessageQueue.open(name.mq)).toThrow(refused('mq_open'));
    expect(() => ShmSegment.open(name.shm)).toThrow(refused('shm_open'));
    // Created exclusively, the names are simply taken.
    expect(() => NamedSemaphore.create(name.sem, 1, true)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => ShmSegment.create(name.shm, 64)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
  });

  it('refuses its own objects once they are opened up to everybody (mode 0666)', () => {
    const name = names('widened');
    NamedSemaphore.create(name.sem, 1, true).close();
    const queue = MessageQueue.create(name.mq, { maxMessages: 4, messageSize: 64, exclusive: true });
    ShmSegment.create(name.shm, 64).close();
    chmodSync(`/dev/shm/sem.${name.sem.slice(1)}`, 0o666);
    fchmodSync(queue.fd, 0o666);
    queue.close();
    chmodSync(`/dev/shm${name.shm}`, 0o666);

    const refused = (what: string) => expect.objectContaining({ code: 'EACCES', message: expect.stringContaining(`${what} (mode 0666 lets other users in`) });
    expect(() => NamedSemaphore.open(name.sem)).toThrow(refused('sem_open'));
    expect(() => NamedSemaphore.create(name.sem, 1)).toThrow(refused('sem_open'));
    expect(() => MessageQueue.open(name.mq)).toThrow(refused('mq_open'));
    expect(() => ShmSegment.open(name.shm)).toThrow(refused('shm_open'));
  });

  it('refuses a symbolic link planted under a semaphore name', () => {
    const name = names('linked');
    const squat = spawnSync('ln', ['-s', '/dev/null', `/dev/shm/sem.${name.sem.slice(1)}`], { uid: NOBODY, gid: NOBODY });
    expect(squat.status).toBe(0);
    expect(() => NamedSemaphore.create(name.sem, 1)).toThrow(expect.objectContaining({ code: 'EACCES', message: expect.stringContaining('a symbolic link') }));
  });
});
