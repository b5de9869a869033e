/** A delivery waiting for its key's lane; `run` calls `done` once when its handlers have settled. */
export type LaneTask = (done: () => void) => void;

/**
 * Per-key ordering of event handling in one service instance: a task runs once every task
 * queued before it under the same key has called its `done`. Keys run independently. A
 * lane exists only while it has work. On an event queue the journal bounds what waits
 * (its slots); on a socket, what the publishers send (see docs/resilience.md).
 */
export class KeyLanes {
  /** `onError`: a task that threw (it counts as done); the lane goes on. */
  constructor(private readonly onError: (error: unknown) => void = () => {}) {}

  /** Per busy key, the tasks waiting behind the running one. */
  private readonly waiting = new Map<string, Lane>();

  run(key: string, task: LaneTask): void {
    const lane = this.waiting.get(key);
    if (lane !== undefined) {
      lane.tasks.push(task);
      return;
    }
    this.waiting.set(key, { tasks: [], head: 0 });
    this.start(key, task);
  }

  /** Keys with a task running. */
  get busy(): number {
    return this.waiting.size;
  }

  /** Runs `task`, then the tasks behind it as long as they finish at once (a loop, not recursion, for long lanes of synchronous handlers). */
  private start(key: string, first: LaneTask): void {
    for (let task: LaneTask | undefined = first; task !== undefined; task = this.take(key)) {
      let finished = false;
      let returned = false;
      const done = () => {
        if (finished) return;
        finished = true;
        if (!returned) return;
        const next = this.take(key);
        if (next !== undefined) this.start(key, next);
      };
      try {
        task(done);
      } catch (error) {
        finished = true;
        this.onError(error);
      }
      returned = true;
      if (!finished) break;
    }
  }

  /** The next task of `key`'s lane; the lane ends when none waits. */
  private take(key: string): LaneTask | undefined {
    const lane = this.waiting.get(key)!;
    if (lane.head === lane.tasks.length) {
      this.waiting.delete(key);
      return undefined;
    }
    const task = lane.tasks[lane.head]!;
    lane.tasks[lane.head++] = undefined!;
    // Taken from the front by index (shift() would make a long lane quadratic); the array is compacted now and then.
    if (lane.head >= 1024 && lane.head * 2 >= lane.tasks.length) {
      lane.tasks.splice(0, lane.head);
      lane.head = 0;
    }
    return task;
  }
}

interface Lane {
  tasks: LaneTask[];
  /** The next task to run is `tasks[head]`. */
  head: number;
}
