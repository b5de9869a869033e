import { Container, ContainerModule } from 'inversify';
import { ClientFactory } from '../client/client-factory';
import { RpcClientFactory } from '../client/rpc-client-factory';
import { clientOf } from '../contracts/client';
import { definedContracts } from '../contracts/contract';
import { EventBus } from '../events/event-bus';
import { fifoTransportModule } from '../transports/fifo/fifo.module';
import { mqueueTransportModule } from '../transports/mqueue/mqueue.module';
import { natsTransportModule } from '../transports/nats/nats.module';
import { shmTransportModule } from '../transports/shm/shm.module';
import { socketTransportModule } from '../transports/socket/socket.module';
import { TransportRegistry } from '../transports/transport-registry';
import { MESH_CONFIG, type MeshConfig, type MeshOptions } from './config';
import { ConsoleLogger, LOGGER, type Logger } from './logger';
import { RuntimeDir } from './runtime-dir';
import { ServiceRegistry } from './service-registry';
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
  container.bind(RuntimeDir).toConstantValue(RuntimeDir.open(config.runtimeDir, config.namespace));
  container.load(
    coreModule,
    socketTransportModule,
    shmTransportModule,
    mqueueTransportModule,
    fifoTransportModule,
    // Only with servers configured: a service without NATS config never connects to one.
    ...(config.nats ? [natsTransportModule] : []),
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
