import { defineContract, EventType } from '@hostmesh/framework';

export interface ReplicaApi {
  /** Idempotent: which instance answered, and the input back. */
  work(n: number): { instance: string; n: number };
}
export const Replicas = defineContract<ReplicaApi>('replicas');

/** An event with an ordering key: the replicas split it into partitions, one each. */
@EventType('replicas.audit', { key: 'account' })
export class ReplicaAudit {
  constructor(readonly account: string) {}
}
