import { isMainThread, parentPort, threadId } from 'node:worker_threads';
import { applyEndpointPolicies } from './endpoint-policies';
import { WorkerService, type WorkerCommand, type WorkerReport, type WorkerServiceOptions } from './worker-host';
import { pluginOf } from '../plugins/transport-plugins';
import { hostname } from 'node:os';
import type { Newable } from 'inversify';
import type { PipelineOptions } from '../contracts/call-pipeline';
import { bindingOverride, resolveBinding, type BindingDecision } from '../binding/binding-resolver';
import { ServiceAlreadyRunningError } from '../core/errors/errors';
import { exploreService, type EndpointDefinition, type ServiceDefinition } from '../metadata/explorer';
import type { TransportKind } from '../metadata/types';
import { InboundLimits } from '../protocol/inbound-limits';
import { RpcServer } from '../rpc/rpc-server';
import type { TransportServer } from '../transports/contract/transport';
import { FifoEndpoint } from '../shell/fifo-endpoint';
import { TransportRegistry } from '../transports/contract/transport-registry';
import { resolveConfig, type MeshConfig, type MeshOptions } from '../config/config';
import { createMeshContainer } from './container';
import type { RouteDescriptor, ServiceDescriptor, SubscriptionDescriptor } from '../discovery/descriptor';
import { ControlChannel, ignoreBrokenPipe } from './control-channel';
import { snapshot, writeSnapshot, type DiagnosticSnapshot } from './diagnostics';
import { describeError, LOGGER, type Logger } from '../core/logger';
import { Mesh } from './mesh';
import { ownProcessStartTime } from '@hostmesh/native';
import { RuntimeDir } from '../core/runtime-dir';
import { ServiceRegistry } from '../discovery/service-registry';
import { serviceServer } from './service-routes';

export interface HostOptions extends MeshOptions, PipelineOptions {
  /** Drain and exit on SIGTERM/SIGINT and run @OnSignal handlers (what `bootstrap` does). */
  handleSignals?: boolean;
}

type ServiceClass = Newable<object>;
type State = 'running' | 'stopping' | 'stopped';

/**
 * Runs one decorated service class in this process: builds its container, binds each
 * endpoint and subscription to a mechanism, listens, runs @OnStart, then announces the
 * instance in the registry. `stop()` drains: it stops accepting, lets in-flight calls
 * finish, runs @OnStop, flushes outgoing calls and events, then closes.
 */
export class ServiceHost {
  private state: State = 'running';
  private stopping: Promise<void> | null = null;
  private readonly signalHandlers: Array<[NodeJS.Signals, () => void]> = [];

  private constructor(
    readonly definition: ServiceDefinition,
    readonly mesh: Mesh,
    readonly instance: object,
    readonly server: RpcServer,
    private readonly listeners: Map<TransportKind, TransportServer>,
    private readonly pipes: FifoEndpoint[],
    readonly descriptor: ServiceDescriptor,
    readonly logger: Logger,
  ) {}

  get name(): string {
    return this.definition.name;
  }

  get config(): MeshConfig {
    return this.mesh.config;
  }

