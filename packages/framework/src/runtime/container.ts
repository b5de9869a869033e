import { Container, ContainerModule } from 'inversify';
import { ClientFactory } from '../client/client-factory';
import { RpcClientFactory } from '../client/rpc-client-factory';
import { clientOf } from '../contracts/client';
import { definedContracts } from '../contracts/contract';
import { EventBus } from '../events/event-bus';
import { MESH_CONFIG, transportContext, type MeshConfig, type MeshOptions } from '../config/config';
import { TRANSPORT_PLUGINS } from '../plugins/transport-plugins';
import { TRANSPORT_CONTEXT, type TransportPlugin } from '../transports/contract/plugin';
import { TransportRegistry } from '../transports/contract/transport-registry';
import { natsDirectoryModule } from '../discovery/nats-directory';
import { ConsoleLogger, LOGGER, type Logger } from '../core/logger';
import { RuntimeDir } from '../core/runtime-dir';
import { ServiceRegistry } from '../discovery/service-registry';
import { SharedLock } from './shared-lock';

/** The framework's own services: registry, transports, clients, events. */
export const coreModule = new ContainerModule(({ bind }) => {
  bind(ServiceRegistry).toSelf().inSingletonScope();
  bind(TransportRegistry).toSelf().inSingletonScope();
  bind(RpcClientFactory).toSelf().inSingletonScope();
  bind(ClientFactory).toSelf().inSingletonScope();
  bind(EventBus).toSelf().inSingletonScope();
  bind(SharedLock).toSelf().inSingletonScope();
});

/**
 * Builds the inversify container a process runs in. User code never constructs
 * transports or clients: it asks for `clientOf(Contract)`, `EventBus`, `LOGGER`, …
 */
export function createMeshContainer(config: MeshConfig, options: MeshOptions, scope: string): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  const logger: Logger = options.logger ?? new ConsoleLogger(scope, config.logLevel);
  container.bind(MESH_CONFIG).toConstantValue(config);
  container.bind(LOGGER).toConstantValue(logger);
  const runtimeDir = RuntimeDir.open(config.runtimeDir, config.namespace);
  container.bind(RuntimeDir).toConstantValue(runtimeDir);
  container.bind(TRANSPORT_CONTEXT).toConstantValue(transportContext(config, runtimeDir, logger));
  // Every plugin whose options resolved: one not enabled (NATS without servers) is not there at all.
  const transports = config.transports as Record<string, unknown>;
  const enabled = (TRANSPORT_PLUGINS as readonly TransportPlugin[]).filter((plugin) => transports[plugin.kind] !== undefined);
  container.load(
    coreModule,
    ...enabled.map((plugin) => plugin.module(transports[plugin.kind])),
    ...(config.transports.nats ? [natsDirectoryModule] : []),
    ...(options.modules ?? []),
  );
  for (const contract of definedContracts()) {
    container
      .bind(clientOf(contract))
      .toDynamicValue((context) => context.get(ClientFactory).create(contract))
      .inSingletonScope();
  }
  return container;
}
