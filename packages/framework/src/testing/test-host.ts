import type { Newable, ServiceIdentifier } from 'inversify';
import type { PipelineOptions } from '../contracts/call-pipeline';
import { createClientProxy } from '../client/client-proxy';
import type { CallOptions, Client } from '../contracts/client';
import { streamingEndpoints, type Contract } from '../contracts/contract';
import { eventDefinition, exploreService, type ServiceDefinition } from '../metadata/explorer';
import { endpointRoute, routeId } from '../protocol/route-id';
import { RpcClient } from '../rpc/rpc-client';
import { windowFrom } from '../rpc/streams/stream-window';
import { resolveConfig, type MeshOptions } from '../config/config';
import { createMeshContainer } from '../runtime/container';
import { LOGGER, type Logger } from '../core/logger';
import { serviceServer } from '../runtime/service-routes';
import type { Transport } from '../transports/contract/transport';
import { inProcessPair } from './in-process-connection';
import { tempRuntimeDir } from './temp-runtime';

export interface TestHost<Service> {
  /** The service instance, as the container built it. */
  readonly service: Service;
  readonly definition: ServiceDefinition;
  /** A typed client of the service: calls go through the codec and rpc layer, in memory. */
  client<Api>(contract: Contract<Api>): Client<Api>;
  /** A dependency from the service's container: what its guards, interceptors and providers got. */
  get<T>(id: ServiceIdentifier<T>): T;
  /** Delivers an event to the service's @On handlers, as a publisher would. */
  publish(event: object): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs a decorated service in this process, for unit tests: its container (so its own
 * dependencies are real), its routes and codec, and an in-memory connection instead of a
 * transport. `options.modules` can rebind its dependencies (e.g. a fake client of another
 * service). Cross-process behaviour is what the service's `.int.spec.ts` tests check.
 */
export async function createTestHost<Service extends object>(cls: Newable<Service>, options: MeshOptions & PipelineOptions = {}): Promise<TestHost<Service>> {
  const definition = exploreService(cls);
  const runtime = tempRuntimeDir('hm-test-');
  const config = resolveConfig({ logLevel: 'warn', ...options, runtimeDir: runtime.path, namespace: 'test' }, {});
  const container = createMeshContainer(config, options, `${definition.name}@test`);
  container.bind(cls).toSelf().inSingletonScope();
  const service = container.get<Service>(cls);
  // The container's logger: `options.logger` sees what the service logs.
  const logger = container.get<Logger>(LOGGER);
  const server = serviceServer(definition, service, options, container, config, logger);
  const [clientEnd, serverEnd] = inProcessPair();
  server.accept(serverEnd);
  const transport: Transport = { kind: 'uds', listen: () => Promise.reject(new Error('in-process')), connect: async () => clientEnd };
  const rpc = new RpcClient({
    label: definition.name,
    transport,
    resolve: async () => ({ kind: 'uds', path: 'in-process' }),
    logger,
    maxPayloadBytes: config.maxPayloadBytes,
    maxPendingCalls: config.maxPendingCalls,
    reconnect: config.reconnect,
  });
  for (const method of definition.onStart) await (service as Record<string, () => unknown>)[method]!();
  let sequence = 0;
  return {
    service,
    definition,
    client<Api>(contract: Contract<Api>): Client<Api> {
      return createClientProxy<Api>(
        {
          call: (method: string, args: unknown[], callOptions: CallOptions | undefined) => {
            const route = endpointRoute(contract.name, method);
            return rpc.call(
              routeId(route),
              route,
              args,
              callOptions?.timeoutMs ?? config.defaultTimeoutMs,
              callOptions?.signal,
              callOptions?.headers,
              callOptions?.timeoutMs !== undefined,
            );
          },
          stream: (method: string, args: unknown[], callOptions: CallOptions | undefined) => {
            const route = endpointRoute(contract.name, method);
            return rpc.stream(routeId(route), route, args, config.defaultTimeoutMs, {
              signal: callOptions?.signal,
              headers: callOptions?.headers,
              deadlineMs: callOptions?.timeoutMs,
              idleTimeoutMs: callOptions?.idleTimeoutMs,
              window: callOptions?.window === undefined ? undefined : windowFrom(callOptions.window),
            });
          },
        },
        undefined,
        streamingEndpoints(contract as Contract<unknown>),
      );
    },
    get: <T>(id: ServiceIdentifier<T>): T => container.get<T>(id),
    async publish(event: object): Promise<void> {
      const event_ = eventDefinition(event.constructor, 'publish');
      await rpc.emit(event_.id, event_.name, [`test.${++sequence}`, event], config.defaultTimeoutMs);
      await server.whenIdle(config.defaultTimeoutMs);
    },
    async stop(): Promise<void> {
      for (const method of definition.onStop) await (service as Record<string, () => unknown>)[method]!();
      await rpc.close();
      runtime.remove();
    },
  };
}
