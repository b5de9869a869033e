import { pluginOf } from '../plugins/transport-plugins';
import { inject, injectable } from 'inversify';
import { ownProcessStartTime } from '@hostmesh/native';
import { BootstrapError, QueueFullError, ServiceUnavailableError } from '../core/errors/errors';
import { eventDefinition, namedEvent, type EventDefinition } from '../metadata/explorer';
import { packableEvent } from './packable-event';
import { routeId } from '../protocol/route-id';
import type { TransportKind } from '../metadata/types';
import { RpcClientFactory } from '../client/rpc-client-factory';
import type { RpcClient } from '../rpc/rpc-client';
import { endSpan, startProducerSpan, traceHeaders, tracing } from '../rpc/tracing';
import { CallContext, propagateCallContext } from '../contracts/call-context';
import type { CallMetadata } from '../protocol/metadata';
import { MESH_CONFIG, type MeshConfig } from '../config/config';
import { ServiceRegistry } from '../discovery/service-registry';
import type { TransportAddress } from '../transports/contract/transport';
import { TransportRegistry } from '../transports/contract/transport-registry';

interface Subscriber {
  /** `service@instance` for per-instance connections, `service` for a durable queue. */
  key: string;
  service: string;
  /** Set for a live instance; undefined for a service's durable queue. */
  instance: string | undefined;
  /** Set for an instance on another host, heard of over NATS. */
  host?: string;
  kind: TransportKind;
  /** Filled on first use, so a publish does no lookup. */
  client?: RpcClient;
  /** A durable queue split among the service's replicas for events with an ordering key (see MqueueTransport). */
  partitions?: number;
  /** Which partition this is, for one made from a durable subscriber. */
  partition?: number;
  /** Its partitions, made on first use. */
  parts?: Subscriber[];
}

export interface PublishOptions {
  /** How long to wait for a subscriber that cannot take the event right now (default: defaultTimeoutMs). */
  timeoutMs?: number;
}

const NOBODY: Subscriber[] = [];
const RESOLVED: Promise<void> = Promise.resolve();

/** How long a cached subscriber list is trusted without a registry change notice. */
const SUBSCRIBERS_TTL_MS = 1000;

/**
 * Publishes @EventType instances to every service that subscribes to them: the publisher
 * fans out. Durable subscriptions (message queues) are found in their records and get the
 * event even while their service is down; others go to each live instance found in the
 * registry. Every event carries an id (publisher + sequence) so subscribers can drop the
 * duplicates that at-least-once delivery may bring.
 */
@injectable('Singleton')
export class EventBus {
  private readonly clients = new Map<string, RpcClient>();
  private cache = new Map<string, Subscriber[]>();
  private cachedAt = -Infinity;
  private unwatch: (() => void) | null = null;
  private readonly publisherId = `${process.pid.toString(36)}.${ownProcessStartTime().toString(36)}`;
  private sequence = 0;

  constructor(
    @inject(MESH_CONFIG) private readonly config: MeshConfig,
    @inject(ServiceRegistry) private readonly registry: ServiceRegistry,
    @inject(TransportRegistry) private readonly transports: TransportRegistry,
    @inject(RpcClientFactory) private readonly rpcClients: RpcClientFactory,
  ) {
    // Events published from a handler carry its trace context: they must find the call they serve.
    propagateCallContext();
  }

  /**
   * Resolves once the event is handed to every subscriber's transport; rejects if one of
   * them cannot take it within the timeout (the others still get it). A full queue follows
   * the event type's `whenFull` policy.
   */
  publish(event: object, options?: PublishOptions): Promise<void> {
    if (typeof event !== 'object' || event === null) {
      return Promise.reject(new BootstrapError(`publish: expected an @EventType instance, got ${event === null ? 'null' : typeof event}`));
    }
    let definition: EventDefinition;
    try {
      definition = eventDefinition(event.constructor, 'publish');
    } catch (error) {
      return Promise.reject(error);
    }
    // Sequence numbers are taken now, so events keep the order publish() was called in.
    const body = [`${this.publisherId}.${(++this.sequence).toString(36)}`, event];
    const timeoutMs = options?.timeoutMs ?? this.config.defaultTimeoutMs;
    if (tracing()) return this.publishTraced(definition, body, timeoutMs);
    if (performance.now() - this.cachedAt <= SUBSCRIBERS_TTL_MS && this.unwatch !== null && this.refreshing === null) {
      return this.fanOut(definition, body, timeoutMs, this.listFor(definition.name, definition.broadcast));
    }
    return this.subscribersOf(definition.name, definition.broadcast).then((subscribers) => this.fanOut(definition, body, timeoutMs, subscribers));
  }

