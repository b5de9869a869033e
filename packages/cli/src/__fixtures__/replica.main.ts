import 'reflect-metadata';
import { bootstrap, Endpoint, On, Service } from '@hostmesh/framework';
import { ReplicaAudit, Replicas, type ReplicaApi } from './replica.contract';

const instance = process.env.HOSTMESH_INSTANCE ?? '0';

/** A service for deployments with `replicas`: idempotent, so a caller may retry it on another replica. */
@Service(Replicas, { binding: 'shm' })
class ReplicaService implements ReplicaApi {
  @Endpoint({ idempotent: true })
  work(n: number): { instance: string; n: number } {
    return { instance, n };
  }

  @On(ReplicaAudit)
  onAudit(): void {}
}

void bootstrap(ReplicaService);
