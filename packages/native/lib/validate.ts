/** Argument checks done in JS before any native call, with exact TypeError messages. */
export function requireInteger(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${what} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) throw new RangeError(`${what} must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function requireBytes(value: unknown, what: string): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`${what} must be a Buffer or Uint8Array, got ${describe(value)}`);
}

export function requireFunction<T extends (...args: never[]) => unknown>(value: unknown, what: string): T {
  if (typeof value !== 'function') throw new TypeError(`${what} must be a function, got ${describe(value)}`);
  return value as T;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return typeof value === 'object' ? (value.constructor?.name ?? 'an object') : `${typeof value} ${String(value)}`;
}
