import { FrameError } from '../core/errors/errors';
import type { ServiceDefinition } from '../metadata/explorer';
import { RouteMetrics } from '../rpc/metrics';
import type { EndpointRoute, EventRoute } from '../rpc/routes';

/** The routes an RpcServer serves for one service instance, built once from its definition. */
export function endpointRoutes(definition: ServiceDefinition, instance: object): Map<number, EndpointRoute> {
  const routes = new Map<number, EndpointRoute>();
  for (const endpoint of definition.endpoints) {
    const method = (instance as Record<string, (...args: unknown[]) => unknown>)[endpoint.method]!;
    routes.set(endpoint.id, {
      name: endpoint.route,
      id: endpoint.id,
      contextIndex: endpoint.contextIndex,
      invoke: (args) => method.apply(instance, args),
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
