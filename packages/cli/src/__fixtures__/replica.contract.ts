import { defineContract } from '@hostmesh/framework';

export interface ReplicaApi {
  /** Idempotent: which instance answered, and the input back. */
  work(n: number): { instance: string; n: number };
}
export const Replicas = defineContract<ReplicaApi>('replicas');
