import type { OptionReader } from '../../core/options';

/** Rings between threads: bytes per direction per connection (a power of two; default 1 MiB). Env: HOSTMESH_THREAD_RING_BYTES. */
export interface ThreadOptionsInput {
  ringBytes?: number;
}

export interface ThreadOptions {
  ringBytes: number;
}

/** Injection token of the resolved ThreadOptions. */
export const THREAD_OPTIONS = Symbol.for('hostmesh:thread-options');

export function resolveThreadOptions(input: ThreadOptionsInput | undefined, read: OptionReader): ThreadOptions {
  return { ringBytes: read.powerOfTwo('thread.ringBytes', input?.ringBytes ?? read.numberEnv('HOSTMESH_THREAD_RING_BYTES') ?? 1 << 20) };
}
