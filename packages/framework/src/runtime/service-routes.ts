import type { Container, Newable } from 'inversify';
import { Bulkhead } from '../rpc/bulkhead';
import type { CallGuard, CallInterceptor, GuardRef, InterceptorRef, PipelineOptions } from '../contracts/call-pipeline';
import { BootstrapError, FrameError } from '../core/errors/errors';
import { endpointPipeline } from '../rpc/endpoint-pipeline';
import { RpcServer } from '../rpc/rpc-server';
import { serverLimits, type MeshConfig } from '../config/config';
import type { Logger } from '../core/logger';
import type { ServiceDefinition } from '../metadata/explorer';
import { RouteMetrics } from '../rpc/metrics';
import type { EndpointRoute, EventRoute } from '../rpc/routes';

/** Builds a guard or interceptor given as a class in the service's container (so it may @inject); an instance is used as it is. */
export type PipelineResolver = (ref: GuardRef | InterceptorRef) => object;

/** Classes come from `container`, bound on first use as singletons. */
export function containerResolver(container: Container): PipelineResolver {
  return (ref) => {
    if (typeof ref !== 'function') return ref;
    const cls = ref as unknown as Newable<object>;
    if (!container.isBound(cls)) container.bind(cls).toSelf().inSingletonScope();
    return container.get<object>(cls);
  };
}

/** The routes an RpcServer serves for one service instance, built once from its definition. */
export function endpointRoutes(
  definition: ServiceDefinition,
  instance: object,
  options: PipelineOptions = {},
  resolve: PipelineResolver = (ref) => (typeof ref === 'function' ? new (ref as new () => object)() : ref),
  defaultTimeoutMs = Infinity,
): Map<number, EndpointRoute> {
  const routes = new Map<number, EndpointRoute>();
  const built = new Map<unknown, object>();
  const instances = <T>(refs: readonly (GuardRef | InterceptorRef)[], what: string, check: (value: object) => boolean): T[] =>
    refs.map((ref) => {
      let value = built.get(ref);
      if (value === undefined) {
        value = resolve(ref);
        if (!check(value)) {
          const name = typeof ref === 'function' ? ref.name : (ref as object).constructor?.name;
          throw new BootstrapError(`${definition.cls.name}: ${name || 'an entry'} is not a ${what}`);
        }
        built.set(ref, value);
      }
      return value as T;
    });
  for (const endpoint of definition.endpoints) {
    const method = (instance as Record<string, (...args: unknown[]) => unknown>)[endpoint.method]!;
    const guards = instances<CallGuard>(
      [...(options.guards ?? []), ...endpoint.guards],
      'guard (no canActivate method)',
      (value) => typeof (value as CallGuard).canActivate === 'function',
    );
    const interceptors = instances<CallInterceptor>(
      [...(options.interceptors ?? []), ...endpoint.interceptors],
      'interceptor (no intercept method)',
      (value) => typeof (value as CallInterceptor).intercept === 'function',
    );
    const pipeline = endpointPipeline({
      route: endpoint.route,
      instance,
      method,
      contextIndex: endpoint.contextIndex,
      guards,
      interceptors,
      schemas: definition.contract.schemas?.[endpoint.name],
    });
    routes.set(endpoint.id, {
      name: endpoint.route,
      id: endpoint.id,
      needsContext: pipeline.needsContext,
      invoke: pipeline.invoke,
      timeoutMs: endpoint.timeoutMs ?? defaultTimeoutMs,
      exposeErrors: definition.options.exposeErrors === true,
      bulkhead: endpoint.bulkhead === undefined ? null : new Bulkhead(endpoint.bulkhead.limit, endpoint.bulkhead.queue),
      metrics: new RouteMetrics(),
    });
  }
  return routes;
}

export function eventRoutes(definition: ServiceDefinition, instance: object): Map<number, EventRoute> {
  const routes = new Map<number, EventRoute>();
  for (const subscription of definition.subscriptions) {
    const { event } = subscription;
    let route = routes.get(event.id);
    if (!route) {
      const prototype = event.cls.prototype as object;
      route = {
        name: event.name,
        id: event.id,
        // Events arrive as plain data; give them back their class without running its constructor.
        revive: (body) => {
          if (typeof body !== 'object' || body === null) throw new FrameError(`${event.name} body is not an object`);
          return Object.assign(Object.create(prototype) as object, body);
        },
        ...(event.keyOf ? { keyOf: event.keyOf } : {}),
        handlers: [],
        metrics: new RouteMetrics(),
      };
      routes.set(event.id, route);
    }
    const method = (instance as Record<string, (...args: unknown[]) => unknown>)[subscription.method]!;
    route.handlers.push({
      label: `${definition.cls.name}.${subscription.method}`,
      contextIndex: subscription.contextIndex,
      invoke: (args) => method.apply(instance, args),
    });
  }
  return routes;
}

/** The server of one service instance: its endpoints (pipelines built in `container`) and its event handlers. */
export function serviceServer(
  definition: ServiceDefinition,
  instance: object,
  options: PipelineOptions,
  container: Container,
  config: MeshConfig,
  logger: Logger,
): RpcServer {
  return new RpcServer(
    definition.name,
    endpointRoutes(definition, instance, options, containerResolver(container), config.defaultTimeoutMs),
    eventRoutes(definition, instance),
    logger,
    serverLimits(config),
  );
}
