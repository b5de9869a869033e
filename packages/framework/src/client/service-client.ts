import { hostname } from 'node:os';
import { resolveBinding } from '../binding/binding-resolver';
import type { CallOptions } from '../contracts/client';
import { CallTimeoutError, ServiceUnavailableError } from '../core/errors/errors';
import type { TransportKind } from '../metadata/types';
import { endpointRoute, routeId } from '../protocol/route-id';
import { CallContext, propagateCallContext } from '../contracts/call-context';
import { endSpan, startClientSpan, traceHeaders, tracing } from '../rpc/tracing';
import type { RpcClient } from '../rpc/rpc-client';
import type { MeshConfig } from '../config/config';
import type { ServiceDescriptor } from '../discovery/descriptor';
import type { ServiceRegistry } from '../discovery/service-registry';
import type { TransportAddress } from '../transports/contract/transport';
import type { TransportRegistry } from '../transports/contract/transport-registry';
import type { Caller } from './client-proxy';
import type { ContractSchemas } from '../contracts/contract';
import { ReplicaSet } from './balancing/replica-set';
import { ResilientCaller, type ResilientRoute } from './balancing/resilient-caller';
import type { StreamReceiver } from '../rpc/streams/stream-receiver';
import { windowFrom } from '../rpc/streams/stream-window';
import { lateStream } from '../rpc/streams/late-stream';
import type { RpcClientFactory } from './rpc-client-factory';

/** What a nested call leaves of its parent's remaining time, for the reply to travel back. */
export const DEADLINE_MARGIN_MS = 2;

interface RouteRef extends ResilientRoute {
  timeoutMs: number | undefined;
  /** The contract's fallback for this endpoint: what a call that failed for good returns instead. */
  fallback: ((error: Error, ...args: unknown[]) => unknown) | undefined;
}

/** What callers see of a service's replicas (`ClientFactory.replicas()`). */
export interface ReplicaView {
  replicas: Array<{ instance: string; kind: TransportKind; inFlight: number; breaker: string; ejections: number }>;
  retries: number;
  retriesRefused: number;
}

export interface ServiceClientDeps {
  config: MeshConfig;
  registry: ServiceRegistry;
  transports: TransportRegistry;
  rpcClients: RpcClientFactory;
}

/**
 * Calls one service: learns from the registry which mechanism and timeout each endpoint
 * has, keeps one RpcClient per mechanism, and spreads reconnects over live instances.
 */
export class ServiceClient implements Caller {
  private readonly routes = new Map<string, RouteRef>();
  private readonly rpcs = new Map<TransportKind, RpcClient>();
  private descriptor: ServiceDescriptor | undefined;
  private lookedUp: Promise<void> | null = null;
  private nextInstance = 0;
  /** The live instances on this host, as the registry last said. */
  private members: ServiceDescriptor[] = [];
  private readonly sets = new Map<TransportKind, ReplicaSet>();
  /** Mechanisms with fewer than two instances here, as of the last lookup. */
  private readonly single = new Set<TransportKind>();
  private refreshing = false;
  private refreshAgain = false;
  readonly calls: ResilientCaller;

  constructor(
    readonly service: string,
    private readonly deps: ServiceClientDeps,
    /** Forces one mechanism, or one address, for every call. */
    private readonly forced?: { binding?: TransportKind; address?: TransportAddress },
    /** The contract's declarations: how each endpoint balances across replicas. */
    private readonly declared?: ContractSchemas,
  ) {
    // Handlers of this process may now call out: their calls must find the call they serve.
    propagateCallContext();
    this.calls = new ResilientCaller(
      (kind) => this.rpcFor(kind),
      (kind) => this.replicasOf(kind),
    );
    if (forced === undefined) deps.rpcClients.onRegistryChange(() => this.refreshMembers());
  }

  call(method: string, args: unknown[], options: CallOptions | undefined): Promise<unknown> {
    if (this.lookedUp === null && this.forced === undefined) {
      this.lookedUp = this.refresh().catch(() => undefined);
    }
    if (this.descriptor === undefined && this.forced === undefined) {
      return this.lookedUp!.then(() => this.send(method, args, options));
    }
    return this.send(method, args, options);
  }

