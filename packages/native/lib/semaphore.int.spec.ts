import { startFixture, uniqueName } from './__fixtures__/child-process';
import { PosixError } from './posix-error';
import { NamedSemaphore } from './semaphore';

describe('NamedSemaphore', () => {
  const names: string[] = [];
  const create = (label: string, value: number) => {
    const name = uniqueName(label);
    names.push(name);
    return NamedSemaphore.create(name, value, true);
  };
  afterAll(() =>
    names.forEach((name) => {
      try {
        NamedSemaphore.unlink(name);
      } catch {
        // gone
      }
    }),
  );

  it('waits, without blocking the event loop, until another process posts', async () => {
    const semaphore = create('handoff', 1);
    const child = startFixture('sem-holder', [semaphore.name, '300']);
    await child.waitFor('holding');
    expect(semaphore.tryWait()).toBe(false);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const started = Date.now();
    await expect(semaphore.wait(5000)).resolves.toBe(true);
    clearInterval(ticker);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(ticks).toBeGreaterThan(5); // the loop kept turning while we waited
    await child.waitFor('released');
    semaphore.post();
    semaphore.close();
  });

  it('gives up after the timeout', async () => {
    const semaphore = create('timeout', 0);
    const started = Date.now();
    await expect(semaphore.wait(50)).resolves.toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(semaphore.value).toBe(0);
    semaphore.close();
  });

  it('counts posts and takes', () => {
    const semaphore = create('count', 0);
    semaphore.post();
    semaphore.post();
    expect(semaphore.value).toBe(2);
    expect(semaphore.tryWait()).toBe(true);
    expect(semaphore.value).toBe(1);
    semaphore.close();
  });

  it('refuses to create one that exists when asked to be exclusive', () => {
    const semaphore = create('exclusive', 1);
    expect(() => NamedSemaphore.create(semaphore.name, 1, true)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => NamedSemaphore.open(uniqueName('none'))).toThrow(PosixError);
    semaphore.close();
  });
});
