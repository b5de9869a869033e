import type { SpinOptions } from '@hostmesh/native';
import type { OptionReader } from '../../core/options';
import type { ManifestLimit } from '../contract/plugin';

/** Shared-memory rings: bytes per direction per connection (a power of two; default 1 MiB), spin policy. Env: HOSTMESH_SHM_RING_BYTES. */
export interface ShmOptionsInput {
  ringBytes?: number;
  spin?: SpinOptions;
}

export interface ShmOptions {
  ringBytes: number;
  spin: SpinOptions;
}

/** What a manifest may set per service (`limits.shmRingBytes`), and the variable that carries it. */
export const SHM_LIMITS = {
  shmRingBytes: {
    env: 'HOSTMESH_SHM_RING_BYTES',
    description: 'Bytes of each shared-memory ring (one per direction per connection): a power of two.',
    minimum: 4096,
    maximum: 2 ** 30,
    powerOfTwo: true,
  },
} as const satisfies Record<string, ManifestLimit>;

/** Injection token of the resolved ShmOptions. */
export const SHM_OPTIONS = Symbol.for('hostmesh:shm-options');

export function resolveShmOptions(input: ShmOptionsInput | undefined, read: OptionReader): ShmOptions {
  return {
    ringBytes: read.powerOfTwo('shm.ringBytes', input?.ringBytes ?? read.numberEnv(SHM_LIMITS.shmRingBytes.env) ?? 1 << 20),
    spin: input?.spin ?? {},
  };
}
