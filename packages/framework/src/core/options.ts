import { BootstrapError } from './errors/errors';

/**
 * Reads options and their HOSTMESH_* environment variables for the config and for each
 * transport plugin's own slice of it: every bad value fails as a BootstrapError naming the
 * option (or variable), the value and what was expected.
 */
export class OptionReader {
  constructor(readonly env: NodeJS.ProcessEnv) {}

  /** A number from the environment variable `name`, or undefined when it is unset or empty. */
  numberEnv(name: string): number | undefined {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value)) this.fail(name, raw, 'a number');
    return value;
  }

  /** `HOSTMESH_X=1` style switches. */
  flagEnv(name: string): boolean {
    return this.env[name] === '1';
  }

  /** A comma-separated list from the environment, trimmed, empty parts dropped. */
  listEnv(name: string): string[] | undefined {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return undefined;
    return raw
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean);
  }

  positive(option: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
    if (!Number.isFinite(value) || value <= 0 || value > max) this.fail(option, value, `a number in 1..${max}`);
    return value;
  }

  positiveInteger(option: string, value: number, max: number): number {
    if (!Number.isInteger(value) || value <= 0 || value > max) this.fail(option, value, `an integer in 1..${max}`);
    return value;
  }

  nonNegative(option: string, value: number, max: number): number {
    if (!Number.isInteger(value) || value < 0 || value > max) this.fail(option, value, `an integer in 0..${max}`);
    return value;
  }

  powerOfTwo(option: string, value: number): number {
    if (!Number.isInteger(value) || value < 4096 || value > 2 ** 30 || (value & (value - 1)) !== 0) {
      this.fail(option, value, 'a power of two from 4096 to 2^30');
    }
    return value;
  }

  fail(option: string, value: unknown, expected: string): never {
    throw new BootstrapError(`invalid option ${option}=${JSON.stringify(value)}: expected ${expected}`);
  }
}