  /**
   * A call that streams its results, returned at once: before the service is looked up, a
   * stream that starts the call once it is (the first `next()` waits for it).
   */
  stream(method: string, args: unknown[], options: CallOptions | undefined): AsyncIterableIterator<unknown> {
    if (this.descriptor !== undefined || this.forced !== undefined) return this.openStream(method, args, options);
    this.lookedUp ??= this.refresh().catch(() => undefined);
    return lateStream(this.lookedUp.then(() => this.openStream(method, args, options)));
  }

  private openStream(method: string, args: unknown[], options: CallOptions | undefined): StreamReceiver {
    const route = this.route(method);
    const openTimeoutMs = route.timeoutMs ?? this.deps.config.defaultTimeoutMs;
    let deadlineMs = options?.timeoutMs;
    let signal = options?.signal;
    const current = CallContext.current();
    const parent = current?.settled === false ? current : undefined;
    // A stream opened while serving a call ends with it: its deadline and its cancellation.
    if (parent !== undefined) {
      const left = parent.remainingMs - DEADLINE_MARGIN_MS;
      if (left !== Infinity && (deadlineMs === undefined || left < deadlineMs)) deadlineMs = Math.max(1, left);
      signal = signal === undefined ? parent.signal : AbortSignal.any([signal, parent.signal]);
    }
    // A stream's client span lasts until the stream is over.
    const span = tracing() ? startClientSpan(this.service, method, route.kind, parent?.trace) : undefined;
    // Streams are balanced over the replicas too (by the endpoint's strategy), though not retried.
    const keyFn = route.key as ((...a: unknown[]) => unknown) | undefined;
    const key = keyFn === undefined ? undefined : keyFn(...args);
    const replica = this.replicasOf(route.kind)?.pick(route.strategy, key === undefined ? undefined : String(key), undefined, false);
    const stream = (replica?.rpc ?? this.rpcFor(route.kind)).stream(route.id, route.name, args, openTimeoutMs, {
      signal,
      headers: span === undefined ? options?.headers : traceHeaders(span, parent?.metadata, options?.headers),
      deadlineMs,
      idleTimeoutMs: options?.idleTimeoutMs,
      window: options?.window === undefined ? undefined : windowFrom(options.window),
    });
    if (span !== undefined) stream.whenDone((error) => endSpan(span, error));
    return stream;
  }

