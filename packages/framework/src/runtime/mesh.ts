import type { Container } from 'inversify';
import { ClientFactory, type ClientOptions } from '../client/client-factory';
import { RpcClientFactory } from '../client/rpc-client-factory';
import type { Client } from '../contracts/client';
import type { Contract } from '../contracts/contract';
import { EventBus } from '../events/event-bus';
import { resolveConfig, type MeshConfig, type MeshOptions } from '../config/config';
import { createMeshContainer } from './container';
import { REMOTE_DIRECTORY, type RemoteDirectory } from '../discovery/remote-directory';
import { RuntimeDir } from '../core/runtime-dir';
import { ServiceRegistry } from '../discovery/service-registry';
import { SharedLock } from './shared-lock';

/**
 * A process's handle on the mesh without serving anything itself: scripts, tests, CLIs.
 *
 *   const mesh = Mesh.connect();
 *   const quote = await mesh.client(Pricing).quote({ symbol: 'ACME' });
 *   await mesh.close();
 */
export class Mesh {
  private closed = false;

  constructor(
    readonly container: Container,
    readonly config: MeshConfig,
  ) {}

  static connect(options: MeshOptions = {}): Mesh {
    const config = resolveConfig(options);
    return new Mesh(createMeshContainer(config, options, 'mesh'), config);
  }

  client<Api>(contract: Contract<Api>, options?: ClientOptions): Client<Api> {
    return this.container.get(ClientFactory).create(contract, options);
  }

  /** What this mesh's clients see of the replicas they call (breakers, calls in flight, retries). */
  replicas(): ReturnType<ClientFactory['replicas']> {
    return this.container.get(ClientFactory).replicas();
  }

  private eventBus: EventBus | undefined;

  /** The event bus (a singleton, looked up once: `mesh.events.publish(…)` is on the hot path). */
  get events(): EventBus {
    return (this.eventBus ??= this.container.get(EventBus));
  }

  /** Cross-process locks of this namespace. */
  get locks(): SharedLock {
    return this.container.get(SharedLock);
  }

  get runtimeDir(): RuntimeDir {
    return this.container.get(RuntimeDir);
  }

  get registry(): ServiceRegistry {
    return this.container.get(ServiceRegistry);
  }

  /** Waits for sent events and calls to finish (up to `timeoutMs`), then closes every connection. */
  async close(timeoutMs = 1000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const rpc = this.container.get(RpcClientFactory);
    await rpc.drain(timeoutMs);
    this.container.get(EventBus).close();
    this.container.get(SharedLock).close();
    await rpc.close();
    if (this.container.isBound(REMOTE_DIRECTORY)) await this.container.get<RemoteDirectory>(REMOTE_DIRECTORY).close();
  }
}
