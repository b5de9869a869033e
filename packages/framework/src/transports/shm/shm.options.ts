import type { SpinOptions } from '@hostmesh/native';
import type { OptionReader } from '../../core/options';

/** Shared-memory rings: bytes per direction per connection (a power of two; default 1 MiB), spin policy. Env: HOSTMESH_SHM_RING_BYTES. */
export interface ShmOptionsInput {
  ringBytes?: number;
  spin?: SpinOptions;
}

export interface ShmOptions {
  ringBytes: number;
  spin: SpinOptions;
}

/** Injection token of the resolved ShmOptions. */
export const SHM_OPTIONS = Symbol.for('hostmesh:shm-options');

export function resolveShmOptions(input: ShmOptionsInput | undefined, read: OptionReader): ShmOptions {
  return {
    ringBytes: read.powerOfTwo('shm.ringBytes', input?.ringBytes ?? read.numberEnv('HOSTMESH_SHM_RING_BYTES') ?? 1 << 20),
    spin: input?.spin ?? {},
  };
}