  /** A producer span around the fan-out, its context in every copy's metadata (a child of the call being served, if any). */
  private async publishTraced(definition: EventDefinition, body: unknown[], timeoutMs: number): Promise<void> {
    const parent = CallContext.current();
    const span = startProducerSpan(definition.name, parent?.trace);
    span.setAttribute('messaging.message.id', body[0] as string);
    try {
      const subscribers = await this.subscribersOf(definition.name, definition.broadcast);
      await this.fanOut(definition, body, timeoutMs, subscribers, traceHeaders(span, parent?.metadata));
      endSpan(span);
    } catch (error) {
      endSpan(span, error);
      throw error;
    }
  }

  /**
   * Publishes an event known only by name (the CLI's `hostmesh emit`): subscribers get it
   * as an instance of their own class for that name. Resolves with how many subscribers.
   */
  async publishNamed(name: string, payload: object, options: PublishOptions & { priority?: number } = {}): Promise<number> {
    const definition = namedEvent(name, options.priority ?? 0);
    const subscribers = await this.subscribersOf(definition.name);
    const body = [`${this.publisherId}.${(++this.sequence).toString(36)}`, payload];
    await this.fanOut(definition, body, options.timeoutMs ?? this.config.defaultTimeoutMs, subscribers);
    return subscribers.length;
  }

  private fanOut(definition: EventDefinition, body: unknown[], timeoutMs: number, subscribers: Subscriber[], headers?: CallMetadata): Promise<void> {
    if (subscribers.length === 0) return RESOLVED;
    if (definition.keyOf !== undefined) {
      let key: string;
      try {
        key = definition.keyOf(body[1] as object);
      } catch (error) {
        return Promise.reject(error);
      }
      subscribers = this.partitionsFor(key, subscribers);
    }
    try {
      body[1] = packableEvent(body[1] as object, definition);
    } catch (error) {
      // Its own getters run in the copy: what they throw is the publish's rejection, as in encoding.
      return Promise.reject(error);
    }
    if (subscribers.length === 1) return this.clientFor(subscribers[0]!).emit(definition.id, definition.name, body, timeoutMs, definition.whenFull, headers);
    return this.fanOutToMany(definition, body, timeoutMs, subscribers, headers);
  }