  static async start(cls: ServiceClass, options: HostOptions = {}): Promise<ServiceHost> {
    const config = resolveConfig(options);
    const definition = applyEndpointPolicies(exploreService(cls), config.endpoints);
    const container = createMeshContainer(config, options, `${definition.name}@${config.instance}`);
    container.bind(cls).toSelf().inSingletonScope();
    const mesh = new Mesh(container, config);
    const logger = container.get<Logger>(LOGGER);
    const registry = container.get(ServiceRegistry);
    const transports = container.get(TransportRegistry);
    const listeners = new Map<TransportKind, TransportServer>();
    const pipes: FifoEndpoint[] = [];
    const runtimeDir = container.get(RuntimeDir);
    try {
      const running = await registry.find(definition.name, config.instance);
      // In this process, another thread may serve it (ServiceHost.startInWorker); a thread that
      // ended had its entry removed by whoever started it.
      if (running && (running.pid !== process.pid || (running.threadId ?? 0) !== (isMainThread ? 0 : threadId))) {
        throw new ServiceAlreadyRunningError(
          `${definition.name}@${config.instance} is already running as pid ${running.pid} in namespace '${config.namespace}'`,
        );
      }
      const instance = container.get<object>(cls);
      const available = new Set(transports.kinds());
      const fallbacks = new Map<string, string[]>();
      const decide = (requested: EndpointDefinition['binding'], name: string, purpose: 'endpoint' | 'event'): TransportKind => {
        const decision: BindingDecision = resolveBinding({
          requested,
          override: bindingOverride(config.bindings, definition.name, name),
          purpose,
          sameHost: true,
          available,
        });
        if (decision.fallback) {
          const why = `${decision.kind} instead of ${decision.fallback.from} (${decision.fallback.reason})`;
          fallbacks.set(why, [...(fallbacks.get(why) ?? []), name]);
        }
        return decision.kind;
      };
      const routes: RouteDescriptor[] = definition.endpoints.map((endpoint) => ({
        name: endpoint.name,
        id: endpoint.id,
        binding: decide(endpoint.binding, endpoint.name, 'endpoint'),
        ...(endpoint.timeoutMs === undefined ? {} : { timeoutMs: endpoint.timeoutMs }),
        ...(endpoint.idempotent ? { idempotent: true } : {}),
        ...(endpoint.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: endpoint.attemptTimeoutMs }),
        ...(endpoint.balance === undefined ? {} : { balance: endpoint.balance }),
      }));
      const subscriptions: SubscriptionDescriptor[] = definition.subscriptions.map((subscription) => ({
        event: subscription.event.name,
        id: subscription.event.id,
        binding: decide('auto', subscription.event.name, 'event'),
        ...(subscription.event.broadcast ? { broadcast: true } : {}),
      }));
      for (const [why, names] of fallbacks) logger.info(`${names.join(', ')}: ${why}`);
      const server = serviceServer(definition, instance, options, container, config, logger);

      // Every service listens on its Unix socket: events and later handshakes arrive there.
      const kinds = new Set<TransportKind>(['uds', ...routes.map((r) => r.binding), ...subscriptions.map((s) => s.binding)]);
      if (config.transports.tcp?.enabled) kinds.add('tcp');
      const inbound = new InboundLimits(config.maxBufferedBytes, config.idleTimeoutMs, config.minFrameBytesPerSecond);
      // Events with an ordering key are partitioned among the replicas, so that one replica takes each key.
      const ordered = new Set(definition.subscriptions.filter((s) => s.event.keyOf !== undefined).map((s) => s.event.name));
      const partitioned = (kind: TransportKind) => {
        if (!subscriptions.some((s) => s.binding === kind && ordered.has(s.event))) return {};
        return config.replicas > 1 ? { ordered: true, partitions: config.replicas } : { ordered: true };
      };
      for (const kind of kinds) {
        listeners.set(
          kind,
          await transports.resolve(kind).listen({
            service: definition.name,
            instance: config.instance,
            maxPayloadBytes: config.maxPayloadBytes,
            ...partitioned(kind),
            inbound,
            onConnection: server.accept,
            admit: server.admit,
          }),
        );
      }
      // A durable mechanism keeps events for the service while it is down: the registry records
      // where, so publishers reach its queue even then.
      for (const [kind, listener] of listeners) {
        if (!pluginOf(kind)?.capabilities.durable) continue;
        const durable = subscriptions.filter((s) => s.binding === kind).map((s) => s.event);
        if (durable.length > 0) await registry.recordSubscription({ schema: 1, service: definition.name, address: listener.address, events: durable });
      }
      for (const endpoint of definition.endpoints) {
        if (!endpoint.shell && !config.shell.includes(endpoint.name) && !config.shell.includes(endpoint.route)) continue;
        const pipe = new FifoEndpoint(runtimeDir.pipeDir(definition.name, config.instance), server.routes.get(endpoint.id)!, endpoint.name, server, logger);
        pipes.push(pipe);
        routes.find((route) => route.name === endpoint.name)!.shell = pipe.input;
      }
      for (const method of definition.onStart) await (instance as Record<string, () => unknown>)[method]!();

      const descriptor: ServiceDescriptor = {
        schema: 1,
        service: definition.name,
        instance: config.instance,
        pid: process.pid,
        ...(isMainThread ? {} : { threadId }),
        startTime: ownProcessStartTime(),
        host: hostname(),
        startedAt: new Date().toISOString(),
        listeners: Object.fromEntries([...listeners].map(([kind, listener]) => [kind, listener.address])),
        routes,
        subscriptions,
        maxPayloadBytes: config.maxPayloadBytes,
      };
      await registry.register(descriptor);
      const host = new ServiceHost(definition, mesh, instance, server, listeners, pipes, descriptor, logger);
      if (options.handleSignals) host.installSignalHandlers();
      logger.info(`ready (pid ${process.pid}${isMainThread ? '' : `, thread ${threadId}`}): ${describeBindings(routes, subscriptions)}`);
      parentPort?.postMessage({
        type: 'hostmesh:ready',
        service: definition.name,
        instance: config.instance,
        namespace: config.namespace,
        runtimeDir: config.runtimeDir,
        descriptorPath: runtimeDir.descriptorPath(definition.name, config.instance),
      } satisfies WorkerReport);
      // After `ready`: health reports of a service that is not ready yet would confuse whoever reads them.
      host.reportToSupervisor();
      return host;
    } catch (error) {
      for (const pipe of pipes) pipe.close();
      for (const listener of listeners.values()) await listener.dispose();
      await mesh.close(0);
      throw error;
    }
  }

  /** Bindings, in-flight calls, queue depths and latency per endpoint, right now. */
  diagnostics(): DiagnosticSnapshot {
    const transports = [...this.listeners.entries()].map(([kind, listener]) => listener.describe?.() ?? { kind, address: listener.address });
    return snapshot(this.descriptor, this.server, this.state, transports, this.mesh.replicas());
  }

  /** Writes diagnostics() under the runtime directory and logs where (what SIGUSR2 does). */
  writeDiagnostics(): string {
    const value = this.diagnostics();
    const path = writeSnapshot(this.mesh.runtimeDir.diagnosticsDir, value);
    const busiest = value.endpoints.filter((e) => e.calls > 0).map((e) => `${e.name} ${e.calls} calls p50 ${e.p50Us} µs p99 ${e.p99Us} µs`);
    this.logger.info(
      `diagnostics written to ${path}: ${value.inFlight} in flight, ${value.connections} connections${busiest.length ? '; ' + busiest.join(', ') : ''}`,
    );
    return path;
  }

  private control: ControlChannel | undefined;
  private healthTimer: NodeJS.Timeout | undefined;

  /** When a supervisor started us, tell it we are ready and how we are, every second. */
  private reportToSupervisor(): void {
    // The supervisor knows processes: a service in a worker reports to the thread that started
    // it (WorkerService), which may pass it on (a service group's process does).
    if (!isMainThread) {
      const report = () => parentPort?.postMessage({ type: 'hostmesh:health', snapshot: this.diagnostics() } satisfies WorkerReport);
      this.healthTimer = setInterval(report, 1000);
      this.healthTimer.unref();
      report();
      return;
    }
    this.control = ControlChannel.fromEnvironment(() => {
      // Supervisor gone (killed, even with SIGKILL): stop, unless told to outlive it.
      if (process.env.HOSTMESH_ORPHAN === 'keep') {
        this.logger.warn('the supervisor went away; serving on (HOSTMESH_ORPHAN=keep)');
        return;
      }
      this.logger.warn('the supervisor went away: stopping');
      void this.stop('supervisor gone').then(() => process.exit(0));
    });
    if (!this.control) return;
    // Our stdout and stderr are pipes the supervisor reads: if it dies they break, and the
    // EPIPE of the next log line, unhandled, would kill us before (or in the middle of) the
    // drain. What is written after that is lost; the service itself carries on.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', ignoreBrokenPipe);
    this.control.send({ type: 'ready', pid: process.pid, service: this.name, instance: this.config.instance });
    this.healthTimer = setInterval(() => this.control?.send({ type: 'health', snapshot: this.diagnostics() }), 1000);
    this.healthTimer.unref();
    this.control.send({ type: 'health', snapshot: this.diagnostics() });
  }

  /** Graceful stop; safe to call more than once. */
  stop(reason = 'stop requested'): Promise<void> {
    this.stopping ??= this.drain(reason);
    return this.stopping;
  }

  get stopped(): boolean {
    return this.state === 'stopped';
  }

  private async drain(reason: string): Promise<void> {
    // Refuse new calls before anything else: from the first log line on, none is accepted.
    this.server.startDraining();
    this.state = 'stopping';
    this.control?.send({ type: 'stopping', reason });
    clearInterval(this.healthTimer);
    const deadline = performance.now() + this.config.gracePeriodMs;
    const remaining = () => Math.max(0, deadline - performance.now());
    this.logger.info(`stopping (${reason}): ${this.server.inFlightCount} calls in flight`);
    await this.mesh.registry.unregister(this.name, this.config.instance);
    for (const listener of this.listeners.values()) await listener.stopAccepting();
    if (!(await this.server.whenIdle(remaining()))) {
      this.logger.warn(`${this.server.inFlightCount} calls still running when the grace period of ${this.config.gracePeriodMs} ms ended`);
    }
    for (const method of this.definition.onStop) {
      try {
        await withTimeout((this.instance as Record<string, () => unknown>)[method]!(), remaining());
      } catch (error) {
        this.logger.error(`@OnStop ${this.definition.cls.name}.${method} failed`, error);
      }
    }
    await this.mesh.close(remaining());
    for (const pipe of this.pipes) pipe.close();
    if (!(await this.server.closeConnections(remaining()))) {
      this.logger.warn(`${this.server.connectionCount} connections still open when the grace period ended: their peers stopped reading`);
    }
    for (const listener of this.listeners.values()) await listener.dispose();
    for (const [signal, handler] of this.signalHandlers) process.off(signal, handler);
    if (this.signalListener) parentPort?.off('message', this.signalListener);
    this.state = 'stopped';
    this.control?.close();
    this.logger.info('stopped');
  }

  private installSignalHandlers(): void {
    const drain = (signal: NodeJS.Signals) => () => {
      if (this.state !== 'running') {
        this.logger.warn(`${signal} again while stopping: exiting now`);
        process.exit(130);
      }
      void this.stop(signal).then(
        () => process.exit(0),
        (error) => {
          this.logger.error('stop failed', error);
          process.exit(1);
        },
      );
    };
    this.on('SIGTERM', drain('SIGTERM'));
    this.on('SIGINT', drain('SIGINT'));
    this.on('SIGUSR2', () => {
      try {
        this.writeDiagnostics();
      } catch (error) {
        this.logger.error('diagnostics failed', error);
      }
    });
    for (const { signal, method } of this.definition.signals) {
      this.on(signal, () => {
        try {
          const result = (this.instance as Record<string, () => unknown>)[method]!();
          if (result instanceof Promise) result.catch((error) => this.logger.error(`@OnSignal('${signal}') ${method} failed`, error));
        } catch (error) {
          this.logger.error(`@OnSignal('${signal}') ${method} failed`, error);
        }
      });
    }
  }

  private on(signal: NodeJS.Signals, handler: () => void): void {
    this.signalHandlers.push([signal, handler]);
    if (isMainThread) {
      process.on(signal, handler);
      return;
    }
    // A worker gets none of the process's signals: the thread that started it sends them as messages.
    if (this.signalListener === undefined) {
      this.signalListener = (message: WorkerCommand) => {
        if (message?.type !== 'hostmesh:signal') return;
        for (const [each, run] of this.signalHandlers) if (each === message.signal) run();
      };
      parentPort?.on('message', this.signalListener);
    }
  }

  private signalListener: ((message: WorkerCommand) => void) | undefined;

  /**
   * Runs the service module `entry` (one that calls `bootstrap()`) in a worker thread of this
   * process; resolves once it is ready. Callers in this process reach it over the `thread`
   * transport where its bindings say so, callers elsewhere over its other listeners.
   */
  static startInWorker(entry: string, options?: WorkerServiceOptions): Promise<WorkerService> {
    return WorkerService.start(entry, options);
  }
}

/**
 * Starts a service as the main program of its process: SIGTERM/SIGINT drain it and exit 0;
 * a failure to start is logged and exits 1.
 */
export async function bootstrap(cls: ServiceClass, options: HostOptions = {}): Promise<ServiceHost> {
  try {
    return await ServiceHost.start(cls, { handleSignals: true, ...options });
  } catch (error) {
    process.stderr.write(`[${cls.name}] error: failed to start: ${describeError(error)}\n`);
    process.exit(1);
  }
}

function describeBindings(routes: RouteDescriptor[], subscriptions: SubscriptionDescriptor[]): string {
  const parts = [
    ...routes.map((route) => `${route.name} → ${route.binding}${route.shell ? ' (+ shell pipe)' : ''}`),
    ...subscriptions.map((subscription) => `on ${subscription.event} ← ${subscription.binding}`),
  ];
  return parts.length > 0 ? parts.join(', ') : 'no endpoints';
}

async function withTimeout(value: unknown, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      value,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not finish within ${Math.round(timeoutMs)} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
