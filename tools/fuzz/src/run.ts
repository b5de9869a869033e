import fc from 'fast-check';
import { fifoLineTarget } from './fifo-line';
import { codecTarget, frameStreamTarget } from './frames';
import { ringTarget } from './ring';
import type { FuzzTarget } from './target';

/** Every target, and how to release what they hold (the ring's shared-memory segment). */
export function allTargets(): { targets: Array<FuzzTarget<unknown>>; close(): void } {
  const ring = ringTarget(`/hm.${process.getuid?.() ?? 0}.fuzz.${process.pid}`);
  return { targets: [frameStreamTarget, codecTarget(), ring, fifoLineTarget] as Array<FuzzTarget<unknown>>, close: () => ring.close() };
}

/** Per target: inputs tried, the typed errors by class, the crashes (any other exception or a broken invariant). */
export interface Outcome {
  tried: number;
  clean: number;
  typed: Map<string, number>;
  crashes: number;
  samples: string[];
}

export function fuzz<T>(target: FuzzTarget<T>, runs: number, seed: number): Outcome {
  const outcome: Outcome = { tried: 0, clean: 0, typed: new Map(), crashes: 0, samples: [] };
  // The property never fails: crashes are counted and sampled, so one run reports them all.
  fc.assert(
    fc.property(target.arbitrary, (input) => {
      outcome.tried++;
      try {
        target.run(input);
        outcome.clean++;
      } catch (error) {
        if (target.typed.some((cls) => error instanceof cls)) {
          const name = (error as Error).constructor.name;
          outcome.typed.set(name, (outcome.typed.get(name) ?? 0) + 1);
          return;
        }
        outcome.crashes++;
        if (outcome.samples.length < 5) {
          const shown = fc.stringify(input);
          outcome.samples.push(
            `${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n      input: ${shown.length > 300 ? `${shown.slice(0, 300)}…` : shown}`,
          );
        }
      }
    }),
    { numRuns: runs, seed },
  );
  return outcome;
}
