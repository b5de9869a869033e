import 'reflect-metadata';
import { bootstrap, Endpoint, Service } from '@hostmesh/framework';
import { Replicas, type ReplicaApi } from './replica.contract';

const instance = process.env.HOSTMESH_INSTANCE ?? '0';

/** A service for deployments with `replicas`: idempotent, so a caller may retry it on another replica. */
@Service(Replicas, { binding: 'shm' })
class ReplicaService implements ReplicaApi {
  @Endpoint({ idempotent: true })
  work(n: number): { instance: string; n: number } {
    return { instance, n };
  }
}

void bootstrap(ReplicaService);
