import { POOL_SLOT_BYTES, type SpinOptions } from '@hostmesh/native';
import type { OptionReader } from '../../core/options';
import type { ManifestLimit } from '../contract/plugin';

/**
 * The large-payload pool's default size per direction per connection: room for 64 MiB
 * payloads, or 100 in flight of 1 MiB. Its pages are taken only as payloads reach them.
 */
const DEFAULT_POOL_BYTES = 128 << 20;

/**
 * Shared-memory rings: bytes per direction per connection (a power of two; default 1 MiB),
 * spin policy, and the large-payload pool (bytes per direction per connection, whole 64 KiB
 * slots, 0 for none; default 128 MiB, its pages taken only as payloads reach them).
 * Env: HOSTMESH_SHM_RING_BYTES, HOSTMESH_SHM_POOL_BYTES.
 */
export interface ShmOptionsInput {
  ringBytes?: number;
  poolBytes?: number;
  spin?: SpinOptions;
}

export interface ShmOptions {
  ringBytes: number;
  poolBytes: number;
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
  shmPoolBytes: {
    env: 'HOSTMESH_SHM_POOL_BYTES',
    description: 'Bytes of each large-payload pool (one per direction per connection, taken as used): whole 64 KiB slots, 0 for none.',
    minimum: 0,
    maximum: 2 ** 36,
    multipleOf: POOL_SLOT_BYTES,
  },
} as const satisfies Record<string, ManifestLimit>;

/** Injection token of the resolved ShmOptions. */
export const SHM_OPTIONS = Symbol.for('hostmesh:shm-options');

export function resolveShmOptions(input: ShmOptionsInput | undefined, read: OptionReader): ShmOptions {
  return {
    ringBytes: read.powerOfTwo('shm.ringBytes', input?.ringBytes ?? read.numberEnv(SHM_LIMITS.shmRingBytes.env) ?? 1 << 20),
    poolBytes: poolBytes(input?.poolBytes ?? read.numberEnv(SHM_LIMITS.shmPoolBytes.env) ?? DEFAULT_POOL_BYTES, read),
    spin: input?.spin ?? {},
  };
}

function poolBytes(value: number, read: OptionReader): number {
  read.nonNegative('shm.poolBytes', value, SHM_LIMITS.shmPoolBytes.maximum);
  if (value % POOL_SLOT_BYTES !== 0) read.fail('shm.poolBytes', value, `a multiple of ${POOL_SLOT_BYTES} (the pool's slot size), or 0`);
  return value;
}
