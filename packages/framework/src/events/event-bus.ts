import { inject, injectable } from 'inversify';
import { BootstrapError, ServiceUnavailableError } from '../errors/errors';
import { eventDefinition } from '../metadata/explorer';
import type { TransportKind } from '../metadata/types';
import { RpcClientFactory } from '../client/rpc-client-factory';
import type { RpcClient } from '../rpc/rpc-client';
import { MESH_CONFIG, type MeshConfig } from '../runtime/config';
import { ServiceRegistry } from '../runtime/service-registry';
import { TransportRegistry } from '../transports/transport-registry';

interface Subscriber {
  key: string;
  service: string;
  instance: string;
  kind: TransportKind;
}

export interface PublishOptions {
  /** How long to wait for a subscriber that cannot be reached right now (default: defaultTimeoutMs). */
  timeoutMs?: number;
}

/** How long a cached subscriber list is trusted without a registry change notice. */
const SUBSCRIBERS_TTL_MS = 1000;

/**
 * Publishes @EventType instances to every live service that subscribes to them, as
 * found in the registry: the publisher fans out, one connection per subscriber instance.
 */
@injectable('Singleton')
export class EventBus {
  private readonly clients = new Map<string, RpcClient>();
  private cache = new Map<string, Subscriber[]>();
  private cachedAt = -Infinity;
  private unwatch: (() => void) | null = null;

  constructor(
    @inject(MESH_CONFIG) private readonly config: MeshConfig,
    @inject(ServiceRegistry) private readonly registry: ServiceRegistry,
    @inject(TransportRegistry) private readonly transports: TransportRegistry,
    @inject(RpcClientFactory) private readonly rpcClients: RpcClientFactory,
  ) {}

  /**
   * Resolves once the event is handed to every current subscriber's transport; rejects
   * if one of them cannot be reached within the timeout (the others still get it).
   */
  async publish(event: object, options: PublishOptions = {}): Promise<void> {
    if (typeof event !== 'object' || event === null) {
      throw new BootstrapError(`publish: expected an @EventType instance, got ${event === null ? 'null' : typeof event}`);
    }
    const definition = eventDefinition(event.constructor, 'publish');
    const subscribers = await this.subscribersOf(definition.name);
    const timeoutMs = options.timeoutMs ?? this.config.defaultTimeoutMs;
    if (subscribers.length === 1) {
      return this.clientFor(subscribers[0]!).emit(definition.id, definition.name, event, timeoutMs);
    }
    const results = await Promise.allSettled(
      subscribers.map((subscriber) => this.clientFor(subscriber).emit(definition.id, definition.name, event, timeoutMs)),
    );
    const failed = results.flatMap((result, i) => (result.status === 'rejected' ? [`${subscribers[i]!.key}: ${(result.reason as Error).message}`] : []));
    if (failed.length > 0) {
      throw new ServiceUnavailableError(`${definition.name} reached ${results.length - failed.length} of ${results.length} subscribers; ${failed.join('; ')}`);
    }
  }

  private async subscribersOf(event: string): Promise<Subscriber[]> {
    this.unwatch ??= this.registry.watch(() => {
      this.cachedAt = -Infinity;
    });
    if (performance.now() - this.cachedAt > SUBSCRIBERS_TTL_MS) {
      const fresh = new Map<string, Subscriber[]>();
      for (const descriptor of await this.registry.list()) {
        for (const subscription of descriptor.subscriptions) {
          const list = fresh.get(subscription.event) ?? [];
          const kind = this.transports.has(subscription.binding) ? subscription.binding : 'uds';
          list.push({ key: `${descriptor.service}@${descriptor.instance}`, service: descriptor.service, instance: descriptor.instance, kind });
          fresh.set(subscription.event, list);
        }
      }
      this.cache = fresh;
      this.cachedAt = performance.now();
    }
    return this.cache.get(event) ?? [];
  }

  private clientFor(subscriber: Subscriber): RpcClient {
    const key = `${subscriber.key}:${subscriber.kind}`;
    let client = this.clients.get(key);
    if (client === undefined) {
      client = this.rpcClients.create(subscriber.key, this.transports.resolve(subscriber.kind), async () => {
        const descriptor = await this.registry.find(subscriber.service, subscriber.instance);
        const address = descriptor?.listeners[subscriber.kind];
        if (!address) throw new ServiceUnavailableError(`subscriber ${subscriber.key} is not running`);
        return address;
      });
      this.clients.set(key, client);
    }
    return client;
  }

  close(): void {
    this.unwatch?.();
    this.unwatch = null;
  }
}