  private async fanOutToMany(
    definition: EventDefinition,
    body: unknown[],
    timeoutMs: number,
    subscribers: Subscriber[],
    headers?: CallMetadata,
  ): Promise<void> {
    const emit = (subscriber: Subscriber) => this.clientFor(subscriber).emit(definition.id, definition.name, body, timeoutMs, definition.whenFull, headers);
    const results = await Promise.allSettled(subscribers.map(emit));
    const failed = results.flatMap((result, i) => (result.status === 'rejected' ? [`${subscribers[i]!.key}: ${(result.reason as Error).message}`] : []));
    if (failed.length > 0) {
      const first = (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as Error;
      const ErrorClass = first instanceof QueueFullError ? QueueFullError : ServiceUnavailableError;
      throw new ErrorClass(`${definition.name} reached ${results.length - failed.length} of ${results.length} subscribers; ${failed.join('; ')}`);
    }
  }

  /**
   * Where an event with `key` goes: a service whose queue is split among its replicas gets it
   * in partition FNV-1a(key) mod partitions, so one replica takes every event of a key, in
   * the order published. The others as they are.
   */
  private partitionsFor(key: string, subscribers: Subscriber[]): Subscriber[] {
    if (!subscribers.some((s) => s.partitions !== undefined)) return subscribers;
    const hash = routeId(key);
    return subscribers.map((subscriber) => {
      if (subscriber.partitions === undefined) return subscriber;
      const p = hash % subscriber.partitions;
      subscriber.parts ??= [];
      return (subscriber.parts[p] ??= {
        ...subscriber,
        key: `${subscriber.key}.p${p}`,
        partitions: undefined,
        partition: p,
        parts: undefined,
        client: undefined,
      });
    });
  }

  /**
   * One refresh at a time, shared by every publish waiting for it: publishes made in order
   * resume in order, so events leave in the order they were published.
   */
  private async subscribersOf(event: string, broadcast = false): Promise<Subscriber[]> {
    this.unwatch ??= this.registry.watch(() => {
      this.cachedAt = -Infinity;
    });
    if (performance.now() - this.cachedAt > SUBSCRIBERS_TTL_MS) {
      this.refreshing ??= this.refresh().finally(() => {
        this.refreshing = null;
      });
      await this.refreshing;
    }
    return this.listFor(event, broadcast);
  }

  /**
   * Who gets `event`: a broadcast (the class says so, or a subscriber announced it) goes to
   * every running instance of each subscribing service; others to each service once (its queue).
   */
  private listFor(event: string, broadcast: boolean): Subscriber[] {
    if (broadcast || this.broadcastEvents.has(event)) return this.everyInstance.get(event) ?? NOBODY;
    return this.cache.get(event) ?? NOBODY;
  }

  private everyInstance = new Map<string, Subscriber[]>();
  private broadcastEvents = new Set<string>();

  private refreshing: Promise<void> | null = null;

  private async refresh(): Promise<void> {
    const fresh = new Map<string, Subscriber[]>();
    const add = (name: string, subscriber: Subscriber) => fresh.set(name, [...(fresh.get(name) ?? []), subscriber]);
    /** `service\0event` of the durable subscriptions with a queue here. */
    const durable = new Set<string>();
    for (const record of await this.registry.listSubscriptions()) {
      for (const name of record.events) {
        durable.add(`${record.service}\0${name}`);
        const partitions = pluginOf(record.address.kind)?.partitionsOf?.(record.address) ?? 0;
        add(name, { key: record.service, service: record.service, instance: undefined, kind: record.address.kind, ...(partitions > 1 ? { partitions } : {}) });
      }
    }
    const remoteDurable = new Set<string>();
    const every = new Map<string, Subscriber[]>();
    const broadcasts = new Set<string>();
    for (const descriptor of await this.registry.listAll()) {
      const elsewhere = descriptor.remote?.via === 'nats' ? descriptor.host : undefined;
      for (const subscription of descriptor.subscriptions) {
        // A broadcast reaches each instance on its own listener: a Unix socket here, NATS elsewhere.
        if (elsewhere !== undefined || descriptor.listeners.uds !== undefined) {
          const key = `${descriptor.service}@${descriptor.instance}${elsewhere !== undefined ? `@${elsewhere}/${descriptor.pid}` : ''}`;
          const kind = elsewhere !== undefined ? 'nats' : 'uds';
          every.set(subscription.event, [
            ...(every.get(subscription.event) ?? []),
            { key, service: descriptor.service, instance: descriptor.instance, host: elsewhere, kind },
          ]);
        }
        if (subscription.broadcast === true) broadcasts.add(subscription.event);
        if (pluginOf(subscription.binding)?.capabilities.durable) {
          // Here a durable subscription is reached through its queue. On another host its
          // queue is out of reach: NATS carries the event (at most once) to one running
          // instance, as the queue would deliver it once per service, and not at all when
          // the service has a queue here too.
          const once = `${descriptor.service}\0${subscription.event}`;
          if (elsewhere === undefined || durable.has(once) || remoteDurable.has(once)) continue;
          remoteDurable.add(once);
        }
        // A binding this process cannot use, or one that reaches only the subscriber's own process, goes over its Unix socket.
        const usable =
          this.transports.has(subscription.binding) && (descriptor.pid === process.pid || !pluginOf(subscription.binding)?.capabilities.sameProcessOnly);
        const kind = elsewhere !== undefined ? 'nats' : usable ? subscription.binding : 'uds';
        const key = `${descriptor.service}@${descriptor.instance}${elsewhere !== undefined ? `@${elsewhere}/${descriptor.pid}` : ''}`;
        add(subscription.event, { key, service: descriptor.service, instance: descriptor.instance, host: elsewhere, kind });
      }
    }
    this.cache = fresh;
    this.everyInstance = every;
    this.broadcastEvents = broadcasts;
    this.cachedAt = performance.now();
  }

  private clientFor(subscriber: Subscriber): RpcClient {
    if (subscriber.client !== undefined) return subscriber.client;
    const key = `${subscriber.key}:${subscriber.kind}`;
    let client = this.clients.get(key);
    if (client === undefined) {
      client = this.rpcClients.create(subscriber.key, this.transports.resolve(subscriber.kind), () => this.addressOf(subscriber));
      this.clients.set(key, client);
    }
    subscriber.client = client;
    return client;
  }

  private async addressOf(subscriber: Subscriber): Promise<TransportAddress> {
    if (subscriber.instance === undefined) {
      const record = (await this.registry.listSubscriptions()).find((r) => r.service === subscriber.service);
      const split = record === undefined ? undefined : pluginOf(record.address.kind)?.partitionAddress;
      if (record && subscriber.partition !== undefined && split !== undefined) return split(record.address, subscriber.partition);
      if (record) return record.address;
      throw new ServiceUnavailableError(`${subscriber.service} no longer subscribes durably`);
    }
    const descriptor = await this.registry.findAnywhere(subscriber.service, subscriber.instance, subscriber.host);
    const address = descriptor?.listeners[subscriber.kind];
    if (!address) throw new ServiceUnavailableError(`subscriber ${subscriber.key} is not running`);
    return address;
  }

  close(): void {
    this.unwatch?.();
    this.unwatch = null;
  }
}
