import { KeyLanes } from './key-lanes';

describe('KeyLanes (per-key ordering of event handling)', () => {
  it("runs a key's tasks one after another, in order, while other keys run alongside", async () => {
    const lanes = new KeyLanes();
    const log: string[] = [];
    const finish: Array<() => void> = [];
    for (const [key, n] of [
      ['a', 1],
      ['b', 1],
      ['a', 2],
      ['a', 3],
      ['b', 2],
    ] as const) {
      lanes.run(key, (done) => {
        log.push(`${key}${n} start`);
        finish.push(() => {
          log.push(`${key}${n} end`);
          done();
        });
      });
    }
    // a1 and b1 run; a2, a3 and b2 wait behind them.
    expect(log).toEqual(['a1 start', 'b1 start']);
    expect(lanes.busy).toBe(2);
    finish.shift()!(); // a1 ends: a2 starts
    expect(log.slice(2)).toEqual(['a1 end', 'a2 start']);
    finish.shift()!(); // b1 ends: b2 starts
    finish.shift()!(); // a2 ends: a3 starts
    expect(log.slice(4)).toEqual(['b1 end', 'b2 start', 'a2 end', 'a3 start']);
    finish.shift()!();
    finish.shift()!();
    expect(lanes.busy).toBe(0);
  });

  it('runs a long lane of tasks that finish at once without growing the stack, and counts done once', () => {
    const lanes = new KeyLanes();
    let ran = 0;
    let release!: () => void;
    lanes.run('k', (done) => {
      release = done;
    });
    for (let i = 0; i < 100_000; i++) {
      lanes.run('k', (done) => {
        ran++;
        done();
        done(); // a second call is ignored
      });
    }
    release();
    expect(ran).toBe(100_000);
    expect(lanes.busy).toBe(0);
  });

  it('moves on past a task that throws, and reports the error to its owner, not to whoever ended the task before it', () => {
    const errors: unknown[] = [];
    const lanes = new KeyLanes((error) => errors.push(error));
    let after = false;
    let release!: () => void;
    lanes.run('k', (done) => {
      release = done;
    });
    lanes.run('k', () => {
      throw new Error('boom');
    });
    lanes.run('k', (done) => {
      after = true;
      done();
    });
    expect(() => release()).not.toThrow();
    expect((errors[0] as Error).message).toBe('boom');
    expect(after).toBe(true);
    expect(lanes.busy).toBe(0);
  });
});