  /** `$alloc`: a loan from the pool of a connected shm connection to this service, else a plain Buffer. */
  alloc(size: number): Buffer {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`$alloc(size): size must be a non-negative integer, got ${size}`);
    for (const rpc of this.rpcs.values()) {
      const loan = rpc.lend(size);
      if (loan !== undefined) return loan;
    }
    return Buffer.allocUnsafe(size);
  }

  private send(method: string, args: unknown[], options: CallOptions | undefined): Promise<unknown> {
    const route = this.route(method);
    let timeoutMs = options?.timeoutMs ?? route.timeoutMs ?? this.deps.config.defaultTimeoutMs;
    let signal = options?.signal;
    // A timer a handler left behind still sees its context: once the handler settled, it is no parent.
    const current = CallContext.current();
    const parent = current?.settled === false ? current : undefined;
    // The deadline is sent when the caller chose a timeout or inherits one; otherwise the
    // service assumes the endpoint's own, and the frame carries no metadata section.
    const sendDeadline = options?.timeoutMs !== undefined || parent !== undefined;
    // A call made while serving one inherits what is left of its deadline and its cancellation.
    if (parent !== undefined) {
      const left = parent.remainingMs - DEADLINE_MARGIN_MS;
      if (left < timeoutMs) {
        if (left <= 0) {
          return Promise.reject(new CallTimeoutError(`${route.name} was not sent: the deadline of ${parent.route}, which makes it, has passed`));
        }
        timeoutMs = left;
      }
      signal = signal === undefined ? parent.signal : AbortSignal.any([signal, parent.signal]);
    }
    if (!tracing()) return this.withFallback(route, args, this.calls.call(route, args, timeoutMs, signal, options?.headers, sendDeadline));
    const span = startClientSpan(this.service, method, route.kind, parent?.trace);
    const call = this.calls.call(route, args, timeoutMs, signal, traceHeaders(span, parent?.metadata, options?.headers), sendDeadline);
    call.then(
      () => endSpan(span),
      (error: unknown) => endSpan(span, error),
    );
    return this.withFallback(route, args, call);
  }

  /** A call that failed for good gives the contract's fallback, when it declares one. */
  private withFallback(route: RouteRef, args: unknown[], call: Promise<unknown>): Promise<unknown> {
    const fallback = route.fallback;
    return fallback === undefined ? call : call.then(undefined, (error: Error) => fallback(error, ...args));
  }

  private route(method: string): RouteRef {
    let route = this.routes.get(method);
    if (route === undefined) {
      const name = endpointRoute(this.service, method);
      const balance = this.declared?.[method]?.balance;
      route = {
        name,
        id: routeId(name),
        kind: this.defaultKind(),
        timeoutMs: undefined,
        idempotent: false,
        attemptTimeoutMs: undefined,
        strategy: balance === undefined ? 'least-in-flight' : typeof balance === 'string' ? balance : 'key-hash',
        key: typeof balance === 'object' ? balance.key : undefined,
        fallback: this.declared?.[method]?.fallback as RouteRef['fallback'],
      };
      this.routes.set(method, route);
      if (this.descriptor) this.applyTo(route, method, this.descriptor);
    }
    return route;
  }

  private defaultKind(): TransportKind {
    return this.forced?.binding ?? this.forced?.address?.kind ?? 'uds';
  }

  private rpcFor(kind: TransportKind): RpcClient {
    let rpc = this.rpcs.get(kind);
    if (rpc === undefined) {
      const transport = this.deps.transports.resolve(kind);
      rpc = this.deps.rpcClients.create(this.service, transport, () => this.addressFor(kind));
      this.rpcs.set(kind, rpc);
    }
    return rpc;
  }

  private async refresh(): Promise<void> {
    const live = await this.deps.registry.lookup(this.service);
    this.members = live;
    this.single.clear();
    if (live.length > 0) this.adopt(live[0]!);
    this.updateSets();
  }

  /** The registry changed: learn the live instances again (one lookup at a time). */
  private refreshMembers(): void {
    if (this.lookedUp === null) return;
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    this.refresh()
      .catch(() => undefined)
      .finally(() => {
        this.refreshing = false;
        if (this.refreshAgain) {
          this.refreshAgain = false;
          this.refreshMembers();
        }
      });
  }

  /** Instances of this host that listen on `kind`. */
  private instancesOn(kind: TransportKind): string[] {
    const here = hostname();
    return this.members.filter((d) => d.remote === undefined && d.host === here && d.listeners[kind] !== undefined).map((d) => d.instance);
  }

  /** The replicas of `kind` when there are two or more on this host; undefined otherwise (one connection serves). */
  private replicasOf(kind: TransportKind): ReplicaSet | undefined {
    if (this.forced !== undefined) return undefined;
    let set = this.sets.get(kind);
    if (set === undefined) {
      // Asked on every call: a single instance answers from a cache, not by filtering the registry's list.
      if (this.single.has(kind)) return undefined;
      if (this.instancesOn(kind).length < 2) {
        this.single.add(kind);
        return undefined;
      }
      const transport = this.deps.transports.resolve(kind);
      set = new ReplicaSet((instance) => this.deps.rpcClients.create(`${this.service}@${instance}`, transport, () => this.addressOf(kind, instance)));
      set.update(this.instancesOn(kind));
      this.sets.set(kind, set);
    }
    return set.live.length >= 2 ? set : undefined;
  }

  private updateSets(): void {
    for (const [kind, set] of this.sets) set.update(this.instancesOn(kind));
  }

  /** Where instance `instance` listens on `kind` now; ServiceUnavailableError once it has left. */
  private async addressOf(kind: TransportKind, instance: string): Promise<TransportAddress> {
    const live = await this.deps.registry.lookup(this.service);
    const descriptor = live.find((d) => d.instance === instance && d.listeners[kind] !== undefined);
    if (descriptor === undefined) throw new ServiceUnavailableError(`${this.service}@${instance} is no longer in the registry`);
    return descriptor.listeners[kind]!;
  }

  /** What the callers of this service see of its replicas: per instance and mechanism, calls in flight, breaker, ejections; and the retries. */
  describeReplicas(): ReplicaView {
    const replicas: ReplicaView['replicas'] = [];
    for (const [kind, set] of this.sets) {
      for (const replica of set.live)
        replicas.push({ instance: replica.instance, kind, inFlight: replica.inFlight, breaker: replica.health.state, ejections: replica.health.ejections });
    }
    return { replicas, retries: this.calls.budget.spent, retriesRefused: this.calls.budget.refused };
  }

  private async addressFor(kind: TransportKind): Promise<TransportAddress> {
    if (this.forced?.address) return this.forced.address;
    const all = await this.deps.registry.lookup(this.service);
    const live = all.filter((d) => d.listeners[kind] !== undefined);
    if (live.length === 0) {
      // The instance this route was resolved for is gone, another one (on another host, say)
      // is reached otherwise: re-resolve, so the next calls take that way, and so do the
      // calls already waiting for this mechanism.
      if (all.length > 0 && !this.forced) {
        this.adopt(all[0]!);
        this.moveWaitingCalls(kind);
      }
      // Nothing here, and the other hosts are out of sight for good (NATS refused us): say why.
      const problem = all.length === 0 ? this.deps.registry.remoteProblem() : undefined;
      if (problem) throw problem;
      throw new ServiceUnavailableError(`no live instance of '${this.service}' with a ${kind} listener in namespace '${this.deps.config.namespace}'`);
    }
    const descriptor = live[this.nextInstance++ % live.length]!;
    this.adopt(descriptor);
    return descriptor.listeners[kind]!;
  }

  /** Sends the calls waiting in the `from` client whose routes now resolve to another mechanism that way. */
  private moveWaitingCalls(from: TransportKind): void {
    const kindOf = new Map([...this.routes.values()].map((route) => [route.name, route.kind]));
    const moved = this.rpcs.get(from)?.handOver((name) => (kindOf.get(name) ?? from) !== from) ?? [];
    for (const call of moved) {
      this.rpcFor(kindOf.get(call.routeName)!)
        .call(call.route, call.routeName, call.args, call.remainingMs, call.signal, call.headers, call.sendDeadline)
        .then(call.resolve, call.reject);
    }
  }

  /** Takes mechanisms and timeouts from what the service announced. */
  private adopt(descriptor: ServiceDescriptor): void {
    this.descriptor = descriptor;
    for (const [method, route] of this.routes) this.applyTo(route, method, descriptor);
  }

  private applyTo(route: RouteRef, method: string, descriptor: ServiceDescriptor): void {
    const announced = descriptor.routes.find((r) => r.name === method);
    if (announced) {
      route.timeoutMs = announced.timeoutMs;
      route.idempotent = announced.idempotent === true;
      route.attemptTimeoutMs = announced.attemptTimeoutMs;
      // The contract's strategy (it may need a key function) wins over the one the service announces.
      if (announced.balance !== undefined && this.declared?.[method]?.balance === undefined) route.strategy = announced.balance;
    }
    if (this.forced) return;
    if (descriptor.remote) {
      // On another host only what crosses hosts reaches it: NATS when it was heard of over
      // NATS, otherwise TCP (with TLS when configured) as the manifest placed it.
      route.kind = descriptor.remote.via === 'nats' ? 'nats' : 'tcp';
      return;
    }
    if (!announced) return;
    const decision = resolveBinding({
      requested: announced.binding,
      purpose: 'endpoint',
      sameHost: descriptor.host === hostname(),
      sameProcess: descriptor.pid === process.pid,
      available: new Set(this.deps.transports.kinds()),
    });
    if (decision.fallback) {
      this.deps.rpcClients.logger.once(
        `fallback:${route.name}`,
        'info',
        `${route.name}: using ${decision.kind} instead of ${decision.fallback.from} (${decision.fallback.reason})`,
      );
    }
    route.kind = decision.kind;
  }
}
