import { inject, injectable } from 'inversify';
import type { Client } from '../contracts/client';
import { streamingEndpoints, type Contract } from '../contracts/contract';
import type { TransportKind } from '../metadata/types';
import { MESH_CONFIG, type MeshConfig } from '../config/config';
import { ServiceRegistry } from '../discovery/service-registry';
import type { TransportAddress } from '../transports/contract/transport';
import { TransportRegistry } from '../transports/contract/transport-registry';
import { createClientProxy } from './client-proxy';
import { RpcClientFactory } from './rpc-client-factory';
import { ServiceClient, type ReplicaView } from './service-client';

export interface ClientOptions {
  /** Use this mechanism for every call instead of the one the service announces. */
  binding?: TransportKind;
  /** Connect to this address instead of looking the service up in the registry. */
  address?: TransportAddress;
}

/** Builds typed clients; `@inject(clientOf(X))` goes through here. */
@injectable('Singleton')
export class ClientFactory {
  private readonly shared = new Map<string, Client<unknown>>();
  /** The shared service client of each service: what `replicas()` reports. */
  private readonly services = new Map<string, ServiceClient[]>();

  constructor(
    @inject(MESH_CONFIG) private readonly config: MeshConfig,
    @inject(ServiceRegistry) private readonly registry: ServiceRegistry,
    @inject(TransportRegistry) private readonly transports: TransportRegistry,
    @inject(RpcClientFactory) private readonly rpcClients: RpcClientFactory,
  ) {}

  create<Api>(contract: Contract<Api>, options?: ClientOptions): Client<Api> {
    if (!options) {
      const existing = this.shared.get(contract.name);
      if (existing) return existing as Client<Api>;
    }
    const service = new ServiceClient(
      contract.name,
      { config: this.config, registry: this.registry, transports: this.transports, rpcClients: this.rpcClients },
      options,
      contract.schemas,
    );
    // Only the shared client balances (one forced to a mechanism or address does not): it alone has a replica view.
    if (!options) this.services.set(contract.name, [service]);
    const client = createClientProxy<Api>(service, undefined, streamingEndpoints(contract as Contract<unknown>));
    if (!options) this.shared.set(contract.name, client as Client<unknown>);
    return client;
  }

  /**
   * What this process's clients see of the replicas of the services they call: per instance,
   * calls in flight, breaker state and ejections; and the retries made and refused (budget).
   */
  replicas(): Record<string, ReplicaView> {
    const out: Record<string, ReplicaView> = {};
    for (const [service, clients] of this.services) {
      const view: ReplicaView = { replicas: [], retries: 0, retriesRefused: 0 };
      for (const client of clients) {
        const seen = client.describeReplicas();
        view.replicas.push(...seen.replicas);
        view.retries += seen.retries;
        view.retriesRefused += seen.retriesRefused;
      }
      out[service] = view;
    }
    return out;
  }
}
