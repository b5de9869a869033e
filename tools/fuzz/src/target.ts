import type fc from 'fast-check';

/** One thing to fuzz: how to make inputs, and what one input does to the code under test. */
export interface FuzzTarget<T = never> {
  name: string;
  arbitrary: fc.Arbitrary<T>;
  /** The error classes this code may throw on hostile input; anything else is a crash. */
  typed: ReadonlyArray<abstract new (...args: never[]) => Error>;
  /** Feeds one input; throws a typed error, returns, or (a crash) throws anything else. */
  run(input: T): void;
}

/** A broken invariant (out-of-bounds range, runaway loop, wrong result): always a crash. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

export function check(condition: boolean, what: string): void {
  if (!condition) throw new InvariantViolation(what);
}
