import { allTargets, fuzz } from './run';

// In npm test: a bounded slice of what `npm run fuzz` runs a million times per target. A fixed
// seed keeps a failure reproducible in CI; FUZZ_SEED explores other corners locally.
const seed = process.env.FUZZ_SEED === undefined ? 0x5eed : Number(process.env.FUZZ_SEED);
const RUNS = 5_000;

describe('fuzz targets (fast-check, a bounded run per target)', () => {
  const { targets, close } = allTargets();
  afterAll(close);

  it.each(targets.map((target) => [target.name, target] as const))(
    '%s: hostile input gives a typed error or a clean result, never a crash',
    (_name, target) => {
      const outcome = fuzz(target, RUNS, seed);
      expect(outcome.samples).toEqual([]);
      expect(outcome.crashes).toBe(0);
      expect(outcome.tried).toBe(RUNS);
      // Both sides of every target are reached: inputs it takes, and inputs it refuses.
      const refused = [...outcome.typed.values()].reduce((sum, count) => sum + count, 0);
      expect(outcome.clean).toBeGreaterThan(RUNS / 100);
      expect(refused).toBeGreaterThan(RUNS / 100);
    },
  );
});
